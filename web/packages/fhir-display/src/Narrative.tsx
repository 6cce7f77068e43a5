// A record's narrative (`text.div`, a Composition section's `text.div`): XHTML a clinic or a
// provider wrote, so hostile until cleaned. It goes through DOMPurify (maintained, and what FHIR
// tools use for this) with a profile tighter than FHIR's own narrative rules: no scripts,
// styles, forms, frames, media or SVG, no `style` attribute, and no URL at all except a link to
// a place on the page, so opening a record makes no request anywhere (a remote image would tell
// its author she read it). The apps' Content-Security-Policy is the second line.

import DOMPurify from 'dompurify';
import { obj, str } from './read.ts';

const FORBID_TAGS = ['img', 'style', 'form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'frame'];
const FORBID_MORE = ['object', 'embed', 'svg', 'math', 'video', 'audio', 'source', 'picture', 'link', 'meta', 'base'];

/** `xhtml` cleaned for showing, or undefined where no DOM can clean it (then nothing is shown). */
export function sanitizeNarrative(xhtml: string): string | undefined {
  if (!DOMPurify.isSupported) return undefined;
  return DOMPurify.sanitize(xhtml, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: [...FORBID_TAGS, ...FORBID_MORE],
    FORBID_ATTR: ['style', 'srcset', 'action', 'formaction', 'background', 'poster', 'target'],
    ALLOWED_URI_REGEXP: /^#/,
    SANITIZE_NAMED_PROPS: true,
  });
}

/** The narrative of a resource or section (`text.div`), cleaned; nothing when it has none. */
export function Narrative({ text, label }: { text: unknown; label: string }) {
  const div = str(obj(text)?.div);
  const clean = div ? sanitizeNarrative(div) : undefined;
  if (!clean || clean.trim() === '') return null;
  return <div className="narrative" aria-label={label} dangerouslySetInnerHTML={{ __html: clean }} />;
}
