// The account's X25519 encryption key, from its wallet's signature of a fixed statement
// (docs/envelope.md, "The account's encryption key"; protocol/src/wallet_key.rs is the Rust twin).
//
//   signature = personal_sign(statement(account))          EIP-191, 65 bytes r ‖ s ‖ v
//   ikm       = r ‖ s, with s in its low form (s ≤ n/2)     either encoding, either v
//   secret    = HKDF-SHA256(ikm, salt = "medkey/wallet-key/v1", info = "x25519 encryption key", 32)

import { secp256k1 } from '@noble/curves/secp256k1';
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { getAddress, recoverMessageAddress, type Address, type Hex, type PublicClient } from 'viem';
import { MedkeyError } from './errors.ts';
import { publicKeyOf } from './envelope/x25519.ts';
import type { Wallet } from './wallet.ts';

export const WALLET_KEY_VERSION = 1;
const SALT = new TextEncoder().encode('medkey/wallet-key/v1');
const INFO = new TextEncoder().encode('x25519 encryption key');

/** The text the wallet shows: what signing it means, in plain words, and the version. */
export function walletKeyStatement(account: Address): string {
  return (
    `Medkey encryption key (version ${WALLET_KEY_VERSION})\n` +
    '\n' +
    'Signing this lets this app open your medical records on this device.\n' +
    'Sign it only in a Medkey app: anyone who gets this signature can read your records.\n' +
    'It costs nothing and sends no transaction.\n' +
    '\n' +
    `Account: ${getAddress(account)}`
  );
}

export interface EncryptionKeyPair {
  /** The X25519 secret: keep it in memory only, and wipe it (`fill(0)`) on sign-out. */
  secret: Uint8Array;
  publicKey: Uint8Array;
}

/** The key pair of `account` from its signature of {@link walletKeyStatement}; checks the signer. */
export async function keyFromSignature(account: Address, signature: Hex): Promise<EncryptionKeyPair> {
  const bytes = hexToBytes(signature.replace(/^0x/, ''));
  if (bytes.length !== 65) {
    throw new MedkeyError('malformed_signature', 'The wallet returned a signature Medkey cannot read (not 65 bytes).');
  }
  let signer: Address;
  try {
    signer = await recoverMessageAddress({ message: walletKeyStatement(account), signature });
  } catch {
    throw new MedkeyError('malformed_signature', 'The wallet returned a signature Medkey cannot read.');
  }
  if (getAddress(signer) !== getAddress(account)) {
    throw new MedkeyError(
      'wrong_signer',
      `The signature is not from ${getAddress(account)}. If this is a smart-contract wallet, it cannot hold a ` +
        'Medkey encryption key: use an ordinary account (a browser or hardware wallet).',
    );
  }
  const n = secp256k1.CURVE.n;
  const s = BigInt(`0x${bytesToHex(bytes.subarray(32, 64))}`);
  const lowS = s > n >> 1n ? n - s : s;
  const ikm = new Uint8Array(64);
  ikm.set(bytes.subarray(0, 32), 0);
  ikm.set(hexToBytes(lowS.toString(16).padStart(64, '0')), 32);
  const secret = hkdf(sha256, ikm, SALT, INFO, 32);
  ikm.fill(0);
  return { secret, publicKey: await publicKeyOf(secret) };
}

export interface DeriveOptions {
  /**
   * Ask for the signature twice and compare (first use on a device): a wallet that does not
   * sign deterministically would give a key it cannot give again, and records sealed to it
   * would be lost.
   */
  checkDeterministic?: boolean;
  /** When given, a contract account (EIP-1271 wallet) is refused before anything is signed. */
  chain?: Pick<PublicClient, 'getCode'>;
}

/** Asks the wallet to sign the statement and derives the account's encryption key. */
export async function deriveEncryptionKey(wallet: Wallet, options: DeriveOptions = {}): Promise<EncryptionKeyPair> {
  if (options.chain) {
    const code = await options.chain.getCode({ address: wallet.address });
    if (code && code !== '0x') {
      throw new MedkeyError(
        'contract_wallet',
        `${wallet.address} is a smart-contract wallet. Its signatures cannot make a Medkey encryption key; ` +
          'connect an ordinary account (a browser or hardware wallet) instead.',
      );
    }
  }
  const statement = walletKeyStatement(wallet.address);
  const first = await wallet.signMessage(statement);
  const pair = await keyFromSignature(wallet.address, first);
  if (options.checkDeterministic) {
    const second = await keyFromSignature(wallet.address, await wallet.signMessage(statement));
    const same = second.secret.every((b, i) => b === pair.secret[i]);
    second.secret.fill(0);
    if (!same) {
      pair.secret.fill(0);
      throw new MedkeyError(
        'wallet_not_deterministic',
        'Your wallet signed the same text twice with different results, so it cannot keep a stable key for your ' +
          'records. Use a wallet that signs deterministically (MetaMask, Ledger, Trezor, Rabby, Coinbase Wallet).',
      );
    }
  }
  return pair;
}
