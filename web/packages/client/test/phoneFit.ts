// What "fits a phone" means for Medkey's apps, checked in the page as a person would find it: no
// sideways scrolling, the sections in one row, controls big enough for a thumb, fields whose text
// is large enough that a phone does not zoom into them, and nothing the CSP had to refuse.
import type { BrowserContext, Page } from 'playwright-core';

/** Smallest height of a button or field (px): a thumb's target, close to Apple's 44 pt. */
export const THUMB_PX = 40;
/** WCAG 2.5.8's minimum for a small target such as a checkbox (px). */
export const SMALL_TARGET_PX = 24;
/** Below this, iOS Safari zooms into a field when it is focused (px). */
export const FIELD_TEXT_PX = 16;

/**
 * Records each Content-Security-Policy refusal in the context's pages (an inline style a component
 * library injects, say), for `phoneProblems` to report. Call once per context, before its pages open.
 */
export async function recordCspRefusals(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __medkeyCspRefusals: string[] }).__medkeyCspRefusals = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
}

/** Everything on the page as it is now that would not work on a phone, in words; empty when it fits. */
export async function phoneProblems(page: Page): Promise<string[]> {
  return page.evaluate(
    ({ thumb, small, text }) => {
      const problems: string[] = [];
      const width = window.innerWidth;
      const scroll = document.documentElement.scrollWidth;
      if (scroll > width) {
        // Name the innermost elements that stick out, so the fix is obvious.
        const out = [...document.body.querySelectorAll('*')].filter(
          (el) =>
            el.getBoundingClientRect().right > width + 1 &&
            ![...el.children].some((c) => c.getBoundingClientRect().right > width + 1),
        );
        // Text that overflows its box (a long address, say) sticks out without its box doing so.
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const range = document.createRange();
          range.selectNodeContents(node);
          if (range.getBoundingClientRect().right > width + 1 && node.parentElement) out.push(node.parentElement);
        }
        const what = out
          .slice(0, 3)
          .map(
            (el) =>
              `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${(el.textContent ?? '').trim().slice(0, 30)}"`,
          )
          .join(', ');
        problems.push(`the page scrolls sideways (${scroll} px on a ${width} px screen): ${what}`);
      }
      const rows = new Set(
        [...document.querySelectorAll('nav[aria-label="Sections"] button')].map((b) =>
          Math.round(b.getBoundingClientRect().top),
        ),
      );
      if (rows.size > 1) problems.push(`the sections take ${rows.size} rows`);
      const name = (el: Element) =>
        (el.getAttribute('aria-label') ?? (el as HTMLElement).innerText ?? el.tagName).trim().slice(0, 40) ||
        el.tagName.toLowerCase();
      for (const el of document.querySelectorAll('button, input, select, textarea, [role="button"]')) {
        const box = el.getBoundingClientRect();
        // Not on screen, or the visually hidden input under a styled file picker (its label is the target).
        if (box.width <= 1 || box.height <= 1 || getComputedStyle(el).visibility === 'hidden') continue;
        const input = el as HTMLInputElement;
        const tickable = el.tagName === 'INPUT' && (input.type === 'checkbox' || input.type === 'radio');
        const least = tickable ? small : thumb;
        if (box.height < least) problems.push(`"${name(el)}" is ${Math.round(box.height)} px high (at least ${least})`);
        // A button whose words are cut off (it shrank, or they do not wrap) says less than it should.
        if ((el.tagName === 'BUTTON' || el.getAttribute('role') === 'button') && el.scrollWidth > el.clientWidth + 1)
          problems.push(`"${name(el)}" is cut off (${el.scrollWidth} px of words in ${el.clientWidth} px)`);
        const field = (el.tagName === 'INPUT' && !tickable) || el.tagName === 'SELECT' || el.tagName === 'TEXTAREA';
        const size = parseFloat(getComputedStyle(el).fontSize);
        if (field && size < text) problems.push(`"${name(el)}" has ${size} px text (a phone zooms below ${text})`);
      }
      const refused = (window as unknown as { __medkeyCspRefusals?: string[] }).__medkeyCspRefusals ?? [];
      for (const r of refused) problems.push(`the CSP refused ${r}`);
      return problems;
    },
    { thumb: THUMB_PX, small: SMALL_TARGET_PX, text: FIELD_TEXT_PX },
  );
}
