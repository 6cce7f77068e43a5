// Attachments of any size with flat memory: STREAM over AES-256-GCM (docs/envelope.md).
//
//   header  = VERSION(1) ‖ chunk size(u32 BE) ‖ nonce prefix(7)
//   chunk_i = AES-256-GCM(data key, prefix ‖ i(u32 BE, from 0) ‖ last(1: 0x00 or 0x01), chunk, aad = binding)
//
// Every chunk but the last holds exactly `chunk size` bytes. The encoder never writes an empty
// final chunk unless the whole input is empty; the decoder also accepts one after a full chunk.
// A stream that errors must be discarded: truncation is only detected at its end.

import { EnvelopeError } from '../errors.ts';
import { gcmDecrypt, gcmEncrypt, importAesKey, randomBytes } from './aesGcm.ts';
import { bindingBytes, type RecordBinding } from './binding.ts';
import { ENVELOPE_VERSION, checkVersion } from './record.ts';
import { BlobCollector } from '../blobCollector.ts';

export const DEFAULT_CHUNK = 64 * 1024;
export const HEADER_LEN = 1 + 4 + 7;
const TAG_LEN = 16;
const MIN_CHUNK = 1024;
const MAX_CHUNK = 16 * 1024 * 1024;

function checkChunkSize(size: number): void {
  if (!Number.isInteger(size) || size < MIN_CHUNK || size > MAX_CHUNK) {
    throw new EnvelopeError('chunk_size', `chunk size ${size} is outside 1 KiB ..= 16 MiB`);
  }
}

