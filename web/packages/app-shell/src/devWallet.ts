// Built-in dev wallets: anvil accounts whose keys are public knowledge. Offered only when the
// server runs a local development chain, so a newcomer can try Medkey without installing a
// wallet. Never use them for real records.
import { localWallet } from '@medkey/client';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { loadConfig, type AppConfig } from './config.ts';
import { discoverWallets, type WalletChoice } from './wallets.ts';

/** anvil's well-known dev accounts, by their part in `medkey dev`. */
export const ANVIL_KEYS = {
  /** Account 0: deployed the registry, holds every role (the registrar). */
  admin: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  /** Account 1: the walkthrough's patient. */
  patient: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  /** Account 3: the demo clinic, registered and listed. */
  clinic: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  /** Account 4: not registered, free to apply. */
  newcomer: '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
} as const satisfies Record<string, Hex>;

/** A dev wallet named `name` on screen (say which account it is, and that it is for testing). */
export function devWallet(rpcUrl: string, chainId: number, key: Hex, name: string): WalletChoice {
  const provider = localWallet(privateKeyToAccount(key), { chainId, rpcUrl });
  return { id: `medkey-dev-${key.slice(2, 10)}`, name, provider, dev: true };
}

/**
 * The deployment this page is served for and the wallets to offer: the browser's own, and on a
 * local development chain only, these dev wallets.
 */
export async function configAndWallets(
  dev: { key: Hex; name: string }[],
): Promise<{ config: AppConfig; wallets: WalletChoice[] }> {
  const config = await loadConfig();
  const wallets = await discoverWallets();
  if (config.dev_rpc_url)
    for (const d of dev) wallets.push(devWallet(config.dev_rpc_url, config.chain_id, d.key, d.name));
  return { config, wallets };
}
