// The sealing shared by a record's origin and a provider connection (docs/envelope.md): AES-256-GCM
// under a key of the account's, with associated data that starts with the kind's own label, so a
// blob of one kind never opens as the other.
//
//   sealed = VERSION(1) ‖ nonce(12, random) ‖ AES-256-GCM(K, nonce, plaintext, aad)
import { concatBytes } from '@noble/hashes/utils';
import { EnvelopeError } from '../errors.ts';
import { gcmDecrypt, gcmEncrypt, importAesKey, randomBytes } from './aesGcm.ts';
import { ENVELOPE_VERSION, checkVersion } from './record.ts';

const NONCE_LEN = 12;
const TAG_LEN = 16;

export async function sealLabelled(
  key: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  nonce: Uint8Array = randomBytes(NONCE_LEN),
): Promise<Uint8Array> {
  const sealed = await gcmEncrypt(await importAesKey(key), nonce, plaintext, aad);
  return concatBytes(Uint8Array.of(ENVELOPE_VERSION), nonce, sealed);
}

export async function openLabelled(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array> {
  checkVersion(sealed[0]);
  if (sealed.length < 1 + NONCE_LEN + TAG_LEN) throw new EnvelopeError('truncated', 'envelope is truncated');
  return gcmDecrypt(await importAesKey(key), sealed.subarray(1, 1 + NONCE_LEN), sealed.subarray(1 + NONCE_LEN), aad);
}
