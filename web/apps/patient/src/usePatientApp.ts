import { createContext, useContext, useSyncExternalStore } from 'react';
import type { PatientApp, PatientState } from './services/patient.ts';

export const AppContext = createContext<PatientApp | null>(null);

/** The app's services and their current state, for a screen. */
export function usePatientApp(): [PatientState, PatientApp] {
  const app = useContext(AppContext);
  if (!app) throw new Error('usePatientApp outside <AppContext.Provider>');
  return [useSyncExternalStore(app.subscribe, app.getState), app];
}
