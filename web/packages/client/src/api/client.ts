// The vault's HTTP API, typed from its OpenAPI document (src/api/schema.ts is generated from
// /openapi.json by openapi-typescript; `npm run gen:api`). Every call either returns the
// documented body or throws a MedkeyError with the vault's code and a sentence for people.

import createClient, { type Client } from 'openapi-fetch';
import { MedkeyError } from '../errors.ts';
import type { components, paths } from './schema.ts';

export type Schemas = components['schemas'];

type Fetched<T> = { data?: T; error?: unknown; response: Response };

/** The vault's `{"error": {"code", "message"}}`, or a network failure, as a MedkeyError. */
export function vaultError(response: Response | undefined, body: unknown): MedkeyError {
  const detail = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (response && detail && typeof detail.code === 'string') {
    const retry = response.headers.get('retry-after');
    const wait = retry ? ` Try again in ${retry} seconds.` : '';
    return new MedkeyError(detail.code, `${String(detail.message ?? detail.code)}.${wait}`, response.status);
  }
  const status = response ? `answered ${response.status}` : 'could not be reached';
  return new MedkeyError(
    'vault_unreachable',
    `The vault ${status}. Check your connection and try again.`,
    response?.status,
  );
}

async function must<T>(call: Promise<Fetched<T>>): Promise<T> {
  let result: Fetched<T>;
  try {
    result = await call;
  } catch {
    throw vaultError(undefined, undefined);
  }
  if (!result.response.ok || result.error !== undefined) throw vaultError(result.response, result.error);
  return result.data as T;
}

export interface VaultClientOptions {
  /** Custom fetch (tests, a service worker); defaults to the global one. */
  fetch?: typeof globalThis.fetch;
}

/**
 * One vault, one (optional) signed-in account. `token` is an access token held in memory only;
 * the session module sets and refreshes it.
 */
export class VaultClient {
  readonly api: Client<paths>;
  token: string | undefined;
  private readonly fetchFn: typeof globalThis.fetch;

  constructor(
    readonly baseUrl: string,
    options: VaultClientOptions = {},
  ) {
    const base = baseUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.api = createClient<paths>({ baseUrl: base, ...(options.fetch ? { fetch: options.fetch } : {}) });
    this.api.use({
      onRequest: ({ request }) => {
        if (this.token) request.headers.set('authorization', `Bearer ${this.token}`);
        return request;
      },
    });
  }

  // Public ----------------------------------------------------------------------------------

  auditKey(): Promise<Schemas['OperatorKey']> {
    return must(this.api.GET('/.well-known/medkey-audit-key'));
  }

  nonce(): Promise<Schemas['Nonce']> {
    return must(this.api.GET('/v1/auth/nonce'));
  }

  login(body: Schemas['LoginBody']): Promise<Schemas['SessionBody']> {
    return must(this.api.POST('/v1/auth/login', { body }));
  }

  refresh(refreshToken: string): Promise<Schemas['SessionBody']> {
    return must(this.api.POST('/v1/auth/refresh', { body: { refresh_token: refreshToken } }));
  }

  async logout(refreshToken: string): Promise<void> {
    await must(this.api.POST('/v1/auth/logout', { body: { refresh_token: refreshToken } }));
  }

  treeHead(): Promise<Schemas['TreeHead']> {
    return must(this.api.GET('/v1/audit/tree-head'));
  }

  consistency(from: number): Promise<Schemas['ConsistencyAnswer']> {
    return must(this.api.GET('/v1/audit/consistency', { params: { query: { from } } }));
  }

  // Second factor ---------------------------------------------------------------------------

  mfaStatus(): Promise<Schemas['MfaStatus']> {
    return must(this.api.GET('/v1/auth/mfa'));
  }

  /** Starts enrolment: a secret for the authenticator app (shown once, as a QR code). */
  mfaSetup(): Promise<Schemas['TotpSetup']> {
    return must(this.api.POST('/v1/auth/mfa/setup'));
  }

  /** Confirms enrolment with a code from the app; returns the one-time recovery codes. */
  mfaEnable(code: string): Promise<Schemas['RecoveryCodes']> {
    return must(this.api.POST('/v1/auth/mfa/enable', { body: { code } }));
  }

  async mfaDisable(factor: Schemas['FactorBody']): Promise<void> {
    await must(this.api.POST('/v1/auth/mfa/disable', { body: factor }));
  }

