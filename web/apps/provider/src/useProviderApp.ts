import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ProviderApp, ProviderState } from './services/provider.ts';

export const AppContext = createContext<ProviderApp | null>(null);

/** The app's services and their current state, for a screen. */
export function useProviderApp(): [ProviderState, ProviderApp] {
  const app = useContext(AppContext);
  if (!app) throw new Error('useProviderApp outside <AppContext.Provider>');
  return [useSyncExternalStore(app.subscribe, app.getState), app];
}
