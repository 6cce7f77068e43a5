// The envelope's refusals: every flipped bit, another key or binding, low-order keys, truncated
// and reordered streams, and a resource type that is too long (refused, never truncated).

import { describe, expect, it } from 'vitest';
import {
  bindingBytes,
  collect,
  decryptBytes,
  decryptStream,
  encryptBytes,
  encryptStream,
  encryptionPublicKey,
  EnvelopeError,
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
  category: 0,
  resourceType: 'Observation',
};

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(EnvelopeError);
    return (err as EnvelopeError).code;
  }
  return 'opened';
}

describe('sealed records', () => {
  it('fail to open after any single flipped bit, under another key or another binding', async () => {
    const key = generateDataKey();
    const sealed = await sealRecord(key, binding, new TextEncoder().encode('{"resourceType":"Observation"}'));
    for (let i = 0; i < sealed.length; i++) {
      const bad = sealed.slice();
      bad[i]! ^= 1 << (i % 8);
      expect(await code(openRecord(key, binding, bad)), `byte ${i}`).not.toBe('opened');
    }
    expect(await code(openRecord(generateDataKey(), binding, sealed))).toBe('authentication');
    for (const change of [
      { version: 2 },
      { category: 1 },
      { resourceType: 'Condition' },
      { recordId: 'ff'.repeat(16) },
    ]) {
      expect(await code(openRecord(key, { ...binding, ...change }, sealed))).toBe('authentication');
    }
  });

  it('refuse a resource type beyond 64 bytes instead of truncating it', () => {
    expect(() => bindingBytes({ ...binding, resourceType: 'X'.repeat(65) })).toThrow(/1 to 64 ASCII bytes/);
    expect(bindingBytes({ ...binding, resourceType: 'X'.repeat(64) }).length).toBe(58 + 64);
  });
});

describe('wrapped keys', () => {
  it('open only for their recipient and binding', async () => {
    const key = generateDataKey();
    const secret = generateDataKey();
    const wrapped = await wrapKey(key, await encryptionPublicKey(secret), binding);
    expect(await unwrapKey(wrapped, secret, binding)).toEqual(key);
    expect(await code(unwrapKey(wrapped, generateDataKey(), binding))).toBe('authentication');
    expect(await code(unwrapKey(wrapped, secret, { ...binding, version: 2 }))).toBe('authentication');
    expect(await code(unwrapKey(wrapped.subarray(0, 80), secret, binding))).toBe('truncated');
  });

  it('are never made for a low-order public key', async () => {
    // Points of order 1, 2, 4, 8: every shared secret with them is zero.
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ];
    for (const hex of lowOrder) {
      const point = Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
      expect(await code(wrapKey(generateDataKey(), point, binding)), hex).toBe('weak_public_key');
    }
  });

  it('agree with the audited pure-JS X25519 (the fallback) on every key', async () => {
    const { x25519 } = await import('@noble/curves/ed25519');
    for (let i = 0; i < 20; i++) {
      const secret = generateDataKey();
      expect(await encryptionPublicKey(secret)).toEqual(x25519.getPublicKey(secret));
    }
  });
});

describe('attachment streams', () => {
  it('round-trip across chunk boundaries, in pieces of any size', async () => {
    const key = generateDataKey();
    for (const length of [0, 1, 1023, 1024, 1025, 5000]) {
      const plain = globalThis.crypto.getRandomValues(new Uint8Array(length));
      const sealed = await encryptBytes(key, binding, plain, 1024);
      // Feed the decrypter 7 bytes at a time: chunking of the transport must not matter.
      const pieces = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < sealed.length; i += 7) c.enqueue(sealed.subarray(i, i + 7));
          c.close();
        },
      });
      expect(await collect(pieces.pipeThrough(decryptStream(key, binding)))).toEqual(plain);
    }
  });

  it('detect truncation, reordering, appended and flipped bytes', async () => {
    const key = generateDataKey();
    const plain = globalThis.crypto.getRandomValues(new Uint8Array(3000));
    const sealed = await encryptBytes(key, binding, plain, 1024);
    const chunk = 1024 + 16;
    const header = sealed.subarray(0, 12);
    const [c0, c1, c2] = [0, 1, 2].map((i) => sealed.subarray(12 + i * chunk, 12 + (i + 1) * chunk));
    const join = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
    const cases = {
      'dropped last chunk': join(header, c0!, c1!),
      reordered: join(header, c1!, c0!, c2!),
      appended: join(sealed, new Uint8Array(16)),
      truncated: sealed.subarray(0, sealed.length - 1),
      'header only': header,
      flipped: (() => {
        const s = sealed.slice();
        s[500]! ^= 1;
        return s;
      })(),
    };
    for (const [name, bad] of Object.entries(cases)) {
      expect(await code(decryptBytes(key, binding, bad)), name).not.toBe('opened');
    }
  });

  it('also accept an empty final chunk after a full one (the other valid encoding)', async () => {
    // Built from the primitives as docs/envelope.md describes: header, one full chunk with
    // last = 0, then an empty chunk with last = 1.
    const key = generateDataKey();
    const plain = globalThis.crypto.getRandomValues(new Uint8Array(1024));
    const prefix = new Uint8Array(7).fill(9);
    const aes = await crypto.subtle.importKey('raw', key as BufferSource, 'AES-GCM', false, ['encrypt']);
    const nonce = (counter: number, last: number) => Uint8Array.of(...prefix, 0, 0, 0, counter, last);
    const chunk = async (n: Uint8Array, data: Uint8Array) =>
      new Uint8Array(
        await crypto.subtle.encrypt(
          { name: 'AES-GCM', iv: n as BufferSource, additionalData: bindingBytes(binding) as BufferSource },
          aes,
          data as BufferSource,
        ),
      );
    const header = Uint8Array.of(1, 0, 0, 4, 0, ...prefix);
    const stream = Uint8Array.from([
      ...header,
      ...(await chunk(nonce(0, 0), plain)),
      ...(await chunk(nonce(1, 1), new Uint8Array(0))),
    ]);
    expect(await decryptBytes(key, binding, stream)).toEqual(plain);
    // The encoder writes the shorter form: the full chunk is the last.
    const exact = await encryptBytes(key, binding, plain, 1024, prefix);
    expect(exact.length).toBe(12 + 1024 + 16);
    expect(exact.subarray(12)).toEqual(await chunk(nonce(0, 1), plain));
  });

  it('keep memory flat: a 32 MiB stream passes through in 64 KiB chunks', async () => {
    const key = generateDataKey();
    const total = 32 * 1024 * 1024;
    let produced = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        if (produced >= total) return c.close();
        produced += 1 << 20;
        c.enqueue(new Uint8Array(1 << 20).fill(produced & 0xff));
      },
    });
    let seen = 0;
    let largest = 0;
    await source
      .pipeThrough(encryptStream(key, binding))
      .pipeThrough(decryptStream(key, binding))
      .pipeTo(
        new WritableStream({
          write(part) {
            seen += part.length;
            largest = Math.max(largest, part.length);
          },
        }),
      );
    expect(seen).toBe(total);
    expect(largest).toBeLessThanOrEqual(64 * 1024);
  });
});
