// A provider connection, sealed on her device so that any of her devices can sync it and the
// vault, which keeps it as an opaque blob, learns neither the provider nor the token
// (docs/envelope.md, "Provider connections"; docs/threat-model.md, "Provider connections"):
//
//   K      = HKDF-SHA256(ikm = owner's X25519 secret, salt = "medkey/v1/provider-connection", info = "connection key", L = 32)
//   aad    = "medkey/v1/provider-connection" ‖ connection_id(16) ‖ owner(20)
//   sealed = VERSION(1) ‖ nonce(12, random) ‖ AES-256-GCM(K, nonce, connection JSON, aad)
//
// The same construction as a record's origin (`envelope/origin.ts`) under its own label, so a
// sealed origin can never be opened as a connection or the other way round.
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils';
import { hexToBytes, type Address } from 'viem';
import { randomBytes } from '../envelope/aesGcm.ts';
import { openLabelled, sealLabelled } from '../envelope/labelled.ts';
import { EnvelopeError } from '../errors.ts';
import type { SmartSession } from './smartLaunch.ts';
import type { SmartServer } from './smartServer.ts';

const LABEL = utf8ToBytes('medkey/v1/provider-connection');
/** The largest sealed connection a vault keeps (`vault/src/connections.rs` holds the same bound). */
export const MAX_SEALED_CONNECTION_BYTES = 8 * 1024;

/** One provider she connected, as her devices keep it (sealed; never in the clear off them). */
export interface ProviderConnection {
  /** 32 hex digits, also the vault's key for the blob. */
  id: string;
  server: SmartServer;
  clientId: string;
  /** Her id at the provider (the launch's `patient`). */
  patient: string;
  /** Absent once the provider refused it: the connection then needs her to sign in again. */
  refreshToken?: string;
  scope: string;
  connectedAt: string;
  /** When the last sync finished (ISO 8601). */
  syncedAt?: string;
  /**
   * The newest `meta.lastUpdated` the provider gave (its own clock), for `_lastUpdated=gt…` at the
   * next sync. Absent when the provider keeps no dates: every sync is then a full pull, de-duplicated.
   */
  cursor?: string;
  /** "reconnect": the provider no longer accepts the refresh token; she signs in again. */
  status: 'ok' | 'reconnect';
}

/** A new connection from a completed launch. */
export function connectionFrom(session: SmartSession, id = newConnectionId()): ProviderConnection {
  return {
    id,
    server: session.server,
    clientId: session.clientId,
    patient: session.patient,
    ...(session.refreshToken && { refreshToken: session.refreshToken }),
    scope: session.scope,
    connectedAt: new Date().toISOString(),
    status: 'ok',
  };
}

export function newConnectionId(): string {
  return [...randomBytes(16)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The account's key for sealing connections, from her X25519 secret. */
export function connectionKey(ownerSecret: Uint8Array): Uint8Array {
  return hkdf(sha256, ownerSecret, LABEL, utf8ToBytes('connection key'), 32);
}

function aad(connectionId: string, owner: Address): Uint8Array {
  const id = /^[0-9a-f]{32}$/.test(connectionId) ? hexToBytes(`0x${connectionId}`) : new Uint8Array();
  if (id.length !== 16) throw new EnvelopeError('truncated', 'a connection id is 16 bytes (32 hex digits)');
  return concatBytes(LABEL, id, hexToBytes(owner));
}

export async function sealConnection(
  key: Uint8Array,
  owner: Address,
  connection: ProviderConnection,
  nonce?: Uint8Array,
): Promise<Uint8Array> {
  const sealed = await sealLabelled(key, aad(connection.id, owner), utf8ToBytes(JSON.stringify(connection)), nonce);
  if (sealed.length > MAX_SEALED_CONNECTION_BYTES)
    throw new EnvelopeError('truncated', 'this provider’s sign-in details are too large to keep');
  return sealed;
}

/** Opens a sealed connection and checks its shape (it is decrypted content: untrusted). */
export async function openConnection(
  key: Uint8Array,
  owner: Address,
  connectionId: string,
  sealed: Uint8Array,
): Promise<ProviderConnection> {
  const plain = await openLabelled(key, aad(connectionId, owner), sealed);
  const value = JSON.parse(new TextDecoder().decode(plain)) as unknown;
  if (!isConnection(value) || value.id !== connectionId)
    throw new EnvelopeError('truncated', 'a kept provider connection is not in the expected shape');
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';

function isConnection(v: unknown): v is ProviderConnection {
  if (!v || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  const server = c.server as Record<string, unknown> | undefined;
  return (
    isString(c.id) &&
    isString(c.clientId) &&
    isString(c.patient) &&
    isString(c.scope) &&
    isString(c.connectedAt) &&
    (c.refreshToken === undefined || isString(c.refreshToken)) &&
    (c.cursor === undefined || isString(c.cursor)) &&
    (c.syncedAt === undefined || isString(c.syncedAt)) &&
    (c.status === 'ok' || c.status === 'reconnect') &&
    !!server &&
    isString(server.fhirBase) &&
    isString(server.issuer) &&
    isString(server.authorizationEndpoint) &&
    isString(server.tokenEndpoint)
  );
}

/** The session a sync starts from: no access token yet, so the first request refreshes. */
export function sessionOf(connection: ProviderConnection): SmartSession {
  return {
    server: connection.server,
    clientId: connection.clientId,
    patient: connection.patient,
    accessToken: '',
    expiresAt: 0,
    ...(connection.refreshToken && { refreshToken: connection.refreshToken }),
    scope: connection.scope,
  };
}
