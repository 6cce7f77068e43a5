import { Header, ScreenFallback, SectionNav, SignInStages, placeNow } from '@medkey/app-shell';
import { ErrorBoundary } from '@medkey/fhir-display';
import { ownName } from './services/timeline.ts';
import { useEffect, useMemo } from 'react';
import { ActivityScreen } from './screens/ActivityScreen.tsx';
import { SettingsScreen } from './screens/SettingsScreen.tsx';
import { AddRecordScreen } from './screens/AddRecordScreen.tsx';
import { ShareScreen } from './screens/ShareScreen.tsx';
import { SharingScreen } from './screens/SharingScreen.tsx';
import { LinksScreen } from './screens/LinksScreen.tsx';
import { EmergencyCardScreen } from './screens/EmergencyCardScreen.tsx';
import { ConnectScreen } from './screens/ConnectScreen.tsx';
import { RecordScreen } from './screens/RecordScreen.tsx';
import { RecordsScreen } from './screens/RecordsScreen.tsx';
import { ResultsScreen } from './screens/ResultsScreen.tsx';
import { WelcomeScreen } from './screens/WelcomeScreen.tsx';
import { PatientApp } from './services/patient.ts';
import { SCREENS, SELECTABLE } from './services/screenUrl.ts';
import { AppContext, usePatientApp } from './usePatientApp.ts';

function Screens() {
  const [state, app] = usePatientApp();
  useEffect(() => {
    void app.start();
    for (const event of ['keydown', 'pointerdown', 'scroll'] as const)
      window.addEventListener(event, app.touch, { passive: true });
    // Back and Forward: the screen the address names (signed in; before that, sign-in comes first).
    const moved = () => {
      const place = placeNow(SCREENS, SELECTABLE);
      if (place && app.state.phase === 'ready') app.show(place.screen, place.selected);
    };
    window.addEventListener('popstate', moved);
    return () => {
      for (const event of ['keydown', 'pointerdown', 'scroll'] as const) window.removeEventListener(event, app.touch);
      window.removeEventListener('popstate', moved);
    };
  }, [app]);
  useEffect(() => app.watchRecords(), [app]);
  return (
    <>
      <Header
        brand="Medkey"
        who={ownName(state.records) ?? state.address}
        onSignOut={() => void app.lock('You signed out. Your key and records were cleared from this browser.')}
      />
      {state.phase === 'ready' && (
        <SectionNav
          sections={['records', 'results', 'sharing', 'activity', 'settings'] as const}
          labels={{
            records: 'Records',
            results: 'Results',
            sharing: 'Sharing',
            activity: 'Activity',
            settings: 'Account',
          }}
          current={state.screen}
          onShow={(screen) => app.show(screen)}
        />
      )}
      <main>
        <SignInStages state={state} onAnswerCode={(code) => app.answerCode(code)} connect={<ConnectScreen />} />
        <ErrorBoundary
          fallback={<ScreenFallback onBack={() => app.show('records')} />}
          resetKey={`${state.phase}:${state.screen}:${state.selected ?? ''}`}
        >
          {state.phase === 'welcome' && <WelcomeScreen />}
          {state.phase === 'ready' && state.screen === 'records' && <RecordsScreen />}
          {state.phase === 'ready' && state.screen === 'results' && <ResultsScreen />}
          {state.phase === 'ready' && state.screen === 'record' && <RecordScreen />}
          {state.phase === 'ready' && state.screen === 'add' && <AddRecordScreen />}
          {state.phase === 'ready' && state.screen === 'sharing' && <SharingScreen />}
          {state.phase === 'ready' && state.screen === 'share' && <ShareScreen />}
          {state.phase === 'ready' && state.screen === 'links' && <LinksScreen />}
          {state.phase === 'ready' && state.screen === 'card' && <EmergencyCardScreen />}
          {state.phase === 'ready' && state.screen === 'activity' && <ActivityScreen />}
          {state.phase === 'ready' && state.screen === 'settings' && <SettingsScreen />}
        </ErrorBoundary>
      </main>
    </>
  );
}

/** `?lock-after=SECONDS` shortens the idle lock (default 15 minutes), e.g. on a shared computer. */
function idleMs(): number | undefined {
  const seconds = Number(new URLSearchParams(window.location.search).get('lock-after'));
  return Number.isFinite(seconds) && seconds >= 1 ? seconds * 1000 : undefined;
}

export function App() {
  const app = useMemo(() => new PatientApp(idleMs()), []);
  return (
    <AppContext.Provider value={app}>
      <Screens />
    </AppContext.Provider>
  );
}
