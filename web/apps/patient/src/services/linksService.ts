// Her SMART Health Links and her emergency card: each link's Bundle encrypted here under a
// fresh key that goes only into the link (the vault keeps ciphertext), links that follow her
// records refreshed when those change, and the emergency card built from her records for her
// to review before anything is shared.

import {
  buildPatientSummary,
  createShareLink,
  refreshShareLink,
  type Category,
  type FhirResource,
  type PatientSummary,
  type Schemas,
  type SummaryInput,
} from '@medkey/client';
import type { StatusState } from '@medkey/app-shell';
import { plural, type ServiceContext } from './context.ts';
import { bundleText, lockScreenImage, qrImage, recordsFor, type CardFace, type LinkForm } from './linkSharing.ts';
import type { RecordItem } from './timeline.ts';
import { EMERGENCY_CARD_LABEL } from './viewer.ts';

export interface LinksSlice extends StatusState {
  /** Her SMART Health Links, each with every time someone asked for it. */
  shareLinks?: Schemas['ShareLinkView'][] | undefined;
  /** The link just made: shown once (the key is in it and is kept nowhere). */
  newLink?: { link: string; viewerUrl: string; qr: string; label: string } | undefined;
  /** The emergency card under review (built here from her records), then made (shown once). */
  cardDraft?: PatientSummary | undefined;
  card?: { header: CardFace; qr: string; lockScreen: string; viewerUrl: string; passcode: boolean } | undefined;
  /** Her records (read only here: links carry them). */
  records: RecordItem[];
}

export const EMPTY_LINKS: Pick<LinksSlice, 'shareLinks' | 'newLink' | 'cardDraft' | 'card'> = {
  shareLinks: undefined,
  newLink: undefined,
  cardDraft: undefined,
  card: undefined,
};

const SHORT_PASSCODE = 'A passcode has at least 4 characters.';

export class LinksService {
  constructor(private readonly ctx: ServiceContext<LinksSlice>) {}

  async load(): Promise<void> {
    await this.ctx.run(undefined, async () => {
      this.ctx.set({ shareLinks: await this.ctx.signedIn().vault.shareLinks() });
    });
  }

  /** A SMART Health Link to her records in `form.categories`. */
  async create(form: LinkForm): Promise<void> {
    const chosen = recordsFor(this.ctx.state.records, form.categories);
    if (!form.label.trim())
      return this.ctx.set({
        error: 'Give the link a name, so you can tell your links apart (for example, “For my new dentist”).',
      });
    if (chosen.length === 0)
      return this.ctx.set({
        error: 'None of your records is in the categories you chose. Choose at least one category with records in it.',
      });
    if (form.passcode && form.passcode.length < 4)
      return this.ctx.set({ error: `${SHORT_PASSCODE} Tell it to the person separately from the link.` });
    this.ctx.set({ newLink: undefined });
    await this.ctx.run(`Encrypting ${plural(chosen.length, 'record')} for the link…`, async () => {
      const created = await createShareLink(this.ctx.signedIn().vault, bundleText(chosen), {
        label: form.label,
        passcode: form.passcode || undefined,
        expiresAt: form.days > 0 ? new Date(Date.now() + form.days * 86_400_000) : undefined,
        singleUse: form.singleUse,
        longLived: form.followChanges
          ? { categories: form.categories, accountSecret: this.ctx.keys().secret }
          : undefined,
      });
      // The QR holds the viewer URL, so a phone's camera opens it in a browser (SHL allows either form).
      const qr = await qrImage(created.viewerUrl);
      created.key.fill(0);
      this.ctx.set({
        busy: undefined,
        newLink: { link: created.link, viewerUrl: created.viewerUrl, qr, label: form.label },
        notice: 'Your link is ready. Copy or print it now: Medkey does not keep it.',
      });
      await this.load();
    });
  }

  async revoke(id: string): Promise<void> {
    await this.ctx.run(undefined, async () => {
      await this.ctx.signedIn().vault.revokeShareLink(id);
      this.ctx.set({ notice: 'Link stopped. Nobody can open it from now on.', newLink: undefined });
      await this.load();
    });
  }

  /**
   * Her long-lived links that follow `changed` categories get new files from her records as they
   * are now (encrypted here; the vault cannot). A failure is said, and the records stay stored.
   */
  async refresh(changed: Category[]): Promise<void> {
    try {
      const { vault } = this.ctx.signedIn();
      const secret = this.ctx.keys().secret;
      const due = (await vault.shareLinks()).filter(
        (l) => l.long_lived && l.state === 'active' && l.categories.some((c) => changed.includes(c as Category)),
      );
      for (const link of due) {
        await refreshShareLink(
          vault,
          link.id,
          bundleText(recordsFor(this.ctx.state.records, link.categories as Category[])),
          secret,
        );
      }
      if (due.length > 0) {
        const follow = due.length === 1 ? 'follows' : 'follow';
        this.ctx.set({
          notice:
            `${this.ctx.state.notice ?? ''} ${plural(due.length, 'link')} that ${follow} these records updated.`.trim(),
        });
      }
    } catch (err) {
      this.ctx.set({
        error: `Your records are stored, but a link that follows them could not be updated: ${err instanceof Error ? err.message : String(err)} Open your links to try again.`,
      });
    }
  }

  /** Builds her patient summary from her opened records, for her to review before anything is shared. */
  draftCard(input: Omit<SummaryInput, 'resources'>): void {
    if (!input.name.trim()) return this.ctx.set({ error: 'Write your name as a doctor should see it on the card.' });
    if (input.contacts.some((c) => !c.name.trim() || !c.phone.trim()))
      return this.ctx.set({ error: 'Give each emergency contact a name and a phone number, or remove the contact.' });
    const resources = this.ctx.state.records.flatMap((r) => (r.resource ? [r.resource as FhirResource] : []));
    this.ctx.set({ error: undefined, card: undefined, cardDraft: buildPatientSummary({ ...input, resources }) });
  }

  /** The reviewed summary as an emergency SMART Health Link (no expiry), shown as a card to print. */
  async makeCard(passcode: string, show: { bloodGroup: boolean; allergies: boolean }): Promise<void> {
    const draft = this.ctx.state.cardDraft;
    if (!draft) return this.ctx.set({ error: 'Build your card first: fill in the form, then review it.' });
    if (passcode && passcode.length < 4)
      return this.ctx.set({
        error: `${SHORT_PASSCODE} Leave it empty if a stranger must open the card without asking you.`,
      });
    await this.ctx.run('Encrypting your summary for the card…', async () => {
      const created = await createShareLink(this.ctx.signedIn().vault, JSON.stringify(draft.bundle), {
        label: EMERGENCY_CARD_LABEL,
        passcode: passcode || undefined,
        purpose: 'emergency',
      });
      created.key.fill(0);
      const qr = await qrImage(created.viewerUrl);
      // The card's face says only what she chose to show to whoever sees it.
      const face: CardFace = {
        name: draft.header.name,
        bloodGroup: show.bloodGroup ? draft.header.bloodGroup : undefined,
        allergies: show.allergies ? draft.header.allergies : [],
      };
      const lockScreen = await lockScreenImage(face, qr);
      this.ctx.set({
        busy: undefined,
        cardDraft: undefined,
        card: { header: face, qr, lockScreen, viewerUrl: created.viewerUrl, passcode: Boolean(passcode) },
        notice: 'Your emergency card is ready. Print it or save it as an image now: Medkey does not keep it.',
      });
    });
  }
}
