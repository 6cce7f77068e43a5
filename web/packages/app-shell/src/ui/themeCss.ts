import { DEFAULT_THEME, convertCssVariables, defaultCssVariablesResolver, mergeMantineTheme } from '@mantine/core';
import { medkeyTheme } from './theme.ts';

type Variables = Record<string, string>;

/** Only what differs from Mantine's defaults (default-css-variables.css already has those). */
function changed(ours: Variables, defaults: Variables): Variables {
  return Object.fromEntries(Object.entries(ours).filter(([name, value]) => defaults[name] !== value));
}

/**
 * The CSS variables Mantine's provider would inject at run time for Medkey's theme, as a static
 * stylesheet (see MedkeyUI). `npm run theme -w @medkey/app-shell` writes it; a test checks it.
 */
export function themeCss(): string {
  const ours = defaultCssVariablesResolver(mergeMantineTheme(DEFAULT_THEME, medkeyTheme));
  const defaults = defaultCssVariablesResolver(DEFAULT_THEME);
  const css = convertCssVariables(
    {
      variables: changed(ours.variables, defaults.variables),
      light: changed(ours.light, defaults.light),
      dark: changed(ours.dark, defaults.dark),
    },
    ':root',
  );
  return `/* Written by \`npm run theme -w @medkey/app-shell\` from src/ui/theme.ts; do not edit. */\n${css
    .replaceAll(/;(?=--)/g, ';\n  ')
    .replaceAll('{', '{\n  ')
    .replaceAll('}', '\n}\n')}`;
}
