// A passkey account's secret (accountSecret.ts), wrapped so the vault can keep it without reading
// it: under a key from a passkey's WebAuthn PRF output, or under a recovery code made on her
// device (docs/envelope.md, "Wrapped account secret"). Opening one is checked against what the
// chain and her published key say before it is trusted: a vault serving another account's
// wrapped secret (or its own) is refused.
//
//   K      = HKDF-SHA256(ikm = PRF output or the recovery code's 20 bytes,
//                        salt = "medkey/v1/account-secret-wrap", info = "passkey" | "recovery code")
//   aad    = "medkey/v1/account-secret-wrap" ‖ address(20) ‖ kind(1: 1 passkey, 2 recovery) ‖ id
//            (id: the credential id, or the recovery code's random 16-byte id)
//   sealed = VERSION(1) ‖ nonce(12, random) ‖ AES-256-GCM(K, nonce, S, aad)
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils';
import { base32crockford } from '@scure/base';
import { getAddress, hexToBytes, type Address } from 'viem';
import { accountEncryptionKey, accountOf } from './accountSecret.ts';
import { openLabelled, sealLabelled } from './envelope/labelled.ts';
import { MedkeyError } from './errors.ts';

const LABEL = utf8ToBytes('medkey/v1/account-secret-wrap');
const PASSKEY = 1;
const RECOVERY = 2;

/** The PRF input every Medkey passkey is evaluated with (`extensions.prf.eval.first`). */
export const PASSKEY_PRF_INPUT: Uint8Array = sha256(utf8ToBytes('medkey/v1/passkey-prf'));

function aad(address: Address, kind: number, id: Uint8Array): Uint8Array {
  return concatBytes(LABEL, hexToBytes(getAddress(address)), Uint8Array.of(kind), id);
}

function keyFrom(ikm: Uint8Array, info: string): Uint8Array {
  if (ikm.length < 16) throw new MedkeyError('invalid_request', 'too little key material to wrap an account secret');
  return hkdf(sha256, ikm, LABEL, utf8ToBytes(info), 32);
}

export async function wrapForPasskey(
  secret: Uint8Array,
  prfOutput: Uint8Array,
  address: Address,
  credentialId: Uint8Array,
): Promise<Uint8Array> {
  return sealLabelled(keyFrom(prfOutput, 'passkey'), aad(address, PASSKEY, credentialId), secret);
}

export async function unwrapFromPasskey(
  sealed: Uint8Array,
  prfOutput: Uint8Array,
  address: Address,
  credentialId: Uint8Array,
): Promise<Uint8Array> {
  return checkedLength(await openLabelled(keyFrom(prfOutput, 'passkey'), aad(address, PASSKEY, credentialId), sealed));
}

/** A recovery code: 20 random bytes (160 bits) and the random id the vault files it under. */
export interface RecoveryCode {
  /** What she writes down or prints: 32 Crockford base32 characters in groups of four. */
  text: string;
  bytes: Uint8Array;
  id: Uint8Array;
}

export function newRecoveryCode(): RecoveryCode {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return { text: formatRecoveryCode(bytes), bytes, id: crypto.getRandomValues(new Uint8Array(16)) };
}

export function formatRecoveryCode(bytes: Uint8Array): string {
  return (base32crockford.encode(bytes).match(/.{4}/g) ?? []).join('-');
}

/**
 * The code's bytes from what she typed: case, spaces and dashes do not matter, and the letters
 * Crockford's alphabet reads as digits (O for 0, I and L for 1) are read so. Refused in words
 * when it is not a whole code.
 */
export function parseRecoveryCode(typed: string): Uint8Array {
  const cleaned = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (!/^[0-9A-HJKMNP-TV-Z]{32}$/.test(cleaned))
    throw new MedkeyError(
      'invalid_request',
      'That is not a whole recovery code: it has 32 letters and digits, in eight groups of four. Check what you typed against your printed kit.',
    );
  return base32crockford.decode(cleaned);
}

export async function wrapForRecovery(secret: Uint8Array, code: RecoveryCode, address: Address): Promise<Uint8Array> {
  return sealLabelled(keyFrom(code.bytes, 'recovery code'), aad(address, RECOVERY, code.id), secret);
}

export async function unwrapFromRecovery(
  sealed: Uint8Array,
  codeBytes: Uint8Array,
  codeId: Uint8Array,
  address: Address,
): Promise<Uint8Array> {
  try {
    return checkedLength(
      await openLabelled(keyFrom(codeBytes, 'recovery code'), aad(address, RECOVERY, codeId), sealed),
    );
  } catch {
    throw new MedkeyError(
      'wrong_recovery_code',
      'That recovery code does not open this account. Check it and try again.',
    );
  }
}

function checkedLength(secret: Uint8Array): Uint8Array {
  if (secret.length !== 32) throw new MedkeyError('invalid_request', 'an account secret is 32 bytes');
  return secret;
}

/**
 * Trusts an unwrapped secret only if it is this account's: it derives `address`, and (once she
 * has published one) the encryption key the chain or her signed publication names at `epoch`.
 */
export async function checkAccountSecret(
  secret: Uint8Array,
  address: Address,
  published: { publicKey: Uint8Array; epoch: number } | undefined,
): Promise<void> {
  if (accountOf(secret).address !== getAddress(address))
    throw new MedkeyError('key_mismatch', 'The server sent a key for another account. Nothing was opened.');
  if (!published) return;
  const { publicKey, secret: derived } = await accountEncryptionKey(secret, published.epoch);
  derived.fill(0);
  if (publicKey.length !== published.publicKey.length || publicKey.some((b, i) => b !== published.publicKey[i]))
    throw new MedkeyError(
      'key_mismatch',
      'The server sent a key that does not match your published key. Nothing was opened.',
    );
}
