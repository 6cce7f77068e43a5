// Reads from the ConsentRegistry itself, never through the vault: a provider's encryption key
// comes from the chain, so a compromised vault cannot slip in a key of its own.

import { hexToBytes, type Address, type Hex, type PublicClient } from 'viem';
import { MedkeyError } from '../errors.ts';
import { consentRegistryAbi } from './consentRegistryAbi.ts';

export { consentRegistryAbi };

/** Where the registry lives: from the deployment file the app ships with, not from the vault. */
export interface Deployment {
  chainId: number;
  address: Address;
}

export type ProviderStatus = 'unregistered' | 'active' | 'suspended';

export interface RegisteredProvider {
  address: Address;
  status: ProviderStatus;
  encryptionKey: Uint8Array;
}

export async function readProvider(
  chain: Pick<PublicClient, 'readContract'>,
  deployment: Deployment,
  provider: Address,
): Promise<RegisteredProvider> {
  const info = await chain.readContract({
    address: deployment.address,
    abi: consentRegistryAbi,
    functionName: 'getProvider',
    args: [provider],
  });
  const status: ProviderStatus = info.status === 1 ? 'active' : info.status === 2 ? 'suspended' : 'unregistered';
  return { address: provider, status, encryptionKey: hexToBytes(info.encryptionKey) };
}

/** The key to wrap a record's data key to: only an active provider's, read from the chain. */
export async function providerEncryptionKey(
  chain: Pick<PublicClient, 'readContract'>,
  deployment: Deployment,
  provider: Address,
): Promise<Uint8Array> {
  const info = await readProvider(chain, deployment, provider);
  if (info.status === 'suspended') {
    throw new MedkeyError(
      'provider_suspended',
      `${provider} is suspended by the registry; nothing can be shared with it now.`,
    );
  }
  if (info.status !== 'active') {
    throw new MedkeyError(
      'not_a_provider',
      `${provider} is not a registered provider. Check the address with the clinic.`,
    );
  }
  return info.encryptionKey;
}

/** The audit-log head the operator last anchored on chain (size 0: none yet). */
export async function readAuditAnchor(
  chain: Pick<PublicClient, 'readContract'>,
  deployment: Deployment,
): Promise<{ size: number; root: Hex; anchoredAt: Date }> {
  const anchor = await chain.readContract({
    address: deployment.address,
    abi: consentRegistryAbi,
    functionName: 'latestAuditAnchor',
  });
  return { size: Number(anchor.size), root: anchor.root, anchoredAt: new Date(Number(anchor.anchoredAt) * 1000) };
}
