// An account of the dev stack signed in to its vault from Node, as a test checks what the vault
// holds from the account's own side: its wallet, its vault session and its encryption key.
import { privateKeyToAccount } from 'viem/accounts';
import { VaultClient, VaultSession, Wallet, deriveEncryptionKey } from '../src/index.ts';
import type { DevStack } from './devStack.ts';
import { testWallet } from './testWallet.ts';

export async function signedInAs(stack: DevStack, privateKey: `0x${string}`) {
  const account = privateKeyToAccount(privateKey);
  const wallet = await Wallet.connect(testWallet(account, { rpcUrl: stack.rpcUrl, chainId: stack.chainId }));
  const vault = new VaultClient(stack.vaultUrl);
  await VaultSession.signIn(vault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
  return { vault, wallet, address: account.address, keys: await deriveEncryptionKey(wallet) };
}