  // Signed in -------------------------------------------------------------------------------

  async publishEncryptionKey(body: Schemas['PublishKeyBody']): Promise<void> {
    await must(this.api.PUT('/v1/account/encryption-key', { body }));
  }

  accountKey(address: string): Promise<Schemas['PublishedKey']> {
    return must(this.api.GET('/v1/accounts/{address}/encryption-key', { params: { path: { address } } }));
  }

  listRecords(query: paths['/v1/records']['get']['parameters']['query'] = {}): Promise<Schemas['RecordView'][]> {
    return must(this.api.GET('/v1/records', { params: { query } }));
  }

  createRecord(body: Schemas['CreateRecordBody']): Promise<Schemas['RecordCreated']> {
    return must(this.api.POST('/v1/records', { body }));
  }

  /** Stores 1 to 500 of the caller's own new records together: all of them, or none. */
  createRecords(records: Schemas['CreateRecordBody'][]): Promise<Schemas['RecordsCreated']> {
    return must(this.api.POST('/v1/records/batch', { body: { records } }));
  }

  fetchRecord(id: string): Promise<Schemas['RecordContent']> {
    return must(this.api.GET('/v1/records/{id}', { params: { path: { id } } }));
  }

  /** Erases the caller's own record for good: every ciphertext and wrapped key is dropped. */
  /** A new version of the caller's own record (the old ones are kept). */
  updateRecord(id: string, body: Schemas['VersionBody']): Promise<Schemas['RecordView']> {
    return must(this.api.PUT('/v1/records/{id}', { params: { path: { id } }, body }));
  }

  /** Her sealed provider connections. */
  connections(): Promise<Schemas['ConnectionList']> {
    return must(this.api.GET('/v1/connections'));
  }

  /** Keeps a new sealed connection, or replaces the one at `revision` (409 `connection_changed` if another device did first). */
  putConnection(id: string, body: Schemas['ConnectionBody']): Promise<Schemas['ConnectionKept']> {
    return must(this.api.PUT('/v1/connections/{id}', { params: { path: { id } }, body }));
  }

  async deleteConnection(id: string): Promise<void> {
    await must(this.api.DELETE('/v1/connections/{id}', { params: { path: { id } } }));
  }

  async eraseRecord(id: string): Promise<void> {
    await must(this.api.DELETE('/v1/records/{id}', { params: { path: { id } } }));
  }

  /** A record's versions, newest first (metadata only). */
  recordHistory(id: string): Promise<Schemas['RecordHistory']> {
    return must(this.api.GET('/v1/records/{id}/versions', { params: { path: { id } } }));
  }

  /** One version of the caller's own record, sealed, with its key wrapped for her. */
  fetchRecordVersion(id: string, version: number): Promise<Schemas['VersionContent']> {
    return must(this.api.GET('/v1/records/{id}/versions/{version}', { params: { path: { id, version } } }));
  }

  /** Many of the caller's own records in one call (at most 500 ids). */
  fetchRecords(recordIds: string[]): Promise<Schemas['RecordContents']> {
    return must(this.api.POST('/v1/records/contents', { body: { record_ids: recordIds } }));
  }

  async addKeys(id: string, version: number, body: Schemas['KeysBody']): Promise<void> {
    await must(this.api.POST('/v1/records/{id}/versions/{version}/keys', { params: { path: { id, version } }, body }));
  }

  /**
   * Uploads an attachment's encrypted stream (from `encryptStream`) for one record version; a
   * ReadableStream body is sent as it is produced, so memory stays flat.
   */
  async uploadAttachment(
    id: string,
    version: number,
    body: ReadableStream<Uint8Array> | Uint8Array,
  ): Promise<Schemas['AttachmentStored']> {
    const init: RequestInit & { duplex?: 'half' } = {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: body as BodyInit,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    };
    const response = await this.raw(`/v1/records/${encodeURIComponent(id)}/versions/${version}/attachment`, init);
    return (await response.json()) as Schemas['AttachmentStored'];
  }

