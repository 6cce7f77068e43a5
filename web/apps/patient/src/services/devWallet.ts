// The built-in dev wallet: anvil's first patient account, whose key is public knowledge. Offered
// only when the server runs a local development chain, so a newcomer can try Medkey without
// installing a wallet. Never use it for real records.
import { createWalletClient, http, type EIP1193Provider, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { WalletChoice } from './wallets.ts';

/** anvil's account 1 (the walkthrough's patient). */
const ANVIL_PATIENT_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

export function devWallet(rpcUrl: string, chainId: number): WalletChoice {
  const account = privateKeyToAccount(ANVIL_PATIENT_KEY);
  const chain = { id: chainId, name: 'Local dev chain', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } };
  const client = createWalletClient({ account, chain, transport: http(rpcUrl) });
  const request = async ({ method, params }: { method: string; params?: unknown }): Promise<unknown> => {
    const args = (params ?? []) as unknown[];
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return [account.address];
      case 'eth_chainId':
        return `0x${chainId.toString(16)}`;
      case 'personal_sign':
        return account.signMessage({ message: { raw: args[0] as Hex } });
      case 'eth_signTypedData_v4':
        return account.signTypedData(JSON.parse(args[1] as string));
      case 'eth_sendTransaction': {
        const tx = args[0] as { to: Hex; data: Hex };
        return client.sendTransaction({ to: tx.to, data: tx.data });
      }
      default:
        return client.request({ method, params } as never);
    }
  };
  const provider = { request, on: () => undefined, removeListener: () => undefined } as unknown as EIP1193Provider;
  return { id: 'medkey-dev', name: 'Dev wallet (local test chain only)', provider, dev: true };
}
