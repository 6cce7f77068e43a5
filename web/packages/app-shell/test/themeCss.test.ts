import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { themeCss } from '../src/ui/themeCss.ts';

// Prettier formats the written file (quotes, spacing); compare what the browser would parse.
const squeeze = (css: string) =>
  css
    .replaceAll(/\/\*.*?\*\//gs, '')
    .replaceAll(/\s+/g, '')
    .replaceAll("'", '"');

describe('the theme stylesheet', () => {
  it('is exactly what Mantine would inject for the theme (run `npm run theme` after changing it)', () => {
    const written = readFileSync(new URL('../src/ui/theme.generated.css', import.meta.url), 'utf8');
    expect(squeeze(written)).toBe(squeeze(themeCss()));
  });

  it("sets Medkey's navy as the filled colour", () => {
    expect(themeCss()).toMatch(
      /--mantine-color-navy-filled:\s*var\(--mantine-color-navy-8\)|--mantine-color-navy-filled:\s*#12355b/,
    );
  });
});
