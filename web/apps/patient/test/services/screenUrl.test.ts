// Each screen's address, and only real screens and record ids read back from one.
import { describe, expect, it } from 'vitest';
import { addressOf, placeAt } from '@medkey/app-shell';
import { SCREENS, SELECTABLE, type Screen } from '../../src/services/screenUrl.ts';

const screenUrl = (screen: Screen, selected?: string) => addressOf({ screen, selected });
const screenFromUrl = (hash: string) => placeAt(hash, SCREENS, SELECTABLE);

describe('screen addresses', () => {
  it('round-trips every screen, the record screen with its record', () => {
    for (const screen of SCREENS.filter((s) => s !== 'record'))
      expect(screenFromUrl(screenUrl(screen))).toEqual({ screen });
    const id = '0123456789abcdef0123456789abcdef';
    expect(screenFromUrl(screenUrl('record', id))).toEqual({ screen: 'record', selected: id });
  });

  it('reads nothing from an address that names no screen', () => {
    for (const hash of [
      '',
      '#',
      '#/nowhere',
      '#/record',
      '#/record/../../etc',
      '#/records/extra',
      '#/record/x/y',
      '#shlink:/abc',
    ])
      expect(screenFromUrl(hash)).toBeUndefined();
  });
});
