// A record's origin, sealed so that only its owner opens it (docs/envelope.md, "Record origin";
// the Rust side is protocol/src/envelope/origin.rs, and the cross vectors hold the two together):
//
//   K      = HKDF-SHA256(ikm = owner's X25519 secret, salt = "medkey/v1/record-origin", info = "origin key", L = 32)
//   aad    = "medkey/v1/record-origin" ‖ record_id(16) ‖ owner(20)
//   sealed = VERSION(1) ‖ nonce(12, random) ‖ AES-256-GCM(K, nonce, origin JSON, aad)

import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils';
import { hexToBytes, type Address } from 'viem';
import { EnvelopeError } from '../errors.ts';
import { openLabelled, sealLabelled } from './labelled.ts';

const LABEL = utf8ToBytes('medkey/v1/record-origin');
/** The largest sealed origin a vault stores (a client keeps a record without it rather than go over). */
export const MAX_SEALED_ORIGIN_BYTES = 16 * 1024;

/**
 * Where a record came from, as the Rust side reads it (`bundles`, `entry`), plus where a record
 * pulled from a provider's FHIR API came from (`source`; Rust keeps it as it is).
 */
export interface RecordOrigin {
  bundles: { key: string; header: unknown; position: number; entry?: unknown }[];
  entry?: unknown;
  source?: RecordSource;
}

/** A record pulled from a provider (SMART on FHIR): enough to know it again at the next sync. */
export interface RecordSource {
  /** The provider's FHIR base URL. */
  server: string;
  resourceType: string;
  id: string;
  versionId?: string;
  lastUpdated?: string;
  /** When it was pulled (ISO 8601). */
  retrievedAt: string;
  /** SHA-256 of the resource as the server sent it (hex), to tell a change from a repeat. */
  sha256: string;
}

/** The account's key for sealing origins, from her X25519 secret. */
export function originKey(ownerSecret: Uint8Array): Uint8Array {
  return hkdf(sha256, ownerSecret, LABEL, utf8ToBytes('origin key'), 32);
}

function aad(recordId: string, owner: Address): Uint8Array {
  const id = hexToBytes(`0x${recordId.replaceAll('-', '')}`);
  if (id.length !== 16) throw new EnvelopeError('truncated', 'a record id is 16 bytes');
  return concatBytes(LABEL, id, hexToBytes(owner));
}

export async function sealOrigin(
  key: Uint8Array,
  recordId: string,
  owner: Address,
  origin: RecordOrigin,
  nonce?: Uint8Array,
): Promise<Uint8Array> {
  return sealLabelled(key, aad(recordId, owner), utf8ToBytes(JSON.stringify(origin)), nonce);
}

export async function openOrigin(
  key: Uint8Array,
  recordId: string,
  owner: Address,
  sealed: Uint8Array,
): Promise<RecordOrigin> {
  const plain = await openLabelled(key, aad(recordId, owner), sealed);
  return JSON.parse(new TextDecoder().decode(plain)) as RecordOrigin;
}
