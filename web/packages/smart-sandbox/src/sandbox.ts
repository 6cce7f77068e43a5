// The SMART sandbox assembled: one loopback HTTP server, the authorization server at its root and
// the FHIR API under /fhir, seeded with the two US Core patients. `startSandbox` is what tests call;
// `npm start` (make sandbox) runs it for a person.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@medplum/fhirtypes';
import { authServer, grantOf, SCOPES } from './authServer.ts';
import { fhirApi, type Quirks } from './fhirApi.ts';
import { FhirData } from './fhirData.ts';

const DATA = fileURLToPath(new URL('../data/', import.meta.url));
export const PATIENT_FILES = ['uscore_bundle_patient_355.json', 'uscore_bundle_patient_85.json'];

export interface SandboxOptions {
  port?: number;
  clientId?: string;
  /** Where the client may be sent back after sign-in (its origins may call the API). */
  redirectUris: string[];
  quirks?: Quirks;
  accessTokenSeconds?: number;
}

/** The "other host" documents may live on: it serves files and notes who sent a bearer token. */
export interface FilesHost {
  url: string;
  /** Requests that arrived with an Authorization header (there must be none). */
  withAuthorization: string[];
  requests: string[];
}

/** A minimal PDF, the file the sandbox's web-hosted document points at. */
const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
);

async function startFilesHost(): Promise<FilesHost & { server: Server }> {
  const host: FilesHost = { url: '', withAuthorization: [], requests: [] };
  const server = createServer((req, res) => {
    host.requests.push(req.url ?? '');
    if (req.headers.authorization) host.withAuthorization.push(req.url ?? '');
    res.setHeader('access-control-allow-origin', '*');
    if (req.url?.endsWith('.pdf')) res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files`;
  return Object.assign(host, { server });
}

export interface Sandbox {
  /** The server's root (the OpenID issuer). */
  url: string;
  /** The FHIR base URL a patient types or picks. */
  fhirBase: string;
  clientId: string;
  /** The patients' ids, which are also their logins (any password). */
  patients: string[];
  /** A SMART User-access Brands Bundle naming this endpoint. */
  brands: object;
  /** Another origin holding documents' files (fetched without the token). */
  files: FilesHost;
  /** Registers another address the client may be sent back to (its origin may then call the API). */
  allowRedirect(uri: string): void;
  /** A patient's resources of one type, as the server has them now. */
  ofType(patient: string, resourceType: string): Promise<Resource[]>;
  /** Refuses every refresh token handed out so far, as an EHR does when they expire: the next sync must reconnect. */
  expireRefreshTokens(): void;
  /** Adds or changes a resource in a patient's record, as when a new result arrives. */
  put(patient: string, resource: Resource): Promise<Resource>;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const data = new FhirData();
  const patients: string[] = [];
  for (const file of PATIENT_FILES) patients.push(await data.load(`${DATA}${file}`));
  const files = await startFilesHost();
  for (const patient of patients) await data.reshapeDocuments(patient, files.url);

  // The handler is set once the server's address (the issuer) is known.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
  const server: Server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fhirBase = `${url}/fhir`;
  const clientId = options.clientId ?? 'medkey';

  const redirectUris = [...options.redirectUris];
  const refreshTokens = { issued: new Set<string>(), refused: new Set<string>() };
  // The client's registration is fixed when the provider is made: a new redirect makes a new one
  // (done before anyone signs in, as a test does once it knows the app's address).
  const makeProvider = () =>
    authServer({
      issuer: url,
      fhirBase,
      clientId,
      redirectUris,
      patients: () => patients,
      refreshTokens,
      ...(options.accessTokenSeconds !== undefined && { accessTokenSeconds: options.accessTokenSeconds }),
    });
  let provider = makeProvider();
  let auth = provider.callback();
  const smartConfiguration = () => ({
    issuer: url,
    authorization_endpoint: `${url}/auth`,
    token_endpoint: `${url}/token`,
    revocation_endpoint: `${url}/token/revocation`,
    jwks_uri: `${url}/jwks`,
    grant_types_supported: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['none'],
    response_types_supported: ['code'],
    scopes_supported: SCOPES,
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-standalone',
      'client-public',
      'context-standalone-patient',
      'permission-patient',
      'permission-offline',
      'permission-v1',
      'sso-openid-connect',
    ],
  });
  const api = fhirApi({
    base: fhirBase,
    data,
    smartConfiguration,
    grantOf: (token) => grantOf(provider, token),
    origins: () => redirectUris.map((u) => new URL(u).origin),
    quirks: options.quirks ?? {},
  });
  handler = (req, res) => {
    if (req.url === '/fhir' || req.url?.startsWith('/fhir/') || req.url?.startsWith('/fhir?'))
      void api(req, res).catch((e: unknown) => res.writeHead(500).end(String(e)));
    else void auth(req, res);
  };

  return {
    url,
    fhirBase,
    clientId,
    patients,
    brands: {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: `${url}/brands/sandbox`,
          resource: {
            resourceType: 'Organization',
            id: 'sandbox',
            name: 'Medkey SMART sandbox',
            endpoint: [{ reference: 'Endpoint/sandbox' }],
          },
        },
        {
          fullUrl: `${url}/endpoints/sandbox`,
          resource: {
            resourceType: 'Endpoint',
            id: 'sandbox',
            status: 'active',
            connectionType: {
              system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
              code: 'hl7-fhir-rest',
            },
            address: fhirBase,
            name: 'Medkey SMART sandbox (FHIR R4)',
            payloadType: [
              { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'none' }] },
            ],
          },
        },
      ],
    },
    files,
    allowRedirect: (uri) => {
      redirectUris.push(uri);
      provider = makeProvider();
      auth = provider.callback();
    },
    ofType: (patient, resourceType) => data.ofType(patient, resourceType),
    expireRefreshTokens: () => {
      for (const token of refreshTokens.issued) refreshTokens.refused.add(token);
    },
    put: (patient, resource) => data.put(patient, resource),
    stop: async () => {
      await new Promise<void>((resolve) => files.server.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
