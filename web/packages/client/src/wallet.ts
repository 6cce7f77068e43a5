// The person's wallet, seen only through EIP-1193: it signs and sends, and never shows a key.

import {
  createWalletClient,
  custom,
  getAddress,
  type Address,
  type EIP1193Provider,
  type Hex,
  type TypedDataDefinition,
  type WalletClient,
} from 'viem';
import { MedkeyError } from './errors.ts';

export type { EIP1193Provider };

/** One account of one wallet, as the library uses it. */
export class Wallet {
  private constructor(
    readonly provider: EIP1193Provider,
    readonly address: Address,
    private readonly client: WalletClient,
  ) {}

  /** Asks the wallet for its accounts (`eth_requestAccounts`) and uses the first, or `account`. */
  static async connect(provider: EIP1193Provider, account?: Address): Promise<Wallet> {
    const accounts = (await provider.request({ method: 'eth_requestAccounts' })) as Address[];
    if (!accounts || accounts.length === 0) {
      throw new MedkeyError('no_account', 'The wallet shared no account. Unlock it, choose an account and try again.');
    }
    const address = getAddress(account ?? accounts[0]!);
    if (!accounts.some((a) => getAddress(a) === address)) {
      throw new MedkeyError('no_account', `The wallet does not offer account ${address}. Switch to it in the wallet.`);
    }
    return new Wallet(provider, address, createWalletClient({ account: address, transport: custom(provider) }));
  }

  async chainId(): Promise<number> {
    return Number(await this.provider.request({ method: 'eth_chainId' }));
  }

  /** EIP-191 `personal_sign` of a text the person reads in the wallet. */
  signMessage(message: string): Promise<Hex> {
    return this.client.signMessage({ account: this.address, message });
  }

  /** EIP-712 `eth_signTypedData_v4`. */
  signTypedData(typed: TypedDataDefinition): Promise<Hex> {
    return this.client.signTypedData({ account: this.address, ...typed } as Parameters<
      WalletClient['signTypedData']
    >[0]);
  }

  /** `eth_sendTransaction`; returns the transaction hash. */
  sendTransaction(tx: { to: Address; data: Hex; chainId: number }): Promise<Hex> {
    return this.provider.request({
      method: 'eth_sendTransaction',
      params: [{ from: this.address, to: tx.to, data: tx.data, chainId: `0x${tx.chainId.toString(16)}` }],
    }) as Promise<Hex>;
  }
}
