// Her app's screens and their addresses (`#/records`, `#/record/<id>`, `#/results`…); the
// address itself is the shell's (`screenAddress.ts`, shared by the three apps).

import { addressOf, placeAt, type Place } from '@medkey/app-shell';

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

/** The screens that name what they show, and its form. */
export const SELECTABLE = { record: RECORD_ID };

export type ScreenPlace = Place<Screen>;

/** The fragment of `screen` (with the record for the record screen). */
export function screenUrl(screen: Screen, selected?: string): string {
  return addressOf({ screen, selected: screen === 'record' ? selected : undefined });
}

/** The screen a fragment names, if it names one (anything else: none, and the app starts at her records). */
export function screenFromUrl(hash: string): ScreenPlace | undefined {
  return placeAt(hash, SCREENS, SELECTABLE);
}
