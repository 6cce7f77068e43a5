// Connecting a wallet and signing in to the vault that serves this page, the same in every app:
// the wallet's account, the right network (asking the wallet to switch), one SIWE signature
// (and a second factor when the vault asks), and a chain client over the wallet's own RPC.
import { MedkeyError, VaultClient, VaultSession, Wallet } from '@medkey/client';
import { createPublicClient, custom, type PublicClient } from 'viem';
import type { AppConfig } from './config.ts';
import type { WalletChoice } from './wallets.ts';

export interface SignedIn {
  wallet: Wallet;
  vault: VaultClient;
  session: VaultSession;
  chain: PublicClient;
}

export async function connectAndSignIn(
  choice: WalletChoice,
  config: AppConfig,
  secondFactor?: () => Promise<{ totp: string } | { recovery_code: string }>,
): Promise<SignedIn> {
  const wallet = await Wallet.connect(choice.provider);
  const chainId = await wallet.chainId();
  if (chainId !== config.chain_id) {
    try {
      await choice.provider.request({
        method: 'wallet_switchEthereumChain',
        params: [{ chainId: `0x${config.chain_id.toString(16)}` }],
      });
    } catch {
      throw new MedkeyError(
        'wrong_chain',
        `Your wallet is on network ${chainId}; this Medkey serves network ${config.chain_id}. Switch networks in your wallet and try again.`,
      );
    }
  }
  const vault = new VaultClient(window.location.origin);
  const session = await VaultSession.signIn(vault, wallet, {
    chainId: config.chain_id,
    domain: window.location.host,
    ...(secondFactor ? { secondFactor } : {}),
  });
  return { wallet, vault, session, chain: createPublicClient({ transport: custom(choice.provider) }) };
}
