import { Header, SectionNav, SignInStages, placeNow } from '@medkey/app-shell';
import { useEffect, useMemo } from 'react';
import { ApplicationsScreen } from './screens/ApplicationsScreen.tsx';
import { ConnectScreen } from './screens/ConnectScreen.tsx';
import { ProvidersScreen } from './screens/ProvidersScreen.tsx';
import { RegistryScreen } from './screens/RegistryScreen.tsx';
import { AdminApp, SCREENS } from './services/admin.ts';
import { AppContext, useAdminApp } from './useAdminApp.ts';

function Screens() {
  const [state, app] = useAdminApp();
  useEffect(() => {
    void app.start();
    // Back and Forward: the screen the address names (signed in; before that, sign-in comes first).
    const moved = () => {
      const place = placeNow(SCREENS);
      if (place && app.state.phase === 'ready') app.visit(place);
    };
    window.addEventListener('popstate', moved);
    return () => window.removeEventListener('popstate', moved);
  }, [app]);
  useEffect(() => app.watchApplications(), [app]);
  const registrar = state.roles.includes('registrar');
  return (
    <>
      <Header brand="Medkey registry console" who={state.address} onSignOut={() => void app.signOut()} />
      {state.phase === 'ready' && state.roles.length > 0 && (
        <SectionNav
          sections={registrar ? (['applications', 'providers', 'registry'] as const) : (['registry'] as const)}
          labels={{ applications: 'Applications', providers: 'Providers', registry: 'Registry' }}
          current={state.screen}
          onShow={(screen) => app.show(screen)}
        />
      )}
      <main>
        <SignInStages state={state} onAnswerCode={(code) => app.answerCode(code)} connect={<ConnectScreen />} />
        {state.phase === 'ready' && state.roles.length === 0 && (
          <p>
            This account holds no role in the registry, so the console has nothing for it. Sign in with a role holder’s
            wallet.
          </p>
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
