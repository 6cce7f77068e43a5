// The provider directory on the client: the EIP-712 profile a provider signs, the commitment the
// registry stores (the digest's first 31 bytes), and the checks every app makes before it shows
// a directory entry. The vault is not trusted with who a provider is: an entry is shown as
// verified only when the provider signed it, the registry committed to it, and the encryption
// key and status match the chain. Mirrors protocol/src/directory (Rust); the cross vectors pin both.

import {
  hashTypedData,
  keccak256,
  recoverAddress,
  slice,
  toBytes,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import type { Schemas } from './api/client.ts';
import { consentRegistryAbi } from './chain/consentRegistryAbi.ts';
import type { Deployment } from './chain/registry.ts';
import taxonomy from '../../../../protocol/src/directory/nucc_taxonomy.json';

export type DirectoryProfile = Schemas['DirectoryProfile'];
export type DirectoryEntry = Schemas['DirectoryEntry'];

/** The EIP-712 type, field for field as in the Rust `ProviderProfile` and the docs. */
export const providerProfileTypes = {
  ProviderProfile: [
    { name: 'provider', type: 'address' },
    { name: 'encryptionKey', type: 'bytes32' },
    { name: 'displayName', type: 'string' },
    { name: 'organization', type: 'string' },
    { name: 'npi', type: 'string' },
    { name: 'taxonomy', type: 'string' },
    { name: 'city', type: 'string' },
    { name: 'country', type: 'string' },
    { name: 'website', type: 'string' },
    { name: 'phone', type: 'string' },
    { name: 'email', type: 'string' },
    { name: 'issuedAt', type: 'uint64' },
  ],
} as const;

/** What `eth_signTypedData_v4` signs for `profile`, in the registry's domain. */
export function profileTypedData(profile: DirectoryProfile, deployment: Deployment) {
  return {
    domain: {
      name: 'Medkey ConsentRegistry',
      version: '1',
      chainId: deployment.chainId,
      verifyingContract: deployment.address,
    },
    types: providerProfileTypes,
    primaryType: 'ProviderProfile' as const,
    message: {
      provider: profile.provider as Address,
      encryptionKey: profile.encryption_key as Hex,
      displayName: profile.display_name,
      organization: profile.organization,
      npi: profile.npi,
      taxonomy: profile.taxonomy,
      city: profile.city,
      country: profile.country,
      website: profile.website,
      phone: profile.phone,
      email: profile.email,
      issuedAt: BigInt(profile.issued_at),
    },
  };
}

export function profileDigest(profile: DirectoryProfile, deployment: Deployment): Hex {
  return hashTypedData(profileTypedData(profile, deployment));
}

/** What the registry stores for a profile: the first 31 bytes of its digest. */
export function profileCommitment(profile: DirectoryProfile, deployment: Deployment): Hex {
  return slice(profileDigest(profile, deployment), 0, 31);
}

/** The name of a NUCC taxonomy code, when Medkey knows it. */
export function specialtyName(code: string): string | undefined {
  return (taxonomy.codes as Record<string, string>)[code];
}

/** Every named specialty, by name. */
export function namedSpecialties(): { code: string; name: string }[] {
  return Object.entries(taxonomy.codes as Record<string, string>)
    .map(([code, name]) => ({ code, name }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The NPI check digit (Luhn over 80840 + the first nine digits), as the vault checks it. */
export function npiIsValid(npi: string): boolean {
  if (!/^[0-9]{10}$/.test(npi)) return false;
  const digits = `80840${npi.slice(0, 9)}`.split('').map(Number);
  let sum = 0;
  digits.reverse().forEach((d, i) => {
    const doubled = i % 2 === 0 ? d * 2 : d;
    sum += doubled > 9 ? doubled - 9 : doubled;
  });
  return (10 - (sum % 10)) % 10 === Number(npi[9]);
}

/** The registry's latest suspension or reinstatement of `provider`, from the chain's own events. */
async function latestRegistryAction(
  chain: Pick<PublicClient, 'getContractEvents'>,
  deployment: Deployment,
  provider: Address,
): Promise<{ kind: 'suspended' | 'reinstated'; reasonHash: string } | undefined> {
  const [suspended, reinstated] = await Promise.all(
    (['ProviderSuspended', 'ProviderReinstated'] as const).map((eventName) =>
      chain.getContractEvents({
        address: deployment.address,
        abi: consentRegistryAbi,
        eventName,
        args: { provider },
        fromBlock: 0n,
      }),
    ),
  );
  const order = (log: { blockNumber: bigint | null; logIndex: number | null }) =>
    [log.blockNumber ?? 0n, BigInt(log.logIndex ?? 0)] as const;
  const tagged = [
    ...(suspended ?? []).map((log) => ({ kind: 'suspended' as const, log })),
    ...(reinstated ?? []).map((log) => ({ kind: 'reinstated' as const, log })),
  ].sort((a, b) => {
    const [ab, ai] = order(a.log);
    const [bb, bi] = order(b.log);
    return ab === bb ? (ai < bi ? -1 : ai > bi ? 1 : 0) : ab < bb ? -1 : 1;
  });
  const last = tagged.at(-1);
  const reasonHash = (last?.log.args as { reasonHash?: string } | undefined)?.reasonHash;
  return last && reasonHash ? { kind: last.kind, reasonHash } : undefined;
}

export type Verdict = { verified: true } | { verified: false; problem: string };

/** Checks `entry` against the chain (see the module comment). Never throws. */
export async function checkDirectoryEntry(
  entry: DirectoryEntry,
  chain: Pick<PublicClient, 'readContract' | 'getContractEvents'>,
  deployment: Deployment,
): Promise<Verdict> {
  const profile = entry.profile;
  try {
    const signer = await recoverAddress({
      hash: profileDigest(profile, deployment),
      signature: entry.signature as Hex,
    });
    if (signer.toLowerCase() !== profile.provider.toLowerCase()) {
      return { verified: false, problem: 'the provider did not sign this profile' };
    }
  } catch {
    return { verified: false, problem: 'the profile’s signature cannot be checked' };
  }
  let onChain: { status: number; profileHash: Hex; encryptionKey: Hex };
  try {
    onChain = await chain.readContract({
      address: deployment.address,
      abi: consentRegistryAbi,
      functionName: 'getProvider',
      args: [profile.provider as Address],
    });
  } catch {
    return { verified: false, problem: 'the registry could not be asked' };
  }
  if (onChain.status === 0) return { verified: false, problem: 'the registry has never registered this provider' };
  if (onChain.profileHash.toLowerCase() !== profileCommitment(profile, deployment).toLowerCase()) {
    return { verified: false, problem: 'the registry committed to a different profile: this copy was changed' };
  }
  if (onChain.encryptionKey.toLowerCase() !== profile.encryption_key.toLowerCase()) {
    return { verified: false, problem: 'the provider’s key on chain is not the one in its profile' };
  }
  const status = onChain.status === 2 ? 'suspended' : 'active';
  if (entry.status !== status)
    return { verified: false, problem: `the vault says ${entry.status}, the registry says ${status}` };
  const action = entry.registry_action;
  if (action) {
    // The hash to compare with is the chain's own (the registry's latest suspension or
    // reinstatement of this provider), never the one the vault supplies beside its text.
    let onChainAction: { kind: string; reasonHash: string } | undefined;
    try {
      onChainAction = await latestRegistryAction(chain, deployment, profile.provider as Address);
    } catch {
      return { verified: false, problem: 'the registry could not be asked' };
    }
    if (
      !onChainAction ||
      onChainAction.kind !== action.kind ||
      onChainAction.reasonHash.toLowerCase() !== action.reason_hash.toLowerCase()
    ) {
      return { verified: false, problem: 'the registry’s last action on this provider is not the one shown' };
    }
    if (
      typeof action.reason === 'string' &&
      keccak256(toBytes(action.reason)).toLowerCase() !== onChainAction.reasonHash.toLowerCase()
    ) {
      return { verified: false, problem: 'the reason shown is not the one whose hash is on chain' };
    }
  }
  return { verified: true };
}

/** A checked entry: what an app shows. */
export interface CheckedEntry {
  entry: DirectoryEntry;
  verdict: Verdict;
}

/** The checked directory entries of `addresses` (unlisted ones left out), by address in lower case. */
export async function checkedNames(
  vault: { lookupDirectory(addresses: string[]): Promise<Schemas['DirectoryLookup']> },
  chain: Pick<PublicClient, 'readContract' | 'getContractEvents'>,
  deployment: Deployment,
  addresses: string[],
): Promise<Map<string, CheckedEntry>> {
  const unique = [...new Set(addresses.map((a) => a.toLowerCase()))];
  const found = new Map<string, CheckedEntry>();
  if (unique.length === 0) return found;
  const { providers } = await vault.lookupDirectory(unique);
  await Promise.all(
    providers.map(async (entry) => {
      found.set(entry.profile.provider.toLowerCase(), {
        entry,
        verdict: await checkDirectoryEntry(entry, chain, deployment),
      });
    }),
  );
  return found;
}