  /**
   * Uploads an attachment's ciphertext held in a Blob (see `encryptToBlob`), reporting upload
   * progress; for browsers, where a streamed request body needs HTTP/2.
   */
  uploadAttachmentBlob(
    id: string,
    version: number,
    body: Blob,
    progress: (sent: number, total: number) => void = () => {},
  ): Promise<Schemas['AttachmentStored']> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}/v1/records/${encodeURIComponent(id)}/versions/${version}/attachment`;
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', url);
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      if (this.token) xhr.setRequestHeader('authorization', `Bearer ${this.token}`);
      xhr.upload.onprogress = (e) => progress(e.loaded, e.total || body.size);
      xhr.onerror = () => reject(vaultError(undefined, undefined));
      xhr.onload = () => {
        let answer: unknown;
        try {
          answer = JSON.parse(xhr.responseText);
        } catch {
          answer = undefined;
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(answer as Schemas['AttachmentStored']);
        else
          reject(
            vaultError(
              new Response(null, {
                status: xhr.status,
                headers: { 'retry-after': xhr.getResponseHeader('retry-after') ?? '' },
              }),
              answer,
            ),
          );
      };
      xhr.send(body);
    });
  }

  /** A record's encrypted attachment as a stream: pipe it through `decryptStream`. */
  async downloadAttachment(id: string): Promise<{ stream: ReadableStream<Uint8Array>; version: number }> {
    const response = await this.raw(`/v1/records/${encodeURIComponent(id)}/attachment`, { method: 'GET' });
    if (!response.body) throw vaultError(response, undefined);
    return { stream: response.body, version: Number(response.headers.get('x-medkey-version')) };
  }

  emergencyProviders(): Promise<Schemas['EmergencyProviders']> {
    return must(this.api.GET('/v1/account/emergency-providers'));
  }

  async setEmergencyProviders(body: Schemas['ProvidersBody']): Promise<void> {
    await must(this.api.PUT('/v1/account/emergency-providers', { body }));
  }

  /** The grants the caller made (as a patient), or those made to it (`provider`). */
  grants(role: 'patient' | 'provider' = 'patient'): Promise<Schemas['GrantListing']> {
    return must(this.api.GET('/v1/grants', { params: { query: { as: role } } }));
  }

  /** A provider asks a patient for access; she answers with a grant of her own, or declines. */
  requestAccess(body: Schemas['RequestDraft']): Promise<Schemas['AccessRequestView']> {
    return must(this.api.POST('/v1/access-requests', { body }));
  }

  grantTypedData(body: Schemas['GrantDraft']): Promise<Schemas['Signable']> {
    return must(this.api.POST('/v1/grants/typed-data', { body }));
  }

  revokeTypedData(body: Schemas['RevokeDraft']): Promise<Schemas['Signable']> {
    return must(this.api.POST('/v1/revocations/typed-data', { body }));
  }

  relay(body: Schemas['RelayBody']): Promise<Schemas['Relayed']> {
    return must(this.api.POST('/v1/relay', { body }));
  }

  /** Access requests addressed to the caller (a patient) or made by it (a provider). */
  accessRequests(status?: 'pending' | 'approved' | 'declined' | 'expired'): Promise<Schemas['AccessRequestView'][]> {
    return must(this.api.GET('/v1/access-requests', { params: { query: status ? { status } : {} } }));
  }

  /** Answers a request with the grant the patient signed for it. */
  approveRequest(id: string, grantId: string): Promise<Schemas['AccessRequestView']> {
    return must(
      this.api.POST('/v1/access-requests/{id}/approve', { params: { path: { id } }, body: { grant_id: grantId } }),
    );
  }

  declineRequest(id: string): Promise<Schemas['AccessRequestView']> {
    return must(this.api.POST('/v1/access-requests/{id}/decline', { params: { path: { id } } }));
  }

  patientRecords(patient: string): Promise<Schemas['RecordView'][]> {
    return must(this.api.GET('/v1/patients/{patient}/records', { params: { path: { patient } } }));
  }

  releaseKeys(patient: string, body: Schemas['RecordIdsBody']): Promise<Schemas['KeyBatch']> {
    return must(this.api.POST('/v1/patients/{patient}/keys', { params: { path: { patient } }, body }));
  }

  /** The public directory: providers the registry committed to (check each with `checkDirectoryEntry`). */
  searchDirectory(query: paths['/v1/directory']['get']['parameters']['query'] = {}): Promise<Schemas['DirectoryPage']> {
    return must(this.api.GET('/v1/directory', { params: { query } }));
  }

  lookupDirectory(addresses: string[]): Promise<Schemas['DirectoryLookup']> {
    return must(this.api.POST('/v1/directory/lookup', { body: { addresses } }));
  }

  directoryEntry(address: string): Promise<Schemas['DirectoryEntry']> {
    return must(this.api.GET('/v1/directory/{address}', { params: { path: { address } } }));
  }

  /** Applies to be a provider with a profile the caller's wallet signed. */
  applyAsProvider(body: Schemas['ApplicationBody']): Promise<Schemas['ApplicationView']> {
    return must(this.api.POST('/v1/provider-applications', { body }));
  }

  myApplications(): Promise<Schemas['ApplicationView'][]> {
    return must(this.api.GET('/v1/provider-applications/mine'));
  }

  /** Stores a SMART Health Link's encrypted files (see `shareLinks.ts`); the key stays here. */
  createShareLink(body: Schemas['CreateShareLinkBody']): Promise<Schemas['ShareLinkView']> {
    return must(this.api.POST('/v1/share-links', { body }));
  }

  /** Her links, newest first, each with every time someone asked for it. */
  shareLinks(): Promise<Schemas['ShareLinkView'][]> {
    return must(this.api.GET('/v1/share-links'));
  }

  async revokeShareLink(id: string): Promise<void> {
    await must(this.api.DELETE('/v1/share-links/{id}', { params: { path: { id } } }));
  }

  async replaceShareLinkFiles(id: string, files: Schemas['ShareFileBody'][]): Promise<void> {
    await must(this.api.PUT('/v1/share-links/{id}/files', { params: { path: { id } }, body: { files } }));
  }

  /** The registry roles the caller holds, as the chain's events show them. */
  adminRoles(): Promise<Schemas['AdminRoles']> {
    return must(this.api.GET('/v1/admin/roles'));
  }

  adminApplications(status: 'pending' | 'approved' | 'declined' = 'pending'): Promise<Schemas['ApplicationView'][]> {
    return must(this.api.GET('/v1/admin/applications', { params: { query: { status } } }));
  }

  declineApplication(id: string, reason: string): Promise<Schemas['ApplicationView']> {
    return must(this.api.POST('/v1/admin/applications/{id}/decline', { params: { path: { id } }, body: { reason } }));
  }

  confirmApplication(id: string): Promise<Schemas['ApplicationView']> {
    return must(this.api.POST('/v1/admin/applications/{id}/confirm', { params: { path: { id } } }));
  }

  /** The running system for the registry console: anchoring, mirror, relayer, webhooks, roles. */
  adminStatus(): Promise<Schemas['SystemStatus']> {
    return must(this.api.GET('/v1/admin/status'));
  }

  /** A provider's history with the registry, for the console (role holders only). */
  providerHistory(address: string): Promise<Schemas['ProviderHistoryStep'][]> {
    return must(this.api.GET('/v1/admin/providers/{address}/history', { params: { path: { address } } }));
  }

  deadWebhooks(): Promise<Schemas['FailedDelivery'][]> {
    return must(this.api.GET('/v1/admin/webhooks'));
  }

  async retryWebhook(id: string): Promise<void> {
    await must(this.api.POST('/v1/admin/webhooks/{id}/retry', { params: { path: { id } } }));
  }

  /** Keeps the words of a suspension's or reinstatement's reason; its hash goes on chain. */
  addRegistryReason(reason: string): Promise<Schemas['RegistryReason']> {
    return must(this.api.POST('/v1/admin/reasons', { body: { reason } }));
  }

  /** The providers she hid who she is (her own Patient record) from. */
  identitySharing(): Promise<Schemas['IdentitySharing']> {
    return must(this.api.GET('/v1/account/identity-sharing'));
  }

  /** Shows who she is to `provider` (while she shares anything with it), or hides it. */
  async setIdentityShown(provider: string, shown: boolean): Promise<void> {
    await must(
      this.api.PUT('/v1/account/identity-sharing/{provider}', { params: { path: { provider } }, body: { shown } }),
    );
  }

  auditEntries(
    query: paths['/v1/audit/entries']['get']['parameters']['query'] = {},
  ): Promise<Schemas['ProvenEntries']> {
    return must(this.api.GET('/v1/audit/entries', { params: { query } }));
  }

  private async raw(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('authorization', `Bearer ${this.token}`);
    let response: Response;
    try {
      response = await this.fetchFn(`${this.baseUrl.replace(/\/+$/, '')}${path}`, { ...init, headers });
    } catch {
      throw vaultError(undefined, undefined);
    }
    if (!response.ok) throw vaultError(response, await response.json().catch(() => undefined));
    return response;
  }
}
