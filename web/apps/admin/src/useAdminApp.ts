import { createContext, useContext, useSyncExternalStore } from 'react';
import type { AdminApp, AdminState } from './services/admin.ts';

export const AppContext = createContext<AdminApp | null>(null);

/** The app's services and their current state, for a screen. */
export function useAdminApp(): [AdminState, AdminApp] {
  const app = useContext(AppContext);
  if (!app) throw new Error('useAdminApp outside <AppContext.Provider>');
  return [useSyncExternalStore(app.subscribe, app.getState), app];
}
