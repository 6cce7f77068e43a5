// An EIP-1193 provider over a key held in this process (viem's local account): what the built-in
// dev wallet of a local chain and the test wallets are. It answers what a browser wallet answers
// (accounts, chain id, personal_sign, eth_signTypedData_v4, eth_sendTransaction) and sends
// everything else to the chain's RPC; it never hands out the key.

import {
  createWalletClient,
  hashMessage,
  hexToBytes,
  http,
  type EIP1193Provider,
  type Hex,
  type LocalAccount,
} from 'viem';

export interface LocalWalletOptions {
  chainId: number;
  /** The chain's RPC, for transactions and reads; without it only signing works. */
  rpcUrl?: string;
  /** Replaces personal_sign (to act like a misbehaving wallet in tests). */
  personalSign?: (message: { text: Hex; hash: Hex }) => Promise<Hex>;
}

export function localWallet(account: LocalAccount, options: LocalWalletOptions): EIP1193Provider {
  const { chainId, rpcUrl } = options;
  const chain = {
    id: chainId,
    name: `Chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: rpcUrl ? [rpcUrl] : [] } },
  };
  const client = rpcUrl ? createWalletClient({ account, chain, transport: http(rpcUrl) }) : undefined;
  const needsRpc = (method: string) => Object.assign(new Error(`${method} needs the chain's RPC`), { code: 4200 });
  const request = async ({ method, params }: { method: string; params?: unknown }): Promise<unknown> => {
    const args = (params ?? []) as unknown[];
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return [account.address];
      case 'eth_chainId':
        return `0x${chainId.toString(16)}`;
      case 'personal_sign': {
        const text = args[0] as Hex;
        if (options.personalSign) return options.personalSign({ text, hash: hashMessage({ raw: hexToBytes(text) }) });
        return account.signMessage({ message: { raw: text } });
      }
      case 'eth_signTypedData_v4':
        return account.signTypedData(JSON.parse(args[1] as string));
      case 'eth_sendTransaction': {
        if (!client) throw needsRpc(method);
        const tx = args[0] as { to: Hex; data: Hex };
        return client.sendTransaction({ to: tx.to, data: tx.data });
      }
      default:
        if (!client) throw needsRpc(method);
        return client.request({ method, params } as never);
    }
  };
  return { request, on: () => undefined, removeListener: () => undefined } as unknown as EIP1193Provider;
}
