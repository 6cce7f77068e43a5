import { WalletList } from '@medkey/app-shell';
import { useAdminApp } from '../useAdminApp.ts';

export function ConnectScreen() {
  const [state, app] = useAdminApp();
  return (
    <section aria-labelledby="connect-title">
      <h1 id="connect-title">Medkey registry console</h1>
      <p>
        For the registry’s role holders: review provider applications, suspend and reinstate providers, pause new
        grants. Every decision is a transaction from your own wallet, and every call is in the audit log.
      </p>
      <h2>Connect your wallet</h2>
      <WalletList wallets={state.wallets} busy={Boolean(state.busy)} onPick={(wallet) => void app.connect(wallet)} />
    </section>
  );
}
