// Storing an import: each record sealed here, then sent to the vault in batches that it stores in
// one transaction each (all or none), two batches in flight so sealing one overlaps sending the
// other. Keys for providers she already shares a category with are wrapped as the vault names
// them; once named for a kind of record, later batches wrap for them up front instead of one
// extra request per record.

import {
  MedkeyError,
  sealNewRecord,
  sealNextVersion,
  sealOrigin,
  wrapAll,
  type Reader,
  type Schemas,
  type Sealed,
  type VaultClient,
} from '@medkey/client';
import { base64 } from '@scure/base';
import type { Hex } from 'viem';
import type { PlannedRecord } from './importFile.ts';

/** Records per request (the vault takes at most 500). */
export const BATCH_RECORDS = 250;
/** Characters of record text per request: the body is about 1.4 times this, well under the vault's 8 MiB default. */
export const BATCH_CHARS = 2_000_000;
/** Batches sealed or sent at the same time. */
const IN_FLIGHT = 2;
/** Key additions sent at the same time, for records the vault says a provider still needs. */
const KEYS_AT_ONCE = 4;

export interface StoreTarget {
  vault: Pick<VaultClient, 'createRecords' | 'addKeys'>;
  /** She reads every record she stores. */
  owner: Reader;
  /** A provider's encryption key as the chain publishes it (never the one the vault names). */
  providerKey(provider: string): Promise<Uint8Array>;
  /** Called as records are stored, with how many more are. */
  stored(count: number): void;
  /** Her key for sealing origins (`originKey`), for records pulled from a provider. */
  originKey?: Uint8Array;
}

/** Where a pulled record came from, sealed into its create body for her alone (the next sync knows it again). */
export async function withPulledOrigin(seal: Sealed, item: PlannedRecord, originKey: Uint8Array | undefined) {
  if (!item.pulledFrom || !originKey) return;
  seal.body.origin = base64.encode(
    await sealOrigin(originKey, seal.binding.recordId, seal.binding.owner, { bundles: [], source: item.pulledFrom }),
  );
}

/** Wraps a record just stored for the providers the vault says still need its key (keys read from the chain). */
export async function wrapForProviders(
  target: Pick<StoreTarget, 'vault' | 'providerKey'>,
  created: Schemas['RecordCreated'],
  seal: Sealed,
): Promise<void> {
  if (created.providers_needing_keys.length === 0) return;
  const readers = await Promise.all(
    created.providers_needing_keys.map(async ({ provider }) => ({
      address: provider as Hex,
      publicKey: await target.providerKey(provider),
    })),
  );
  await target.vault.addKeys(created.record.record_id, 1, {
    wrapped_keys: await wrapAll(seal.dataKey, seal.binding, readers),
  });
}

/** Runs `work` on every item, at most `width` at a time; the first failure stops the rest. */
export async function inPool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** `items` cut in order into batches of at most `maxRecords` records and `maxChars` characters (a bigger record alone). */
export function batchesOf<T extends { text: string }>(
  items: readonly T[],
  maxRecords = BATCH_RECORDS,
  maxChars = BATCH_CHARS,
): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let chars = 0;
  for (const item of items) {
    if (batch.length > 0 && (batch.length >= maxRecords || chars + item.text.length > maxChars)) {
      batches.push(batch);
      batch = [];
      chars = 0;
    }
    batch.push(item);
    chars += item.text.length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Seals and stores `items` (each with its category chosen), in batches. */
export async function storeInBatches(items: readonly PlannedRecord[], target: StoreTarget): Promise<void> {
  // The providers each kind of record was wrapped for, as the vault named them. A grant revoked
  // meanwhile only leaves a key the vault will not release without a live grant.
  const readersOf = new Map<string, Set<string>>();
  const kindOf = (item: PlannedRecord) => `${item.category}|${item.resource.resourceType === 'Patient'}`;

  const readersFor = async (item: PlannedRecord): Promise<Reader[]> => {
    const providers = [...(readersOf.get(kindOf(item)) ?? [])];
    const keys = await Promise.all(providers.map((p) => target.providerKey(p)));
    return [target.owner, ...providers.map((address, i) => ({ address: address as Hex, publicKey: keys[i]! }))];
  };

  const storeBatch = async (batch: PlannedRecord[]): Promise<void> => {
    const sealed: Sealed[] = [];
    for (const item of batch) {
      sealed.push(
        await sealNewRecord({
          owner: target.owner.address,
          resource: item.resource,
          text: item.text,
          category: item.category!,
          readers: await readersFor(item),
        }),
      );
      await withPulledOrigin(sealed[sealed.length - 1]!, item, target.originKey);
    }
    try {
      let created: Schemas['RecordsCreated'];
      try {
        created = await target.vault.createRecords(sealed.map((s) => s.body));
      } catch (err) {
        // A vault configured with a smaller body limit: halve the batch until it fits.
        if (err instanceof MedkeyError && err.status === 413 && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          await storeBatch(batch.slice(0, half));
          await storeBatch(batch.slice(half));
          return;
        }
        throw err;
      }
      const needing = created.records
        .map((record, i) => ({ record, item: batch[i]!, seal: sealed[i]! }))
        .filter(({ record }) => record.providers_needing_keys.length > 0);
      await inPool(needing, KEYS_AT_ONCE, async ({ record, item, seal }) => {
        const known = readersOf.get(kindOf(item)) ?? new Set<string>();
        for (const { provider } of record.providers_needing_keys) known.add(provider);
        readersOf.set(kindOf(item), known);
        await wrapForProviders(target, record, seal);
      });
      target.stored(batch.length);
    } finally {
      for (const s of sealed) s.dataKey.fill(0);
    }
  };

  await inPool(batchesOf(items), IN_FLIGHT, storeBatch);
}

/** Whom a new version is wrapped for: her, the providers with a live grant on its category, her break-glass providers for it. */
export interface UpdateTarget {
  vault: Pick<VaultClient, 'updateRecord'>;
  owner: Reader;
  /** The providers who read records of this category now (keys from the chain). */
  readersFor(category: string): Promise<Reader[]>;
  originKey: Uint8Array;
  stored(count: number): void;
  /** Encrypts and uploads the file a record carries, under the new version's key. */
  attach(recordId: string, sealed: Pick<Sealed, 'dataKey' | 'binding'>, item: PlannedRecord): Promise<void>;
}

/**
 * Stores each of `items` (a record pulled again from a provider, changed there) as the next
 * version of the record it replaces, with its new source sealed as the record's origin. The old
 * versions are kept, as for any update.
 */
export async function storeUpdates(
  items: readonly PlannedRecord[],
  current: ReadonlyMap<string, Schemas['RecordView']>,
  target: UpdateTarget,
): Promise<void> {
  for (const item of items) {
    const view = current.get(item.replaces!);
    if (!view) throw new Error('A record this sync would update is no longer in your records.');
    const sealed = await sealNextVersion({
      record: view,
      resource: item.resource,
      text: item.text,
      readers: [target.owner, ...(await target.readersFor(view.category))],
    });
    if (item.pulledFrom)
      sealed.body.origin = base64.encode(
        await sealOrigin(target.originKey, view.record_id, target.owner.address, {
          bundles: [],
          source: item.pulledFrom,
        }),
      );
    try {
      await target.vault.updateRecord(view.record_id, sealed.body);
      if (item.attachment) await target.attach(view.record_id, sealed, item);
    } finally {
      sealed.dataKey.fill(0);
    }
    target.stored(1);
  }
}
