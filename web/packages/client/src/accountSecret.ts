// A passkey account's secret: 32 random bytes made on her device, from which both her Ethereum
// account (Sign-In with Ethereum, EIP-712 grants) and her X25519 encryption key derive, so an
// account needs no wallet (docs/envelope.md, "Account secret"; the Rust side is
// protocol/src/account_secret.rs, and the cross vectors hold the two together):
//
//   eth_key(S)   = the first HKDF-SHA256(S, salt = "medkey/v1/account-secret",
//                    info = "secp256k1 account key" ‖ counter(1)) for counter = 0, 1, … with 0 < k < n
//   x25519(S, e) = HKDF-SHA256(S, salt = "medkey/v1/account-secret",
//                    info = "x25519 encryption key, epoch " ‖ e(4, big-endian))
import { secp256k1 } from '@noble/curves/secp256k1';
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils';
import { bytesToHex, type Hex } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { publicKeyOf } from './envelope/x25519.ts';
import type { EncryptionKeyPair } from './walletKey.ts';

const SALT = utf8ToBytes('medkey/v1/account-secret');
const ETH_INFO = utf8ToBytes('secp256k1 account key');
const X25519_INFO = utf8ToBytes('x25519 encryption key, epoch ');

/** A new account secret from the browser's (or Node's) randomness. Keep it in memory only. */
export function newAccountSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

/** Her Ethereum account's private key (the first expansion that is a valid secp256k1 scalar). */
export function accountPrivateKey(secret: Uint8Array): Hex {
  for (let counter = 0; counter < 256; counter++) {
    const key = hkdf(sha256, secret, SALT, concatBytes(ETH_INFO, Uint8Array.of(counter)), 32);
    if (secp256k1.utils.isValidPrivateKey(key)) return bytesToHex(key);
  }
  throw new Error('256 expansions in a row outside the secp256k1 group order');
}

/** Her Ethereum account (viem's local account: it signs SIWE messages and EIP-712 grants). */
export function accountOf(secret: Uint8Array): PrivateKeyAccount {
  return privateKeyToAccount(accountPrivateKey(secret));
}

/** Her X25519 encryption key at `epoch` (0 for a new account). */
export async function accountEncryptionKey(secret: Uint8Array, epoch: number): Promise<EncryptionKeyPair> {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) throw new RangeError('an epoch is a u32');
  const info = new Uint8Array(X25519_INFO.length + 4);
  info.set(X25519_INFO);
  new DataView(info.buffer).setUint32(X25519_INFO.length, epoch, false);
  const key = hkdf(sha256, secret, SALT, info, 32);
  return { secret: key, publicKey: await publicKeyOf(key) };
}
