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
  if (chainId !== config.chain_id) await switchNetwork(choice, config, chainId);
  const vault = new VaultClient(window.location.origin);
  const session = await VaultSession.signIn(vault, wallet, {
    chainId: config.chain_id,
    domain: window.location.host,
    ...(secondFactor ? { secondFactor } : {}),
  });
  return { wallet, vault, session, chain: createPublicClient({ transport: custom(choice.provider) }) };
}

/** EIP-3326's code for a network the wallet does not know. */
const UNKNOWN_CHAIN = 4902;

/**
 * Asks the wallet to switch to the network this Medkey serves; a wallet that does not know it is
 * asked to add it (EIP-3085) when this server names an RPC for it (a local dev chain does).
 */
export async function switchNetwork(choice: WalletChoice, config: AppConfig, current: number): Promise<void> {
  const chainId = `0x${config.chain_id.toString(16)}`;
  try {
    await choice.provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId }] });
    return;
  } catch (err) {
    const code = (err as { code?: unknown } | undefined)?.code;
    if (code === UNKNOWN_CHAIN && config.dev_rpc_url) {
      try {
        await choice.provider.request({
          method: 'wallet_addEthereumChain',
          params: [
            {
              chainId,
              chainName: `Medkey local network ${config.chain_id}`,
              rpcUrls: [config.dev_rpc_url],
              nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
            },
          ],
        });
        return;
      } catch {
        // Said below, as any other refusal.
      }
    }
    throw new MedkeyError(
      'wrong_chain',
      code === UNKNOWN_CHAIN
        ? `Your wallet does not know network ${config.chain_id}, which this Medkey uses. Add it in your wallet (your Medkey operator gives its details), then try again.`
        : `Your wallet is on network ${current}; this Medkey serves network ${config.chain_id}. Switch networks in your wallet and try again.`,
    );
  }
}
