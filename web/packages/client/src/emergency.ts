// Break-glass: the categories an emergency provider may open (on chain, set by the patient's own
// transaction), the providers she names (kept by the vault, addresses only), and the keys of her
// records in those categories wrapped for them ahead of time: released only under an emergency
// grant, each release logged.

import { encodeFunctionData, keccak256, parseEventLogs, toBytes, type Address, type PublicClient } from 'viem';
import type { VaultClient } from './api/client.ts';
import { consentRegistryAbi, providerEncryptionKey, type Deployment } from './chain/registry.ts';
import { categoriesOf, categoryMask, type Category } from './consent.ts';
import { MedkeyError } from './errors.ts';
import { wrapExistingRecords } from './records.ts';
import type { Wallet } from './wallet.ts';

export interface EmergencySettings {
  categories: Category[];
  providers: Address[];
}

export async function readEmergency(
  vault: VaultClient,
  chain: Pick<PublicClient, 'readContract'>,
  deployment: Deployment,
  patient: Address,
): Promise<EmergencySettings> {
  const mask = await chain.readContract({
    address: deployment.address,
    abi: consentRegistryAbi,
    functionName: 'emergencyCategories',
    args: [patient],
  });
  const { providers } = await vault.emergencyProviders();
  return { categories: categoriesOf(Number(mask)), providers: providers as Address[] };
}

/**
 * Sets her break-glass choice: one transaction from her wallet (it pays the network fee), then
 * the provider list, then the keys of her existing records in those categories wrapped for them.
 */
export async function setEmergency(
  ctx: { vault: VaultClient; wallet: Wallet; chain: PublicClient; deployment: Deployment; secret: Uint8Array },
  settings: EmergencySettings,
  progress: (done: number, total: number) => void = () => {},
): Promise<number> {
  const keys = await Promise.all(
    settings.providers.map(async (address) => ({
      address,
      publicKey: await providerEncryptionKey(ctx.chain, ctx.deployment, address),
    })),
  );
  const data = encodeFunctionData({
    abi: consentRegistryAbi,
    functionName: 'setEmergencyAccess',
    args: [categoryMask(settings.categories)],
  });
  const hash = await ctx.wallet.sendTransaction({ to: ctx.deployment.address, data, chainId: ctx.deployment.chainId });
  const receipt = await ctx.chain.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') {
    throw new MedkeyError(
      'transaction_failed',
      'The registry refused the change (the transaction failed). Nothing was changed; try again.',
    );
  }
  await ctx.vault.setEmergencyProviders({ providers: settings.providers });
  if (keys.length === 0) return 0;
  const mine = (await ctx.vault.listRecords()).filter(
    (r) => !r.erased && settings.categories.includes(r.category as Category),
  );
  return wrapExistingRecords(ctx.vault, ctx.secret, mine, keys, progress);
}

/** A break-glass grant a provider opened: its end, and the reason's hash the chain carries. */
export interface EmergencyOpened {
  expiresAt: Date;
  reasonHash: `0x${string}`;
}

/**
 * Opens a 4-hour break-glass grant to `patient` from the provider's wallet. The reason's hash goes
 * on chain for anyone to see (the words stay with the provider); the registry refuses a patient
 * who has not opted in, and this says so before any transaction.
 */
export async function openEmergencyAccess(
  wallet: Wallet,
  chain: Pick<PublicClient, 'readContract' | 'waitForTransactionReceipt'>,
  deployment: Deployment,
  patient: Address,
  reason: string,
): Promise<EmergencyOpened> {
  const words = reason.trim();
  if (words.length < 10)
    throw new MedkeyError(
      'missing_reason',
      'Say why you need emergency access (at least 10 characters): it is recorded publicly.',
    );
  const mask = await chain.readContract({
    address: deployment.address,
    abi: consentRegistryAbi,
    functionName: 'emergencyCategories',
    args: [patient],
  });
  if (Number(mask) === 0) {
    throw new MedkeyError(
      'emergency_disabled',
      'This patient has not allowed emergency access. Ask her, or someone she named, for a grant instead.',
    );
  }
  const reasonHash = keccak256(toBytes(words));
  const data = encodeFunctionData({
    abi: consentRegistryAbi,
    functionName: 'openEmergencyAccess',
    args: [patient, reasonHash],
  });
  const hash = await wallet.sendTransaction({ to: deployment.address, data, chainId: deployment.chainId });
  const receipt = await chain.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success')
    throw new MedkeyError('reverted', 'The registry refused emergency access (are you registered and active?).');
  const [opened] = parseEventLogs({ abi: consentRegistryAbi, logs: receipt.logs, eventName: 'EmergencyAccessOpened' });
  if (!opened) throw new MedkeyError('reverted', 'The registry did not open emergency access.');
  return { expiresAt: new Date(Number(opened.args.expiresAt) * 1000), reasonHash };
}