function chunkNonce(prefix: Uint8Array, counter: number, last: boolean): Uint8Array {
  if (counter > 0xffffffff) throw new EnvelopeError('chunk_size', 'the stream is longer than 2^32 chunks');
  const nonce = new Uint8Array(12);
  nonce.set(prefix, 0);
  new DataView(nonce.buffer).setUint32(7, counter, false);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * Collects incoming bytes into blocks of `size`, and hands a full block on only once a byte
 * after it has arrived, so the last block is known at the end: the lookahead STREAM needs.
 */
class Blocks {
  private block: Uint8Array;
  private filled = 0;
  constructor(private readonly size: number) {
    this.block = new Uint8Array(size);
  }
  /** Feeds `bytes`; returns every block now known not to be the last. */
  push(bytes: Uint8Array): Uint8Array[] {
    const full: Uint8Array[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      if (this.filled === this.size) {
        full.push(this.block);
        this.block = new Uint8Array(this.size);
        this.filled = 0;
      }
      const take = Math.min(this.size - this.filled, bytes.length - offset);
      this.block.set(bytes.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
    }
    return full;
  }
  rest(): Uint8Array {
    return this.block.subarray(0, this.filled);
  }
}

/**
 * Runs `op` on each block with its counter, all at once (WebCrypto works them in parallel off
 * the main thread), and enqueues the results in order. Memory stays bounded by the size of the
 * pieces the source hands in.
 */
async function inOrder(
  blocks: Uint8Array[],
  first: number,
  op: (block: Uint8Array, counter: number) => Promise<Uint8Array>,
  controller: TransformStreamDefaultController<Uint8Array>,
): Promise<number> {
  const done = await Promise.all(blocks.map((block, i) => op(block, first + i)));
  for (const out of done) controller.enqueue(out);
  return first + blocks.length;
}

/** Encrypts a byte stream under `dataKey`: pipe a file's `stream()` through it. */
export function encryptStream(
  dataKey: Uint8Array,
  binding: RecordBinding,
  chunkSize: number = DEFAULT_CHUNK,
  prefix: Uint8Array = randomBytes(7),
): TransformStream<Uint8Array, Uint8Array> {
  checkChunkSize(chunkSize);
  const aad = bindingBytes(binding);
  const blocks = new Blocks(chunkSize);
  const key = importAesKey(dataKey);
  let counter = 0;
  return new TransformStream({
    start(controller) {
      const header = new Uint8Array(HEADER_LEN);
      header[0] = ENVELOPE_VERSION;
      new DataView(header.buffer).setUint32(1, chunkSize, false);
      header.set(prefix, 5);
      controller.enqueue(header);
    },
    async transform(bytes, controller) {
      const aes = await key;
      counter = await inOrder(
        blocks.push(bytes),
        counter,
        (b, i) => gcmEncrypt(aes, chunkNonce(prefix, i, false), b, aad),
        controller,
      );
    },
    async flush(controller) {
      controller.enqueue(await gcmEncrypt(await key, chunkNonce(prefix, counter, true), blocks.rest(), aad));
    },
  });
}

/** Decrypts what {@link encryptStream} wrote; errors on any tampering, reordering or truncation. */
export function decryptStream(dataKey: Uint8Array, binding: RecordBinding): TransformStream<Uint8Array, Uint8Array> {
  const aad = bindingBytes(binding);
  const key = importAesKey(dataKey);
  const header = new Uint8Array(HEADER_LEN);
  let headerFilled = 0;
  let blocks: Blocks | undefined;
  let prefix: Uint8Array | undefined;
  let counter = 0;
  return new TransformStream({
    async transform(bytes, controller) {
      if (!blocks) {
        const take = Math.min(HEADER_LEN - headerFilled, bytes.length);
        header.set(bytes.subarray(0, take), headerFilled);
        headerFilled += take;
        bytes = bytes.subarray(take);
        if (headerFilled < HEADER_LEN) return;
        checkVersion(header[0]);
        const chunkSize = new DataView(header.buffer).getUint32(1, false);
        checkChunkSize(chunkSize);
        prefix = header.slice(5);
        blocks = new Blocks(chunkSize + TAG_LEN);
      }
      const nonceOf = prefix!;
      const aes = await key;
      counter = await inOrder(
        blocks.push(bytes),
        counter,
        (b, i) => gcmDecrypt(aes, chunkNonce(nonceOf, i, false), b, aad),
        controller,
      );
    },
    async flush(controller) {
      if (!blocks || !prefix) throw new EnvelopeError('truncated', 'envelope is truncated');
      const last = blocks.rest();
      if (last.length < TAG_LEN) throw new EnvelopeError('truncated', 'envelope is truncated');
      const plain = await gcmDecrypt(await key, chunkNonce(prefix, counter, true), last, aad);
      if (plain.length > 0) controller.enqueue(plain);
    },
  });
}

/** Whole-buffer helpers for small attachments and tests. */
export async function encryptBytes(
  dataKey: Uint8Array,
  binding: RecordBinding,
  plaintext: Uint8Array,
  chunkSize: number = DEFAULT_CHUNK,
  prefix?: Uint8Array,
): Promise<Uint8Array> {
  return collect(bytesStream(plaintext).pipeThrough(encryptStream(dataKey, binding, chunkSize, prefix)));
}

export async function decryptBytes(
  dataKey: Uint8Array,
  binding: RecordBinding,
  stream: Uint8Array,
): Promise<Uint8Array> {
  return collect(bytesStream(stream).pipeThrough(decryptStream(dataKey, binding)));
}

export function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) {
    parts.push(part);
    length += part.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Encrypts `file` into a Blob of ciphertext, for browsers that cannot stream a request body over
 * HTTP/1.1 (Chromium): the ciphertext is handed to the browser's blob store 16 MiB at a time, so
 * the page's own memory stays bounded. `progress(done, total)` reports plaintext bytes.
 */
export async function encryptToBlob(
  dataKey: Uint8Array,
  binding: RecordBinding,
  file: Blob,
  progress: (done: number, total: number) => void = () => {},
): Promise<Blob> {
  const collected = new BlobCollector();
  let done = 0;
  const counting = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      done += chunk.length;
      progress(done, file.size);
      controller.enqueue(chunk);
    },
  });
  await (file.stream() as ReadableStream<Uint8Array>)
    .pipeThrough(counting)
    .pipeThrough(encryptStream(dataKey, binding))
    .pipeTo(new WritableStream({ write: (chunk) => collected.push(chunk) }));
  return collected.finish('application/octet-stream');
}
