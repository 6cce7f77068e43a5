import { Button, Stack } from '@mantine/core';
import type { WalletChoice } from './wallets.ts';

/** The wallets found in this browser, one button each; a dev wallet says it is for testing only. */
export function WalletList({
  wallets,
  busy,
  onPick,
}: {
  wallets: WalletChoice[];
  busy: boolean;
  onPick: (wallet: WalletChoice) => void;
}) {
  return (
    <>
      {wallets.length === 0 && (
        <p>No wallet found in this browser. Install a wallet such as MetaMask or Rabby, then reload this page.</p>
      )}
      <Stack component="ul" className="wallets" gap="sm">
        {wallets.map((wallet) => (
          <li key={wallet.id}>
            <Button
              type="button"
              variant="default"
              onClick={() => onPick(wallet)}
              disabled={busy}
              leftSection={wallet.icon ? <img src={wallet.icon} alt="" width={24} height={24} /> : undefined}
            >
              {wallet.name}
            </Button>
            {wallet.dev && (
              <p className="hint">
                For trying Medkey on a local test chain. Its keys are public: never use it for real records.
              </p>
            )}
          </li>
        ))}
      </Stack>
    </>
  );
}
