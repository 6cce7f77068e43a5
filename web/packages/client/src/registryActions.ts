// The directory's workflows over a wallet: a provider applying with its signed profile, and the
// registrar approving (the registry's transaction from the registrar's own wallet, then the
// vault's listing) or suspending and reinstating with a reason whose words the vault keeps and
// whose hash goes on chain. Every application is checked here first: the vault is not trusted to
// hand over the profile the provider signed.

import {
  bytesToHex,
  encodeFunctionData,
  keccak256,
  recoverAddress,
  toBytes,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import type { Schemas, VaultClient } from './api/client.ts';
import { consentRegistryAbi } from './chain/consentRegistryAbi.ts';
import { readProvider, type Deployment } from './chain/registry.ts';
import { profileCommitment, profileDigest, profileTypedData, type DirectoryProfile } from './directory.ts';
import { MedkeyError } from './errors.ts';
import type { Wallet } from './wallet.ts';
import type { EncryptionKeyPair } from './walletKey.ts';

/** What a provider types in; the rest (its address, key and the time) the app fills in. */
export type ProfileFields = Omit<DirectoryProfile, 'provider' | 'encryption_key' | 'issued_at'>;

/** Signs `fields` as the wallet's profile (with its encryption key) and applies. */
export async function applyAsProvider(
  vault: VaultClient,
  wallet: Wallet,
  keys: Pick<EncryptionKeyPair, 'publicKey'>,
  deployment: Deployment,
  fields: ProfileFields,
): Promise<Schemas['ApplicationView']> {
  const profile: DirectoryProfile = {
    ...fields,
    provider: wallet.address,
    encryption_key: bytesToHex(keys.publicKey),
    issued_at: Math.floor(Date.now() / 1000),
  };
  const signature = await wallet.signTypedData(profileTypedData(profile, deployment));
  return vault.applyAsProvider({ profile, signature });
}

/** Where the registrar acts: its vault session, its wallet and the chain. */
export interface RegistrarContext {
  vault: VaultClient;
  wallet: Wallet;
  chain: Pick<PublicClient, 'readContract' | 'waitForTransactionReceipt' | 'getContractEvents'>;
  deployment: Deployment;
}

async function send(ctx: RegistrarContext, data: Hex): Promise<Hex> {
  const hash = await ctx.wallet.sendTransaction({ to: ctx.deployment.address, data, chainId: ctx.deployment.chainId });
  const receipt = await ctx.chain.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success')
    throw new MedkeyError(
      'reverted',
      'The registry refused the transaction. Reload the page to see the current state.',
    );
  return hash;
}

/** Checks the application, registers the provider (or commits to its new profile) and lists it. */
export async function approveApplication(
  ctx: RegistrarContext,
  application: Schemas['ApplicationView'],
): Promise<Schemas['ApplicationView']> {
  const profile = application.profile;
  const signer = await recoverAddress({
    hash: profileDigest(profile, ctx.deployment),
    signature: application.signature as Hex,
  });
  if (signer.toLowerCase() !== profile.provider.toLowerCase()) {
    throw new MedkeyError(
      'bad_application',
      'The applicant did not sign this profile, so it was not approved. Decline it.',
    );
  }
  const hash = profileCommitment(profile, ctx.deployment);
  if (hash.toLowerCase() !== application.profile_hash.toLowerCase()) {
    throw new MedkeyError(
      'bad_application',
      'The vault’s profile hash does not match the profile, so nothing was sent.',
    );
  }
  const known = await readProvider(ctx.chain, ctx.deployment, profile.provider as Address);
  const data =
    known.status === 'unregistered'
      ? encodeFunctionData({
          abi: consentRegistryAbi,
          functionName: 'registerProvider',
          args: [profile.provider as Address, profile.encryption_key as Hex, hash],
        })
      : encodeFunctionData({
          abi: consentRegistryAbi,
          functionName: 'updateProviderProfile',
          args: [profile.provider as Address, hash],
        });
  await send(ctx, data);
  // The vault lists it once its mirror has the block.
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.vault.confirmApplication(application.id);
    } catch (err) {
      if (!(err instanceof MedkeyError && err.code === 'not_on_chain') || attempt >= 60) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Suspends (or reinstates) a provider with `reason`: the words kept by the vault, the hash on chain. */
export async function setProviderSuspended(
  ctx: RegistrarContext,
  provider: Address,
  suspend: boolean,
  reason: string,
): Promise<Hex> {
  const stored = await ctx.vault.addRegistryReason(reason);
  const hash = keccak256(toBytes(stored.reason));
  if (hash.toLowerCase() !== stored.reason_hash.toLowerCase()) {
    throw new MedkeyError('bad_reason', 'The vault stored the reason under another hash, so nothing was sent.');
  }
  const data = encodeFunctionData({
    abi: consentRegistryAbi,
    functionName: suspend ? 'suspendProvider' : 'reinstateProvider',
    args: [provider, hash],
  });
  return send(ctx, data);
}
