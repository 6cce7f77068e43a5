import { usePatientApp } from '../usePatientApp.ts';

export function ConnectScreen() {
  const [state, app] = usePatientApp();
  return (
    <section aria-labelledby="connect-title">
      <h1 id="connect-title">Your medical records, in your hands</h1>
      <p>
        Medkey keeps your records encrypted. Only you, and the providers you choose, can read them. You sign in with your
        wallet; nothing is ever paid and no password is stored anywhere.
      </p>
      <h2>Connect your wallet</h2>
      {state.wallets.length === 0 && (
        <p>No wallet found in this browser. Install a wallet such as MetaMask or Rabby, then reload this page.</p>
      )}
      <ul className="wallets">
        {state.wallets.map((wallet) => (
          <li key={wallet.id}>
            <button type="button" onClick={() => void app.connect(wallet)} disabled={Boolean(state.busy)}>
              {wallet.icon && <img src={wallet.icon} alt="" width={24} height={24} />}
              {wallet.name}
            </button>
            {wallet.dev && <p className="hint">For trying Medkey on a local test chain. Its keys are public: never use it for real records.</p>}
          </li>
        ))}
      </ul>
    </section>
  );
}
