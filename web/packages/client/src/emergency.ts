// Break-glass: the categories an emergency provider may open (on chain, set by the patient's own
// transaction), the providers she names (kept by the vault, addresses only), and the keys of her
// records in those categories wrapped for them ahead of time: released only under an emergency
// grant, each release logged.

import { encodeFunctionData, type Address, type PublicClient } from 'viem';
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
  const mask = await chain.readContract({ address: deployment.address, abi: consentRegistryAbi, functionName: 'emergencyCategories', args: [patient] });
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
    settings.providers.map(async (address) => ({ address, publicKey: await providerEncryptionKey(ctx.chain, ctx.deployment, address) })),
  );
  const data = encodeFunctionData({ abi: consentRegistryAbi, functionName: 'setEmergencyAccess', args: [categoryMask(settings.categories)] });
  const hash = await ctx.wallet.sendTransaction({ to: ctx.deployment.address, data, chainId: ctx.deployment.chainId });
  const receipt = await ctx.chain.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') {
    throw new MedkeyError('transaction_failed', 'The registry refused the change (the transaction failed). Nothing was changed; try again.');
  }
  await ctx.vault.setEmergencyProviders({ providers: settings.providers });
  if (keys.length === 0) return 0;
  const mine = (await ctx.vault.listRecords()).filter((r) => !r.erased && settings.categories.includes(r.category as Category));
  return wrapExistingRecords(ctx.vault, ctx.secret, mine, keys, progress);
}
