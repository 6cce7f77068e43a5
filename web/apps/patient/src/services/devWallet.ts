// The built-in dev wallet: anvil's first patient account, whose key is public knowledge. Offered
// only when the server runs a local development chain, so a newcomer can try Medkey without
// installing a wallet. Never use it for real records.
import { localWallet } from '@medkey/client';
import { privateKeyToAccount } from 'viem/accounts';
import type { WalletChoice } from './wallets.ts';

/** anvil's account 1 (the walkthrough's patient). */
const ANVIL_PATIENT_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

export function devWallet(rpcUrl: string, chainId: number): WalletChoice {
  const provider = localWallet(privateKeyToAccount(ANVIL_PATIENT_KEY), { chainId, rpcUrl });
  return { id: 'medkey-dev', name: 'Dev wallet (local test chain only)', provider, dev: true };
}
