// Every screen of her app has an address (`#/records`, `#/record/<id>`, `#/results`…), so Back
// and Forward move between screens and a reload comes back to the same one once she has signed
// in again. The History API is the standard for this and the app has a dozen screens and no
// nested routes, so no router library: this file only turns a screen into a fragment and back.

/** Every screen of her app. */
export const SCREENS = [
  'records',
  'results',
  'record',
  'add',
  'sharing',
  'share',
  'links',
  'card',
  'activity',
  'settings',
] as const;
export type Screen = (typeof SCREENS)[number];

/** A record id as the vault writes it (32 hex digits, or a dashed UUID). */
const RECORD_ID = /^[0-9a-f]{32}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ScreenPlace {
  screen: Screen;
  selected?: string;
}

/** The fragment of `screen` (with the record for the record screen). */
export function screenUrl(screen: Screen, selected?: string): string {
  return screen === 'record' && selected ? `#/record/${selected}` : `#/${screen}`;
}

/** The screen a fragment names, if it names one (anything else: none, and the app starts at her records). */
export function screenFromUrl(hash: string): ScreenPlace | undefined {
  const [name, selected, ...rest] = hash.replace(/^#\/?/, '').split('/');
  const screen = SCREENS.find((s) => s === name);
  if (!screen || rest.length > 0) return undefined;
  if (screen === 'record') return selected && RECORD_ID.test(selected) ? { screen, selected } : undefined;
  return selected ? undefined : { screen };
}
