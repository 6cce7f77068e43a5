// A wrapped data key, 81 bytes: VERSION(1) ‖ E(32) ‖ AES-256-GCM(KEK, 0^96, data key, aad = binding)(48).
// KEK = HKDF-SHA256(ikm = X25519(e, R), salt = E ‖ R, info = "medkey/v1/key-wrap" ‖ binding).

import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { concatBytes } from '@noble/hashes/utils';
import { EnvelopeError, authenticationFailed } from '../errors.ts';
import { gcmDecrypt, gcmEncrypt, importAesKey, randomBytes } from './aesGcm.ts';
import { bindingBytes, type RecordBinding } from './binding.ts';
import { publicKeyOf, sharedSecret } from './x25519.ts';
import { ENVELOPE_VERSION, checkVersion } from './record.ts';

export const WRAPPED_LEN = 1 + 32 + 32 + 16;
const INFO_LABEL = new TextEncoder().encode('medkey/v1/key-wrap');
const ZERO_NONCE = new Uint8Array(12);

/** The X25519 public key of `secret`. */
export function encryptionPublicKey(secret: Uint8Array): Promise<Uint8Array> {
  return publicKeyOf(secret);
}

export async function wrapKey(
  dataKey: Uint8Array,
  recipient: Uint8Array,
  binding: RecordBinding,
  ephemeralSecret: Uint8Array = randomBytes(32),
): Promise<Uint8Array> {
  const ephemeral = await publicKeyOf(ephemeralSecret);
  const kek = await keyEncryptionKey(ephemeralSecret, recipient, ephemeral, recipient, binding);
  const body = await gcmEncrypt(await importAesKey(kek), ZERO_NONCE, dataKey, bindingBytes(binding));
  kek.fill(0);
  const out = new Uint8Array(WRAPPED_LEN);
  out[0] = ENVELOPE_VERSION;
  out.set(ephemeral, 1);
  out.set(body, 33);
  return out;
}

export async function unwrapKey(wrapped: Uint8Array, secret: Uint8Array, binding: RecordBinding): Promise<Uint8Array> {
  checkVersion(wrapped[0]);
  if (wrapped.length !== WRAPPED_LEN) throw new EnvelopeError('truncated', 'envelope is truncated');
  const ephemeral = wrapped.subarray(1, 33);
  let kek: Uint8Array;
  try {
    kek = await keyEncryptionKey(secret, ephemeral, ephemeral, await publicKeyOf(secret), binding);
  } catch (err) {
    if (err instanceof EnvelopeError && err.code === 'resource_type') throw err;
    throw authenticationFailed();
  }
  const key = await gcmDecrypt(await importAesKey(kek), ZERO_NONCE, wrapped.subarray(33), bindingBytes(binding));
  kek.fill(0);
  if (key.length !== 32) throw authenticationFailed();
  return key;
}

async function keyEncryptionKey(
  ownSecret: Uint8Array,
  peer: Uint8Array,
  ephemeralPublic: Uint8Array,
  recipientPublic: Uint8Array,
  binding: RecordBinding,
): Promise<Uint8Array> {
  const shared = await sharedSecret(ownSecret, peer);
  const kek = hkdf(
    sha256,
    shared,
    concatBytes(ephemeralPublic, recipientPublic),
    concatBytes(INFO_LABEL, bindingBytes(binding)),
    32,
  );
  shared.fill(0);
  return kek;
}
