// The library's benchmark workloads, written once for Node and for the browser: attachment
// STREAM encryption and decryption of a large file through Web Streams, and sealing and opening
// a thousand typical FHIR resources. Each returns plain numbers; the runners print them.

import {
  decryptStream,
  encryptStream,
  encryptionPublicKey,
  generateDataKey,
  openRecord,
  sealRecord,
  unwrapKey,
  wrapKey,
  type RecordBinding,
} from '../src/index.ts';

const binding: RecordBinding = {
  recordId: '00112233445566778899aabbccddeeff',
  version: 1,
  owner: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  category: 11,
  resourceType: 'DocumentReference',
};

export interface StreamResult {
  megabytes: number;
  encryptMBps: number;
  decryptMBps: number;
  /** Largest heap seen while the stream ran, minus the heap before it, in MB. */
  peakExtraHeapMB: number;
}

/** A source of `total` bytes in 1 MiB pieces, made as it is read (like a File's stream). */
function source(total: number): ReadableStream<Uint8Array> {
  let made = 0;
  const piece = new Uint8Array(1 << 20).map((_, i) => (i * 31 + 7) & 0xff);
  return new ReadableStream({
    pull(controller) {
      if (made >= total) return controller.close();
      const n = Math.min(piece.length, total - made);
      made += n;
      controller.enqueue(piece.slice(0, n));
    },
  });
}

/**
 * Encrypts `megabytes` as a stream into a sink (timed, heap watched: nothing is kept), then
 * decrypts a ciphertext of the same size, streamed from memory (timed, heap watched relative to
 * the ciphertext already held).
 */
export async function streamWorkload(megabytes: number, heapUsed: () => number): Promise<StreamResult> {
  const total = megabytes * 1024 * 1024;
  const key = generateDataKey();
  let before = heapUsed();
  let peak = before;
  const watch = () => (peak = Math.max(peak, heapUsed()));

  let t = performance.now();
  let sealedBytes = 0;
  await source(total)
    .pipeThrough(encryptStream(key, binding))
    .pipeTo(new WritableStream({ write: (chunk) => void ((sealedBytes += chunk.length), watch()) }));
  const encryptSeconds = (performance.now() - t) / 1000;
  const encryptPeak = peak - before;

  const sealed: Uint8Array[] = [];
  await source(total)
    .pipeThrough(encryptStream(key, binding))
    .pipeTo(new WritableStream({ write: (chunk) => void sealed.push(chunk) }));
  before = heapUsed();
  peak = before;
  let next = 0;
  // Handed to the decrypter in 1 MiB pieces, as a download arrives.
  const pieces = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next >= sealed.length) return controller.close();
      const group = sealed.slice(next, next + 16);
      next += 16;
      const out = new Uint8Array(group.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of group) (out.set(c, at), (at += c.length));
      controller.enqueue(out);
    },
  });
  t = performance.now();
  let plainBytes = 0;
  await pieces
    .pipeThrough(decryptStream(key, binding))
    .pipeTo(new WritableStream({ write: (chunk) => void ((plainBytes += chunk.length), watch()) }));
  const decryptSeconds = (performance.now() - t) / 1000;
  if (plainBytes !== total || sealedBytes <= total) throw new Error('the stream lost bytes');
  return {
    megabytes,
    encryptMBps: megabytes / encryptSeconds,
    decryptMBps: megabytes / decryptSeconds,
    peakExtraHeapMB: Math.max(encryptPeak, peak - before) / (1024 * 1024),
  };
}

export interface RecordsResult {
  records: number;
  /** One record after another. */
  sealPerSecond: number;
  openPerSecond: number;
  /** 50 at a time (as an app opening a timeline would). */
  sealPerSecondConcurrent: number;
  openPerSecondConcurrent: number;
}

/** Seals (fresh data key, record, one wrapped key) and opens (unwrap, open) `resources`. */
export async function recordsWorkload(resources: object[]): Promise<RecordsResult> {
  const secret = generateDataKey();
  const reader = await encryptionPublicKey(secret);
  const encoder = new TextEncoder();
  const seal = async (resource: object) => {
    const key = generateDataKey();
    const record = await sealRecord(key, binding, encoder.encode(JSON.stringify(resource)));
    return { record, wrapped: await wrapKey(key, reader, binding) };
  };
  const open = async ({ record, wrapped }: { record: Uint8Array; wrapped: Uint8Array }) =>
    JSON.parse(new TextDecoder().decode(await openRecord(await unwrapKey(wrapped, secret, binding), binding, record)));
  const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const t = performance.now();
    const out = await work();
    return [out, resources.length / ((performance.now() - t) / 1000)];
  };
  const inBatches = async <A, B>(items: A[], f: (a: A) => Promise<B>) => {
    const out: B[] = [];
    for (let i = 0; i < items.length; i += 50) out.push(...(await Promise.all(items.slice(i, i + 50).map(f))));
    return out;
  };
  const [sealed, sealPerSecond] = await timed(async () => {
    const out = [];
    for (const r of resources) out.push(await seal(r));
    return out;
  });
  const [, openPerSecond] = await timed(async () => {
    for (const s of sealed) await open(s);
  });
  const [sealed2, sealPerSecondConcurrent] = await timed(() => inBatches(resources, seal));
  const [, openPerSecondConcurrent] = await timed(() => inBatches(sealed2, open));
  return { records: resources.length, sealPerSecond, openPerSecond, sealPerSecondConcurrent, openPerSecondConcurrent };
}
