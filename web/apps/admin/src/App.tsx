import { useEffect, useMemo } from 'react';
import { ApplicationsScreen } from './screens/ApplicationsScreen.tsx';
import { ConnectScreen } from './screens/ConnectScreen.tsx';
import { ProvidersScreen } from './screens/ProvidersScreen.tsx';
import { RegistryScreen } from './screens/RegistryScreen.tsx';
import { AdminApp } from './services/admin.ts';
import { AppContext, useAdminApp } from './useAdminApp.ts';

function Screens() {
  const [state, app] = useAdminApp();
  useEffect(() => void app.start(), [app]);
  const registrar = state.roles.includes('registrar');
  return (
    <>
      <header>
        <span className="brand">Medkey registry console</span>
        {state.address && (
          <span className="account">
            {state.address}{' '}
            <button type="button" onClick={() => void app.signOut()}>
              Sign out
            </button>
          </span>
        )}
      </header>
      {state.phase === 'ready' && state.roles.length > 0 && (
        <nav aria-label="Sections">
          {(registrar ? (['applications', 'providers', 'registry'] as const) : (['registry'] as const)).map((screen) => (
            <button key={screen} type="button" aria-current={state.screen === screen ? 'page' : undefined} onClick={() => app.show(screen)}>
              {{ applications: 'Applications', providers: 'Providers', registry: 'Registry' }[screen]}
            </button>
          ))}
        </nav>
      )}
      <main>
        <p role="status" aria-live="polite" className="busy">
          {state.busy ?? ''}
        </p>
        {state.error && (
          <p role="alert" className="error">
            {state.error}
          </p>
        )}
        {state.notice && <p className="notice">{state.notice}</p>}
        {state.phase === 'loading' && <p>Loading…</p>}
        {state.phase === 'connect' && <ConnectScreen />}
        {state.phase === 'ready' && state.roles.length === 0 && (
          <p>This account holds no role in the registry, so the console has nothing for it. Sign in with a role holder’s wallet.</p>
        )}
        {state.phase === 'ready' && registrar && state.screen === 'applications' && <ApplicationsScreen />}
        {state.phase === 'ready' && registrar && state.screen === 'providers' && <ProvidersScreen />}
        {state.phase === 'ready' && state.roles.length > 0 && state.screen === 'registry' && <RegistryScreen />}
      </main>
    </>
  );
}

export function App() {
  const app = useMemo(() => new AdminApp(), []);
  return (
    <AppContext.Provider value={app}>
      <Screens />
    </AppContext.Provider>
  );
}
