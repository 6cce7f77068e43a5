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

const megabytesPerSecond = (bytes: number, since: number) =>
  bytes / (1024 * 1024) / ((performance.now() - since) / 1000);

function sink(onChunk: (chunk: Uint8Array) => void = () => {}): WritableStream<Uint8Array> {
  return new WritableStream({ write: onChunk });
}

/** Encrypts `megabytes` as a stream into a sink that keeps nothing; MB/s. */
export async function encryptOnly(megabytes: number): Promise<number> {
  const total = megabytes * 1024 * 1024;
  const t = performance.now();
  await source(total).pipeThrough(encryptStream(generateDataKey(), binding)).pipeTo(sink());
  return megabytesPerSecond(total, t);
}

/** Encryption piped straight into decryption, nothing kept: memory must stay flat; MB/s. */
export async function encryptThenDecrypt(megabytes: number): Promise<number> {
  const total = megabytes * 1024 * 1024;
  const key = generateDataKey();
  let seen = 0;
  const t = performance.now();
  await source(total)
    .pipeThrough(encryptStream(key, binding))
    .pipeThrough(decryptStream(key, binding))
    .pipeTo(sink((c) => void (seen += c.length)));
  if (seen !== total) throw new Error('the stream lost bytes');
  return megabytesPerSecond(total, t);
}

/** Decryption alone, of a ciphertext prepared in memory first (untimed) and fed in 1 MiB pieces; MB/s. */
export async function decryptOnly(megabytes: number): Promise<number> {
  const total = megabytes * 1024 * 1024;
  const key = generateDataKey();
  const sealed: Uint8Array[] = [];
  await source(total)
    .pipeThrough(encryptStream(key, binding))
    .pipeTo(sink((c) => void sealed.push(c)));
  let next = 0;
  const pieces = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next >= sealed.length) return controller.close();
      const group = sealed.slice(next, next + 16);
      next += 16;
      const out = new Uint8Array(group.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of group) {
        out.set(c, at);
        at += c.length;
      }
      controller.enqueue(out);
    },
  });
  let seen = 0;
  const t = performance.now();
  await pieces.pipeThrough(decryptStream(key, binding)).pipeTo(sink((c) => void (seen += c.length)));
  if (seen !== total) throw new Error('the stream lost bytes');
  return megabytesPerSecond(total, t);
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
