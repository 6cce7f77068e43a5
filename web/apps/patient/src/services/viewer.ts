// The page that opens a SMART Health Link someone was given: the link (with its key) is in the
// URL's fragment, which the browser never sends to a server; the manifest and the files come from
// this vault, and the records are decrypted and shown here, kept in memory only.

import { AppStore, type ShellState } from '@medkey/app-shell';
import { decodeShareLink, openShareLink, type ShlPayload } from '@medkey/client';
import { asResource, objs, type Resource } from '@medkey/fhir-display';

/** The label the patient app gives an emergency card's link (linksService). */
export const EMERGENCY_CARD_LABEL = 'Emergency card';
/** Who opened an emergency card, in her log, when the responder gave no name. */
export const EMERGENCY_RESPONDER = 'An emergency responder (no name given)';

/** A phone number fit for a `tel:` link (digits, +, spaces, dashes, dots, brackets), or none. */
export function callable(phone: string | undefined): string | undefined {
  const number = phone?.trim();
  return number && /^\+?[0-9 ()\-.]{3,32}$/.test(number) ? number.replace(/[ ()\-.]/g, '') : undefined;
}

export interface ViewerState extends ShellState {
  phase: 'ask' | 'shown' | 'broken';
  payload?: ShlPayload | undefined;
  /** The records the link holds, once opened. */
  resources: Resource[];
}

export class ViewerApp extends AppStore<ViewerState> {
  /** The `shlink:/…` from the fragment (it holds the key): in memory only. */
  private readonly link: string;

  constructor(fragment: string, origin: string) {
    super({ phase: 'ask', wallets: [], resources: [] });
    this.link = fragment.replace(/^#/, '');
    try {
      const payload = decodeShareLink(this.link);
      if (new URL(payload.url).origin !== origin) {
        this.set({
          phase: 'broken',
          error: `This link is for another service (${new URL(payload.url).host}). Open it with the app or site it came with.`,
        });
        return;
      }
      this.set({ payload });
    } catch (err) {
      this.set({ phase: 'broken' });
      this.fail(err);
    }
  }

  get needsPasscode(): boolean {
    return Boolean(this.state.payload?.flag?.includes('P'));
  }

  /**
   * An emergency card's link: a responder opens it at once, and may give a name or not (the
   * patient's log then says an emergency responder opened it).
   */
  get isEmergencyCard(): boolean {
    return this.state.payload?.label === EMERGENCY_CARD_LABEL;
  }

  /** Asks for the records as `recipient` (shown to the person who shared them). */
  async open(recipient: string, passcode: string): Promise<void> {
    const { payload } = this.state;
    if (!payload) return;
    const who = recipient.trim() || (this.isEmergencyCard ? EMERGENCY_RESPONDER : '');
    if (!who)
      return this.set({ error: 'Say who you are (your name, or your practice): the person who shared this sees it.' });
    this.set({ busy: 'Opening the shared records…', error: undefined });
    try {
      const { files } = await openShareLink(this.link, who, passcode);
      const resources = files.flatMap((file) => entriesOf(file.content));
      this.set({ phase: 'shown', resources, busy: undefined });
    } catch (err) {
      this.fail(err);
    }
  }
}

/**
 * The resources of a FHIR Bundle (nested Bundles' too), or the resource itself. The content is a
 * stranger's JSON: an entry whose resource is not one is kept as it is, for the page to say it
 * cannot be shown (`ResourceView` does), rather than dropped without a word.
 */
function entriesOf(content: unknown): Resource[] {
  const resource = asResource(content);
  if (!resource) return content === undefined || content === null ? [] : [content as Resource];
  if (resource.resourceType !== 'Bundle') return [resource];
  return objs(resource.entry).flatMap((e) => (e.resource === undefined ? [] : entriesOf(e.resource)));
}
