// @vitest-environment jsdom
// A narrative is XHTML someone else wrote: what survives the sanitizer is text and structure.
import { describe, expect, it } from 'vitest';
import { sanitizeNarrative } from '../src/Narrative.tsx';

describe('a narrative', () => {
  it('keeps text, tables and in-page links, and drops scripts, handlers, styles, images and outside URLs', () => {
    const clean = sanitizeNarrative(
      '<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="steal()">LDL <b>164</b></p>' +
        '<script>steal()</script><img src="https://tracker.example/p.gif"/><style>p{}</style>' +
        '<a href="https://phish.example">portal</a><a href="#s2">section 2</a>' +
        '<a href="javascript:steal()">x</a><table><tr><td style="color:red">1</td></tr></table>' +
        '<form action="https://x"><input name="pw"/></form><svg><a href="https://x">y</a></svg></div>',
    )!;
    expect(clean).toContain('LDL <b>164</b>');
    expect(clean).toContain('<a href="#s2">section 2</a>');
    expect(clean).toContain('<td>1</td>');
    for (const bad of [
      'script',
      'steal',
      'onclick',
      '<img',
      'tracker',
      '<style',
      'phish',
      'javascript',
      'style=',
      '<form',
      '<input',
      '<svg',
    ])
      expect(clean).not.toContain(bad);
  });
});
