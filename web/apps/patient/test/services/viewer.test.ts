// A phone number from a stranger's record becomes a tel: link only if it is one.
import { describe, expect, it } from 'vitest';
import { callable } from '../../src/services/viewer.ts';

describe('tap to call', () => {
  it('links phone numbers and nothing else', () => {
    expect(callable('+34 600 000 000')).toBe('+34600000000');
    expect(callable('(555) 123-4567')).toBe('5551234567');
    for (const odd of ['javascript:alert(1)', 'call me', '', undefined, '+1 555 0100; ext=2', '1'.repeat(40)])
      expect(callable(odd)).toBeUndefined();
  });
});
