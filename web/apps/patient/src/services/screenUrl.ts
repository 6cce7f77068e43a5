// Her app's screens and the form of what they name (`#/records`, `#/record/<id>`, `#/results`…);
// the address itself is the shell's (`screenAddress.ts`, shared by the three apps).

import type { Place } from '@medkey/app-shell';

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
