import { Header, ScreenFallback, SectionNav, SignInStages, placeNow } from '@medkey/app-shell';
import { ErrorBoundary } from '@medkey/fhir-display';
import { useEffect, useMemo } from 'react';
import { ApplyScreen } from './screens/ApplyScreen.tsx';
import { EmergencyScreen } from './screens/EmergencyScreen.tsx';
import { HistoryScreen } from './screens/HistoryScreen.tsx';
import { ConnectScreen } from './screens/ConnectScreen.tsx';
import { PatientScreen } from './screens/PatientScreen.tsx';
import { PatientsScreen } from './screens/PatientsScreen.tsx';
import { RequestScreen } from './screens/RequestScreen.tsx';
import { StandingBanner } from './screens/StandingBanner.tsx';
import { ProviderApp, SCREENS, SELECTABLE } from './services/provider.ts';
import { AppContext, useProviderApp } from './useProviderApp.ts';

function Screens() {
  const [state, app] = useProviderApp();
  useEffect(() => {
    void app.start();
    // Back and Forward: the screen the address names (signed in; before that, sign-in comes first).
    const moved = () => {
      const place = placeNow(SCREENS, SELECTABLE);
      if (place && app.state.phase === 'ready') void app.visit(place);
    };
    window.addEventListener('popstate', moved);
    return () => window.removeEventListener('popstate', moved);
  }, [app]);
  useEffect(() => app.watchPatients(), [app]);
  const registered = state.standing && state.standing.status !== 'unregistered';
  return (
    <>
      <Header
        brand="Medkey for providers"
        who={
          state.address
            ? `${state.standing?.entry?.verdict.verified ? `${state.standing.entry.entry.profile.display_name} · ` : ''}${state.address}`
            : undefined
        }
        onSignOut={() => void app.signOut()}
      />
      {state.phase === 'ready' && (
        <SectionNav
          sections={
            registered ? (['patients', 'request', 'emergency', 'history', 'apply'] as const) : (['apply'] as const)
          }
          labels={{
            patients: 'My patients',
            request: 'Request access',
            emergency: 'Emergency access',
            history: 'My access history',
            apply: 'Registration',
          }}
          short={{
            patients: 'Patients',
            request: 'Request',
            emergency: 'Emergency',
            history: 'History',
            apply: 'Profile',
          }}
          current={state.screen}
          onShow={(screen) => app.show(screen)}
        />
      )}
      <main>
        <SignInStages state={state} onAnswerCode={(code) => app.answerCode(code)} connect={<ConnectScreen />} />
        {state.phase === 'ready' && <StandingBanner />}
        <ErrorBoundary
          fallback={<ScreenFallback onBack={() => app.show('patients')} backLabel="Back to my patients" />}
          resetKey={`${state.phase}:${state.screen}:${state.patient?.address ?? ''}`}
        >
          {state.phase === 'ready' && state.screen === 'apply' && <ApplyScreen />}
          {state.phase === 'ready' && state.screen === 'patients' && <PatientsScreen />}
          {state.phase === 'ready' && state.screen === 'patient' && <PatientScreen />}
          {state.phase === 'ready' && state.screen === 'request' && <RequestScreen />}
          {state.phase === 'ready' && state.screen === 'emergency' && <EmergencyScreen />}
          {state.phase === 'ready' && state.screen === 'history' && <HistoryScreen />}
        </ErrorBoundary>
      </main>
    </>
  );
}

export function App() {
  const app = useMemo(() => new ProviderApp(), []);
  return (
    <AppContext.Provider value={app}>
      <Screens />
    </AppContext.Provider>
  );
}
