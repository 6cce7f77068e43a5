// Sharing records by SMART Health Link: which records go in, the Bundle they travel in (each
// record's exact text), the QR code, and how a link's state and uses read to her. Pure helpers;
// the PatientApp calls them and the vault calls (createShareLink) live in @medkey/client.

import { formatDate } from '@medkey/fhir-display';
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
  /** Flag L: the link follows her records in these categories as they change. */
  followChanges: boolean;
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
      return link.expires_at_ms ? `Works until ${formatDate(new Date(link.expires_at_ms))}` : 'Works until you stop it';
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
    not_direct: 'asked for it without its passcode',
  };
  // The name is whatever the requester typed (anyone holding or guessing the link can): said as
  // such, and cut short, so that a stranger's words never read as Medkey's.
  const name = access.recipient.length > 80 ? `${access.recipient.slice(0, 80)}…` : access.recipient;
  return `${when}: someone who gave the name “${name}” ${outcome[access.outcome] ?? 'was refused'}`;
}

/** What the emergency card says on its face, as she chose it. */
export interface CardFace {
  name: string;
  bloodGroup?: string | undefined;
  allergies: string[];
}

/**
 * The emergency card as a phone lock-screen picture (1080×1920 PNG): the words she chose above
 * the QR code. Drawn in this page; nothing is uploaded.
 */
export async function lockScreenImage(face: CardFace, qr: string): Promise<string> {
  const canvas = document.createElement('canvas');
  canvas.width = 1080;
  canvas.height = 1920;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw the card image. Print the card instead.');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, 1080, 1920);
  ctx.fillStyle = '#b00020';
  ctx.fillRect(0, 0, 1080, 220);
  ctx.fillStyle = '#ffffff';
  ctx.font = 'bold 72px sans-serif';
  ctx.textAlign = 'center';
  ctx.fillText('MEDICAL EMERGENCY', 540, 140);
  ctx.fillStyle = '#111111';
  ctx.font = 'bold 64px sans-serif';
  ctx.fillText(face.name, 540, 340);
  ctx.font = '48px sans-serif';
  let y = 430;
  if (face.bloodGroup) {
    ctx.fillText(`Blood group: ${face.bloodGroup}`, 540, y);
    y += 80;
  }
  const allergies = face.allergies.length ? `Allergies: ${face.allergies.join(', ')}` : '';
  for (const line of wrap(ctx, allergies, 960)) {
    ctx.fillText(line, 540, y);
    y += 64;
  }
  const image = new Image();
  image.src = qr;
  await image.decode();
  ctx.drawImage(image, 190, Math.max(y + 40, 800), 700, 700);
  ctx.font = '44px sans-serif';
  ctx.fillText('Scan for my health summary', 540, 1800);
  return canvas.toDataURL('image/png');
}

function wrap(ctx: CanvasRenderingContext2D, text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (ctx.measureText(next).width > width && line) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  return lines.slice(0, 4);
}
