import { WalletList } from '@medkey/app-shell';
import { useProviderApp } from '../useProviderApp.ts';

export function ConnectScreen() {
  const [state, app] = useProviderApp();
  return (
    <section aria-labelledby="connect-title">
      <h1 id="connect-title">Medkey for providers</h1>
      <p>
        Read what patients share with you, in this browser only, and ask them for access. You sign in with your
        practice’s wallet; nothing is paid and no password is stored anywhere.
      </p>
      <h2>Connect your wallet</h2>
      <WalletList wallets={state.wallets} busy={Boolean(state.busy)} onPick={(wallet) => void app.connect(wallet)} />
    </section>
  );
}
