// Sharing, in plain words: what a grant means before it is signed, and the keys of existing
// records wrapped for the provider after. Pure helpers and one workflow; no React.

import {
  grantViaRelay,
  providerEncryptionKey,
  readProvider,
  revokeViaRelay,
  wrapExistingRecords,
  type Category,
  type Deployment,
  type EncryptionKeyPair,
  type GrantRequest,
  type RegisteredProvider,
  type Schemas,
  type VaultClient,
  type Wallet,
} from '@medkey/client';
import { formatDate } from '@medkey/fhir-display';
import type { Address, Hex, PublicClient } from 'viem';
import { CATEGORY_LABELS, PURPOSE_LABELS } from '@medkey/app-shell';
export { PURPOSE_LABELS };

/** One line per sensitive category, shown beside its checkbox. */
export const SENSITIVE_WARNINGS: Partial<Record<Category, string>> = {
  mental_health: 'Diagnoses, therapy and psychiatric care. Share only with a provider who needs them.',
  substance_use: 'Alcohol and drug treatment. Many laws protect these records specially.',
  sexual_reproductive_health: 'Pregnancy, contraception, sexual health. Share only if you are sure.',
  genetics: 'Your genes also say something about your family.',
};

export const DURATIONS = [
  { label: '1 week', days: 7 },
  { label: '1 month', days: 30 },
  { label: '3 months', days: 91 },
  { label: '1 year', days: 365 },
] as const;

export function listOf(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** What signing the grant means, said before the signature is asked for. */
export function grantSummary(
  providerName: string,
  categories: Category[],
  until: Date,
  write = false,
  showWho = true,
): string[] {
  const what = listOf(categories.map((c) => CATEGORY_LABELS[c].toLowerCase()));
  return [
    `${providerName} can read your ${what} until ${formatDate(until)}.`,
    showWho
      ? `${providerName} also sees who you are (your name and date of birth, from your personal details), and the vault logs it.`
      : `${providerName} will not see who you are (your name and date of birth): the vault refuses it to them.`,
    ...(write
      ? [
          `${providerName} can also add records to your ${what} until then. Each shows it was added by ${providerName}; you can erase any of them.`,
        ]
      : []),
    `Anyone can see on the public chain that you shared ${what} with ${providerName}; nobody can see the records themselves.`,
    'You can stop sharing at any time. What the provider has already opened stays with them.',
  ];
}

export interface ShareContext {
  vault: VaultClient;
  wallet: Wallet;
  chain: PublicClient;
  deployment: Deployment;
  keys: EncryptionKeyPair;
}

export function lookUpProvider(
  ctx: Pick<ShareContext, 'chain' | 'deployment'>,
  address: Address,
): Promise<RegisteredProvider> {
  return readProvider(ctx.chain, ctx.deployment, address);
}

/** Her own Patient records: who she is (a Patient record a provider wrote is not). */
export const identityRecords = (records: Schemas['RecordView'][]) =>
  records.filter(
    (r) => !r.erased && r.resource_type === 'Patient' && r.created_by.toLowerCase() === r.owner.toLowerCase(),
  );

/**
 * Signs the grant (one EIP-712 signature, relayed: no fee), then wraps the key of each of her
 * records in those categories for the provider (500 to a fetch), reporting progress. `showWho`:
 * her own Patient record goes to the provider too (the vault releases it under any grant of
 * hers unless she hid it, and logs it); otherwise the vault is told to refuse it to them.
 */
export async function share(
  ctx: ShareContext,
  request: GrantRequest,
  records: Schemas['RecordView'][],
  progress: (done: number, total: number) => void,
  showWho = true,
): Promise<{ grantId: Hex; shared: number }> {
  const providerKey = await providerEncryptionKey(ctx.chain, ctx.deployment, request.provider);
  // Decided before signing: a refusal to hide must not leave a grant that shows who she is.
  await ctx.vault.setIdentityShown(request.provider, showWho);
  const { grantId } = await grantViaRelay(ctx.vault, ctx.wallet, ctx.deployment, request);
  const inCategories = records.filter((r) => !r.erased && request.categories.includes(r.category as Category));
  const who = showWho ? identityRecords(records).filter((r) => !inCategories.includes(r)) : [];
  const covered = [...inCategories, ...who];
  await wrapExistingRecords(
    ctx.vault,
    ctx.keys.secret,
    covered,
    [{ address: request.provider, publicKey: providerKey }],
    progress,
  );
  return { grantId, shared: covered.length };
}

export function stopSharing(ctx: ShareContext, grantId: Hex) {
  return revokeViaRelay(ctx.vault, ctx.wallet, ctx.deployment, grantId);
}
