// The test wallet: a browser-style EIP-1193 wallet signing with a key the test holds
// (src/localWallet.ts), anvil's chain id unless told otherwise.
import type { EIP1193Provider, LocalAccount } from 'viem';
import { localWallet, type LocalWalletOptions } from '../src/localWallet.ts';

export type TestWalletOptions = Partial<LocalWalletOptions>;

export function testWallet(account: LocalAccount, options: TestWalletOptions = {}): EIP1193Provider {
  return localWallet(account, { chainId: 31337, ...options });
}
