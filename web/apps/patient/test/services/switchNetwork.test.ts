// A wallet on another network is asked to switch; one that does not know the network is asked
// to add it when this server names an RPC for it (a dev chain), and told in words otherwise.
import { switchNetwork, type AppConfig, type WalletChoice } from '@medkey/app-shell';
import { describe, expect, it } from 'vitest';

const config = (devRpc: string | null): AppConfig => ({
  chain_id: 31337,
  registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  audit_key: '',
  dev_rpc_url: devRpc,
});

/** A wallet that records what it was asked and answers switch requests with `switchError` (if any). */
function wallet(switchError?: { code: number; message: string }) {
  const asked: string[] = [];
  const choice = {
    name: 'Test',
    provider: {
      request: async ({ method }: { method: string }) => {
        asked.push(method);
        if (method === 'wallet_switchEthereumChain' && switchError) throw switchError;
        return null;
      },
    },
  } as unknown as WalletChoice;
  return { asked, choice };
}

describe('switchNetwork', () => {
  it('switches a wallet that knows the network', async () => {
    const { asked, choice } = wallet();
    await switchNetwork(choice, config(null), 1);
    expect(asked).toEqual(['wallet_switchEthereumChain']);
  });

  it('offers to add the network to a wallet that does not know it, when the server names its RPC', async () => {
    const { asked, choice } = wallet({ code: 4902, message: 'Unrecognized chain ID' });
    await switchNetwork(choice, config('http://127.0.0.1:8545'), 1);
    expect(asked).toEqual(['wallet_switchEthereumChain', 'wallet_addEthereumChain']);
  });

  it('says what to do when the network cannot be added or the switch is declined', async () => {
    const unknown = wallet({ code: 4902, message: 'Unrecognized chain ID' });
    await expect(switchNetwork(unknown.choice, config(null), 1)).rejects.toThrow(
      'Your wallet does not know network 31337, which this Medkey uses.',
    );
    const declined = wallet({ code: 4001, message: 'User rejected' });
    await expect(switchNetwork(declined.choice, config('http://127.0.0.1:8545'), 1)).rejects.toThrow(
      'Your wallet is on network 1; this Medkey serves network 31337.',
    );
    expect(declined.asked).toEqual(['wallet_switchEthereumChain']);
  });
});
