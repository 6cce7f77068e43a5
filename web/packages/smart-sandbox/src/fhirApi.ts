// The sandbox's FHIR API under /fhir: discovery and metadata open to any origin (as SMART App
// Launch says), everything else only with a bearer token the authorization server issued, only
// within that token's patient compartment, and only to registered origins (CORS). Searches page
// with `link[next]` URLs the client must follow as given.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bundle, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import type { FhirData } from './fhirData.ts';
import { searchRequest } from './medplum.ts';

/** What an access token grants, as the authorization server knows it. */
export interface TokenGrant {
  patient: string;
  scope: string;
}

/** How this server departs from the textbook, as EHRs patients meet do. */
export interface Quirks {
  /** Observations are searched by category only (some EHRs refuse `Observation?patient=` alone). */
  observationNeedsCategory?: boolean;
  /** Resources carry no `meta.lastUpdated` and `_lastUpdated` is ignored (as Epic). */
  noLastUpdated?: boolean;
}

export interface FhirApiOptions {
  base: string;
  data: FhirData;
  smartConfiguration: () => object;
  /** Resolves a bearer token to its grant, or undefined when it is unknown or expired. */
  grantOf: (token: string) => Promise<TokenGrant | undefined>;
  /** Origins allowed to call the API from a browser (the registered clients' redirect origins). */
  origins: () => string[];
  quirks: Quirks;
}

const PAGE = 50;
const TYPES = [
  'Patient',
  'AllergyIntolerance',
  'Binary',
  'CarePlan',
  'CareTeam',
  'Condition',
  'Device',
  'DiagnosticReport',
  'DocumentReference',
  'Encounter',
  'Goal',
  'Immunization',
  'Location',
  'Medication',
  'MedicationRequest',
  'Observation',
  'Organization',
  'Practitioner',
  'PractitionerRole',
  'Procedure',
  'Provenance',
  'ServiceRequest',
];

function send(res: ServerResponse, status: number, body: unknown, type = 'application/fhir+json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const outcome = (code: string, text: string) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code, details: { text } }],
});

function capability(base: string): CapabilityStatement {
  // (Built as plain data: FHIR's resource-type union is too wide for a literal list to check.)
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-12-07',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    implementation: { description: 'Medkey SMART sandbox', url: base },
    rest: [
      {
        mode: 'server',
        security: {
          extension: [],
          service: [
            {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' },
              ],
            },
          ],
        },
        // No `$everything` here: clients must search type by type, as against many EHRs.
        resource: TYPES.map((type) => ({
          type,
          interaction: [{ code: 'read' }, { code: 'search-type' }],
        })),
      },
    ],
  } as CapabilityStatement;
}

export function fhirApi(options: FhirApiOptions) {
  const { base, data, quirks } = options;
  const path = new URL(base).pathname.replace(/\/$/, '');

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const rest = url.pathname.slice(path.length).replace(/^\//, '');
    const origin = req.headers.origin;
    const open = rest === '.well-known/smart-configuration' || rest === 'metadata';
    if (open) res.setHeader('access-control-allow-origin', '*');
    else if (origin && options.origins().includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-headers', 'authorization, accept, content-type');
      res.setHeader('access-control-allow-methods', 'GET');
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'GET') return send(res, 405, outcome('not-supported', 'This sandbox is read-only.'));
    if (rest === '.well-known/smart-configuration')
      return send(res, 200, options.smartConfiguration(), 'application/json');
    if (rest === 'metadata') return send(res, 200, capability(base));

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const grant = token ? await options.grantOf(token) : undefined;
    if (!grant) return send(res, 401, outcome('login', 'A valid access token is required.'));

    const [type, id, more] = rest.split('/');
    if (!type || more !== undefined || !TYPES.includes(type))
      return send(res, 404, outcome('not-found', `No ${rest} here.`));
    const strip = (r: Resource): Resource => {
      if (!quirks.noLastUpdated || !r.meta) return r;
      const { lastUpdated: _l, versionId: _v, ...meta } = r.meta;
      return { ...r, meta };
    };

    if (id) {
      if (!data.owns(grant.patient, `${type}/${id}`))
        return send(res, 404, outcome('not-found', `${type}/${id} is not here.`));
      const resource = await data.repo.readResource(type, id);
      // A Binary comes as its bytes unless FHIR JSON is asked for, as FHIR's REST API says.
      if (type === 'Binary' && !(req.headers.accept ?? '').includes('fhir+json')) {
        const binary = resource as { contentType?: string; data?: string };
        res.writeHead(200, { 'content-type': binary.contentType ?? 'application/octet-stream' });
        res.end(Buffer.from(binary.data ?? '', 'base64'));
        return;
      }
      return send(res, 200, strip(resource as Resource));
    }

    // A search: only within the token's patient; a patient named in the query must be that one.
    const query = Object.fromEntries(url.searchParams);
    for (const key of ['patient', 'subject']) {
      const named = query[key]?.replace(/^Patient\//, '');
      if (named !== undefined && named !== grant.patient)
        return send(res, 403, outcome('forbidden', 'That patient is not the one this token is for.'));
    }
    if (type === 'Observation' && quirks.observationNeedsCategory && !query.category)
      return send(res, 400, outcome('required', 'Observation searches need a category.'));
    if (quirks.noLastUpdated) delete query._lastUpdated;
    const offset = Math.max(0, Number(query._offset ?? 0) || 0);
    const count = Math.min(Math.max(1, Number(query._count ?? PAGE) || PAGE), 100);
    delete query._offset;
    delete query._count;
    const all = (await data.repo.searchResources({
      ...searchRequest(type, new URLSearchParams(query)),
      count: 10_000,
    } as never)) as Resource[];
    const mine = all.filter((r) => data.owns(grant.patient, `${r.resourceType}/${r.id}`));
    const page = mine.slice(offset, offset + count);
    const self = new URL(url);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: mine.length,
      link: [{ relation: 'self', url: self.toString() }],
      entry: page.map((r) => ({
        fullUrl: `${base}/${r.resourceType}/${r.id}`,
        resource: strip(r),
        search: { mode: 'match' },
      })),
    };
    if (offset + count < mine.length) {
      const next = new URL(url);
      next.searchParams.set('_offset', String(offset + count));
      next.searchParams.set('_count', String(count));
      bundle.link!.push({ relation: 'next', url: next.toString() });
    }
    send(res, 200, bundle);
  };
}
