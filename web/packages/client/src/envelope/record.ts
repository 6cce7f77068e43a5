// A sealed record: VERSION(1) ‖ nonce(12) ‖ AES-256-GCM(data key, nonce, record, aad = binding).

import { EnvelopeError } from '../errors.ts';
import { gcmDecrypt, gcmEncrypt, importAesKey, randomBytes } from './aesGcm.ts';
import { bindingBytes, type RecordBinding } from './binding.ts';

export const ENVELOPE_VERSION = 1;
const NONCE_LEN = 12;
const TAG_LEN = 16;

/** A fresh random 256-bit data key: one per record version. */
export function generateDataKey(): Uint8Array {
  return randomBytes(32);
}

export async function sealRecord(
  dataKey: Uint8Array,
  binding: RecordBinding,
  plaintext: Uint8Array,
  nonce: Uint8Array = randomBytes(NONCE_LEN),
): Promise<Uint8Array> {
  const sealed = await gcmEncrypt(await importAesKey(dataKey), nonce, plaintext, bindingBytes(binding));
  const out = new Uint8Array(1 + NONCE_LEN + sealed.length);
  out[0] = ENVELOPE_VERSION;
  out.set(nonce, 1);
  out.set(sealed, 1 + NONCE_LEN);
  return out;
}

export async function openRecord(dataKey: Uint8Array, binding: RecordBinding, sealed: Uint8Array): Promise<Uint8Array> {
  checkVersion(sealed[0]);
  if (sealed.length < 1 + NONCE_LEN + TAG_LEN) throw new EnvelopeError('truncated', 'envelope is truncated');
  const aad = bindingBytes(binding);
  return gcmDecrypt(
    await importAesKey(dataKey),
    sealed.subarray(1, 1 + NONCE_LEN),
    sealed.subarray(1 + NONCE_LEN),
    aad,
  );
}

export function checkVersion(version: number | undefined): void {
  if (version === undefined) throw new EnvelopeError('truncated', 'envelope is truncated');
  if (version !== ENVELOPE_VERSION) {
    throw new EnvelopeError(
      'unsupported_version',
      `envelope version ${version} is not supported (this library reads version ${ENVELOPE_VERSION})`,
    );
  }
}
