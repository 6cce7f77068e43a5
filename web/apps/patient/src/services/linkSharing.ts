// Sharing records by SMART Health Link: which records go in, the Bundle they travel in (each
// record's exact text), the QR code, and how a link's state and uses read to her. Pure helpers;
// the PatientApp calls them and the vault calls (createShareLink) live in @medkey/client.

import type { Category, Schemas } from '@medkey/client';
import type { RecordItem } from './timeline.ts';

/** What she chose on the link form. */
export interface LinkForm {
  label: string;
  categories: Category[];
  passcode: string;
  /** Days until it stops working; 0: until she revokes it. */
  days: number;
  singleUse: boolean;
}

/** Her opened records in the chosen categories. */
export function recordsFor(records: RecordItem[], categories: Category[]): RecordItem[] {
  return records.filter((r) => r.resource && categories.includes(r.view.category as Category));
}

/** A FHIR `collection` Bundle of `records`, each resource exactly as sealed (decimals keep their digits). */
export function bundleText(records: RecordItem[]): string {
  const entries = records.map((r) => `{"resource":${r.text ?? JSON.stringify(r.resource)}}`);
  return `{"resourceType":"Bundle","type":"collection","timestamp":${JSON.stringify(new Date().toISOString())},"entry":[${entries.join(',')}]}`;
}

/** The QR code of a link, as an image URL (data:, allowed by the page's policy). */
export async function qrImage(link: string): Promise<string> {
  const { toDataURL } = await import('qrcode');
  return toDataURL(link, { margin: 2, width: 320, errorCorrectionLevel: 'M' });
}

/** A link's state in her words. */
export function linkStateWords(link: Schemas['ShareLinkView']): string {
  switch (link.state) {
    case 'active':
      return link.expires_at_ms ? `Works until ${new Date(link.expires_at_ms).toLocaleDateString()}` : 'Works until you stop it';
    case 'revoked':
      return 'Stopped by you';
    case 'expired':
      return 'Expired';
    case 'used':
      return 'Opened once, as you chose; it no longer works';
    case 'disabled':
      return 'Stopped: too many wrong passcodes were tried';
    default:
      return link.state;
  }
}

/** One use of a link in her words: who said they were, when, and what happened. */
export function accessWords(access: Schemas['ShareLinkAccess']): string {
  const when = new Date(access.at_ms).toLocaleString();
  const outcome: Record<string, string> = {
    ok: 'opened it',
    wrong_passcode: 'gave a wrong passcode',
    revoked: 'tried after you stopped it',
    expired: 'tried after it expired',
    used: 'tried after it was used',
    disabled: 'tried after it was stopped',
  };
  return `${when}: “${access.recipient}” ${outcome[access.outcome] ?? access.outcome}`;
}
