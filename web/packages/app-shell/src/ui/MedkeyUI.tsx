import { MantineProvider, type MantineColorSchemeManager } from '@mantine/core';
import type { ReactNode } from 'react';
import { medkeyTheme } from './theme.ts';

// Mantine keeps the colour scheme in localStorage by default; Medkey keeps nothing in a browser's
// storage that it does not need, so the scheme is fixed and never read or written.
const noStorage: MantineColorSchemeManager = {
  get: (fallback) => fallback,
  set: () => undefined,
  subscribe: () => undefined,
  unsubscribe: () => undefined,
  clear: () => undefined,
};

/**
 * Every app's root: the theme, without the <style> elements Mantine would inject (the CSP refuses
 * them; their content is in theme.generated.css and the app's stylesheet instead).
 */
export function MedkeyUI({ children }: { children: ReactNode }) {
  return (
    <MantineProvider
      theme={medkeyTheme}
      forceColorScheme="light"
      colorSchemeManager={noStorage}
      withCssVariables={false}
      withGlobalClasses={false}
    >
      {children}
    </MantineProvider>
  );
}
