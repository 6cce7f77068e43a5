// Signing in to a vault with the wallet (Sign-In with Ethereum, EIP-4361, built by viem), the
// second factor when the account has one, refreshing and signing out. Tokens live in memory
// only: a reload signs the person in again.

import { createSiweMessage } from 'viem/siwe';
import { bytesToHex, hexToBytes, recoverMessageAddress, getAddress, type Address, type Hex } from 'viem';
import type { VaultClient } from './api/client.ts';
import { MedkeyError } from './errors.ts';
import type { Wallet } from './wallet.ts';
import { deriveEncryptionKey, type DeriveOptions, type EncryptionKeyPair } from './walletKey.ts';

export interface SignInOptions {
  /** The site asking (EIP-4361 `domain`): the page's host in a browser, the vault's host otherwise. */
  domain?: string;
  /** Asked for when the account has a second factor; return the 6-digit code or a recovery code. */
  secondFactor?: () => Promise<{ totp: string } | { recovery_code: string }>;
  /** The chain the vault serves (from the deployment); the wallet must be on it. */
  chainId: number;
}

export class VaultSession {
  private refreshToken: string;
  private refreshing: Promise<void> | undefined;

  private constructor(
    readonly vault: VaultClient,
    readonly address: Address,
    session: { access_token: string; refresh_token: string; access_expires_at: number },
    private accessExpiresAt: number,
  ) {
    vault.token = session.access_token;
    this.refreshToken = session.refresh_token;
  }

  /** One signature in the wallet (plus the second factor if the account has one). */
  static async signIn(vault: VaultClient, wallet: Wallet, options: SignInOptions): Promise<VaultSession> {
    const walletChain = await wallet.chainId();
    if (walletChain !== options.chainId) {
      throw new MedkeyError(
        'wrong_chain',
        `Your wallet is on network ${walletChain}, but this vault serves network ${options.chainId}. Switch networks in the wallet.`,
      );
    }
    const { nonce, uri } = await vault.nonce();
    const message = createSiweMessage({
      address: wallet.address,
      chainId: options.chainId,
      domain: options.domain ?? (globalThis.location?.host || new URL(vault.baseUrl).host),
      nonce,
      uri,
      version: '1',
      statement: 'Sign in to Medkey.',
      issuedAt: new Date(),
    });
    const signature = await wallet.signMessage(message);
    let session;
    try {
      session = await vault.login({ message, signature });
    } catch (err) {
      if (!(err instanceof MedkeyError && err.code === 'mfa_required' && options.secondFactor)) throw err;
      session = await vault.login({ message, signature, ...(await options.secondFactor()) });
    }
    return new VaultSession(vault, getAddress(session.address), session, session.access_expires_at);
  }

  /** A fresh access token when the current one is within a minute of expiring; one refresh at a time. */
  async ensureFresh(nowS: number = Date.now() / 1000): Promise<void> {
    if (nowS < this.accessExpiresAt - 60) return;
    this.refreshing ??= this.vault
      .refresh(this.refreshToken)
      .then((session) => {
        this.vault.token = session.access_token;
        this.refreshToken = session.refresh_token;
        this.accessExpiresAt = session.access_expires_at;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  async signOut(): Promise<void> {
    try {
      await this.vault.logout(this.refreshToken);
    } finally {
      this.vault.token = undefined;
      this.refreshToken = '';
    }
  }
}

/** The statement an account signs to vouch for its encryption key (protocol/src/account_key.rs). */
export function accountKeyStatement(account: Address, chainId: number, key: Uint8Array): string {
  return `Medkey encryption key\nAccount: ${getAddress(account)}\nChain ID: ${chainId}\nX25519 key: ${bytesToHex(key)}`;
}

/**
 * Derives the account's encryption key from the wallet and publishes its public half, signed,
 * so providers who write for this patient can wrap to it without trusting the vault.
 */
export async function deriveAndPublishKey(
  session: VaultSession,
  wallet: Wallet,
  chainId: number,
  options: DeriveOptions = {},
): Promise<EncryptionKeyPair> {
  const pair = await deriveEncryptionKey(wallet, options);
  const statement = accountKeyStatement(wallet.address, chainId, pair.publicKey);
  const signature = await wallet.signMessage(statement);
  await session.vault.publishEncryptionKey({ encryption_key: bytesToHex(pair.publicKey), signature });
  return pair;
}

/** An account's published key, checked against its own signature (the vault only stores it). */
export async function publishedKey(vault: VaultClient, account: Address, chainId: number): Promise<Uint8Array> {
  const published = await vault.accountKey(account);
  const key = hexToBytes(published.encryption_key as Hex);
  const signer = await recoverMessageAddress({
    message: accountKeyStatement(account, chainId, key),
    signature: published.signature as Hex,
  }).catch(() => undefined);
  if (!signer || getAddress(signer) !== getAddress(account)) {
    throw new MedkeyError(
      'unsigned_key',
      `The vault served an encryption key for ${account} that ${account} did not sign. Nothing was shared; tell the vault's operator.`,
    );
  }
  return key;
}
