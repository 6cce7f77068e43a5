// An EIP-1193 provider that behaves like a browser wallet extension: it answers
// eth_requestAccounts, eth_chainId, personal_sign, eth_signTypedData_v4 and eth_sendTransaction,
// signs inside itself and never hands its key to the page; anything else goes to the chain's RPC.

import { createWalletClient, hashMessage, hexToBytes, http, type EIP1193Provider, type Hex, type PrivateKeyAccount } from 'viem';
import { foundry } from 'viem/chains';

export interface TestWalletOptions {
  chainId?: number;
  rpcUrl?: string;
  /** Replaces personal_sign (to act like a misbehaving wallet). */
  personalSign?: (message: { text: Hex; hash: Hex }) => Promise<Hex>;
}

export function testWallet(account: PrivateKeyAccount, options: TestWalletOptions = {}): EIP1193Provider {
  const chainId = options.chainId ?? 31337;
  const rpc = options.rpcUrl;
  const sender = rpc
    ? createWalletClient({ account, chain: { ...foundry, id: chainId }, transport: http(rpc) })
    : undefined;
  let nextId = 1;
  const forward = async (method: string, params: unknown) => {
    if (!rpc) throw Object.assign(new Error(`test wallet: ${method} needs an RPC`), { code: 4200 });
    const response = await fetch(rpc, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: params ?? [] }),
    });
    const body = (await response.json()) as { result?: unknown; error?: { message: string; code: number } };
    if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code });
    return body.result;
  };
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
      case 'eth_signTypedData_v4': {
        const typed = JSON.parse(args[1] as string);
        return account.signTypedData(typed);
      }
      case 'eth_sendTransaction': {
        if (!sender) throw Object.assign(new Error('test wallet: no RPC to send to'), { code: 4200 });
        const tx = args[0] as { to: Hex; data: Hex };
        return sender.sendTransaction({ to: tx.to, data: tx.data });
      }
      default:
        return forward(method, params);
    }
  };
  return { request, on: () => undefined, removeListener: () => undefined } as unknown as EIP1193Provider;
}
