// A patient's records as the vault keeps them: sealed on this device under a fresh data key per
// version, that key wrapped to each reader (the patient, and providers with a live grant), and
// opened again here. The vault sees ciphertext, wrapped keys and the binding's fields.

import { base64 } from '@scure/base';
import { getAddress, type Address } from 'viem';
import type { Schemas, VaultClient } from './api/client.ts';
import { CATEGORIES, categoryIndex, type Category } from './consent.ts';
import { MedkeyError } from './errors.ts';
import type { RecordBinding } from './envelope/binding.ts';
import { generateDataKey, openRecord, sealRecord } from './envelope/record.ts';
import { unwrapKey, wrapKey } from './envelope/wrap.ts';

export interface Reader {
  address: Address;
  /** X25519 public key: the patient's own, or a provider's from the chain. */
  publicKey: Uint8Array;
}

export interface FhirResource {
  resourceType: string;
  [field: string]: unknown;
}

export function newRecordId(): string {
  // An RFC 4122 version-4 UUID (as 32 hex digits): random, and a valid UUID wherever one is shown.
  return globalThis.crypto.randomUUID().replaceAll('-', '');
}

export interface Sealed {
  body: Schemas['CreateRecordBody'];
  binding: RecordBinding;
  /** Keep only as long as needed to encrypt an attachment; wipe with fill(0). */
  dataKey: Uint8Array;
}

/** Seals `resource` as version 1 of a new record of `owner`, wrapped to every reader. */
export async function sealNewRecord(args: {
  owner: Address;
  resource: FhirResource;
  category: Category;
  readers: Reader[];
  recordId?: string;
  /** A provider writing under a write grant names the patient; the patient leaves it out. */
  forPatient?: boolean;
  /** The resource's JSON text as the file had it (numbers exact, see exactJson.ts); else it is serialised here. */
  text?: string;
}): Promise<Sealed> {
  const recordId = args.recordId ?? newRecordId();
  const binding: RecordBinding = {
    recordId,
    version: 1,
    owner: getAddress(args.owner),
    category: categoryIndex(args.category),
    resourceType: args.resource.resourceType,
  };
  const dataKey = generateDataKey();
  const plaintext = new TextEncoder().encode(args.text ?? JSON.stringify(args.resource));
  const sealed = await sealRecord(dataKey, binding, plaintext);
  const body: Schemas['CreateRecordBody'] = {
    record_id: recordId,
    category: args.category,
    resource_type: binding.resourceType,
    ciphertext: base64.encode(sealed),
    wrapped_keys: await wrapAll(dataKey, binding, args.readers),
    ...(args.forPatient ? { patient: binding.owner } : {}),
  };
  return { body, binding, dataKey };
}

/**
 * Seals `resource` as the next version of `record` (hers), wrapped to every reader: the body of
 * `PUT /v1/records/{id}` (an `origin` may be added to it).
 */
export async function sealNextVersion(args: {
  record: Schemas['RecordView'];
  resource: FhirResource;
  readers: Reader[];
  text?: string;
}): Promise<{ body: Schemas['VersionBody']; binding: RecordBinding; dataKey: Uint8Array }> {
  if (args.resource.resourceType !== args.record.resource_type)
    throw new MedkeyError(
      'invalid_request',
      `A ${args.record.resource_type} record cannot become a ${args.resource.resourceType}.`,
    );
  const binding = bindingOf(args.record, args.record.version + 1);
  const dataKey = generateDataKey();
  const plaintext = new TextEncoder().encode(args.text ?? JSON.stringify(args.resource));
  const body: Schemas['VersionBody'] = {
    ciphertext: base64.encode(await sealRecord(dataKey, binding, plaintext)),
    wrapped_keys: await wrapAll(dataKey, binding, args.readers),
  };
  return { body, binding, dataKey };
}

export async function wrapAll(dataKey: Uint8Array, binding: RecordBinding, readers: Reader[]) {
  return Promise.all(
    readers.map(async (r) => ({
      recipient: getAddress(r.address),
      wrapped: base64.encode(await wrapKey(dataKey, r.publicKey, binding)),
    })),
  );
}

/** The binding of a record the vault describes (its metadata is in the clear, and bound). */
export function bindingOf(record: Schemas['RecordView'], version: number = record.version): RecordBinding {
  const category = CATEGORIES.indexOf(record.category as Category);
  if (category < 0)
    throw new MedkeyError('unknown_category', `The vault named an unknown category "${record.category}".`);
  return {
    recordId: record.record_id,
    version,
    owner: getAddress(record.owner),
    category,
    resourceType: record.resource_type,
  };
}

export interface Opened {
  resource: FhirResource;
  /** The record's JSON text as sealed: every number exactly as written (export it, not `resource`). */
  text: string;
  binding: RecordBinding;
  dataKey: Uint8Array;
}

/** Unwraps the data key with `secret` and opens the record (its current version unless `version`
 * names an older one); any tampering fails here. */
export async function openRecordContent(
  record: Schemas['RecordView'],
  ciphertext: string,
  wrappedKey: string | null | undefined,
  secret: Uint8Array,
  version: number = record.version,
): Promise<Opened> {
  if (!wrappedKey) {
    throw new MedkeyError('no_key', 'This record has no key for your account yet. Ask its owner to share it again.');
  }
  const binding = bindingOf(record, version);
  const dataKey = await unwrapKey(base64.decode(wrappedKey), secret, binding);
  const plaintext = await openRecord(dataKey, binding, base64.decode(ciphertext));
  const text = new TextDecoder().decode(plaintext);
  return { resource: JSON.parse(text) as FhirResource, text, binding, dataKey };
}

/**
 * Wraps the current key of each of `records` (hers) for `readers` as well, 500 records to a
 * fetch; a reader who has the key already is skipped. Reports progress per record.
 */
export async function wrapExistingRecords(
  vault: VaultClient,
  secret: Uint8Array,
  records: Schemas['RecordView'][],
  readers: Reader[],
  progress: (done: number, total: number) => void = () => {},
): Promise<number> {
  let done = 0;
  progress(done, records.length);
  for (let i = 0; i < records.length; i += 500) {
    const { records: contents } = await vault.fetchRecords(records.slice(i, i + 500).map((r) => r.record_id));
    for (const content of contents) {
      const opened = await openRecordContent(content.record, content.ciphertext, content.wrapped_key, secret);
      const wrapped_keys = await wrapAll(opened.dataKey, opened.binding, readers);
      opened.dataKey.fill(0);
      await vault.addKeys(content.record.record_id, content.record.version, { wrapped_keys }).catch((err: unknown) => {
        if ((err as { code?: string }).code !== 'wrapped_key_exists') throw err; // wrapped already
      });
      progress(++done, records.length);
    }
  }
  return done;
}
