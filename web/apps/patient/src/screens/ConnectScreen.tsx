import { WalletList } from '@medkey/app-shell';
import { usePatientApp } from '../usePatientApp.ts';

export function ConnectScreen() {
  const [state, app] = usePatientApp();
  return (
    <section aria-labelledby="connect-title">
      <h1 id="connect-title">Your medical records, in your hands</h1>
      <p>
        Medkey keeps your records encrypted. Only you, and the providers you choose, can read them. You sign in with
        your wallet; nothing is ever paid and no password is stored anywhere.
      </p>
      <h2>Connect your wallet</h2>
      <WalletList
        wallets={state.wallets}
        busy={Boolean(state.busy)}
        onPick={(wallet) => void app.login.connect(wallet)}
      />
    </section>
  );
}
