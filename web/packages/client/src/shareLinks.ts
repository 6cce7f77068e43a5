// SMART Health Links (HL7 SMART Health Cards and Links IG, STU1): sharing records with anyone,
// registered provider or not. Her client puts the records in a FHIR Bundle, encrypts it as a
// compact JWE (`dir` + `A256GCM`, `jose`) under a fresh 256-bit key, and stores only that with
// the vault. The key travels in the link itself (`shlink:/…`, or a viewer URL with the link in
// its fragment, which browsers never send to a server), so the vault can never read the files.
// Whoever holds the link can open it: a passcode, an expiry and single use narrow that; she can
// revoke it at once, and every time someone asks for it is in her activity.

import { CompactEncrypt, compactDecrypt } from 'jose';
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha2';
import { utf8ToBytes } from '@noble/hashes/utils';
import { base64urlnopad } from '@scure/base';
import type { Category } from './consent.ts';
import { MedkeyError } from './errors.ts';
import type { Schemas, VaultClient } from './api/client.ts';

/** The content type of a FHIR Bundle file in a link. */
export const FHIR_CONTENT_TYPE = 'application/fhir+json';

/** The link's payload, as the specification names its members. */
export interface ShlPayload {
  url: string;
  key: string;
  /** Seconds since the epoch. */
  exp?: number;
  /** Letters in alphabetical order: L long-lived, P passcode, U direct file. */
  flag?: string;
  label?: string;
  v?: 1;
}

export interface ShareLinkOptions {
  /** What she calls it; also the link's own label (at most 80 characters). */
  label: string;
  passcode?: string | undefined;
  expiresAt?: Date | undefined;
  singleUse?: boolean;
  /**
   * Flag L: the link follows her records of `categories`, its files replaced when they change
   * (`refreshShareLink`). Its key is derived from `accountSecret`, so none is kept anywhere.
   */
  longLived?: { categories: Category[]; accountSecret: Uint8Array } | undefined;
  purpose?: 'link' | 'emergency';
  /** Flag U: the one file is fetched directly (`GET url?recipient=…`), no manifest; not with a passcode. */
  direct?: boolean;
}

export interface CreatedShareLink {
  /** `shlink:/…`: what a QR code or an SHL-aware app takes. */
  link: string;
  /** Medkey's viewer with the link in its fragment: opens in any browser. */
  viewerUrl: string;
  view: Schemas['ShareLinkView'];
  /** The key, for replacing a long-lived link's files later (keep it on this device only). */
  key: Uint8Array;
}

function random(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/**
 * A long-lived link's key: HKDF-SHA256 of her account's secret and the link's id, so any device
 * of hers can encrypt the link's files again later and no device has to keep the key.
 */
export function longLivedKey(accountSecret: Uint8Array, id: string): Uint8Array {
  return hkdf(sha256, accountSecret, utf8ToBytes('medkey/v1/share-link-key'), utf8ToBytes(id), 32);
}

/** New files for her long-lived link `id` (the link itself, and so its key, stays the same). */
export async function refreshShareLink(
  vault: VaultClient,
  id: string,
  bundleText: string,
  accountSecret: Uint8Array,
): Promise<void> {
  const key = longLivedKey(accountSecret, id);
  try {
    await vault.replaceShareLinkFiles(id, [
      { content_type: FHIR_CONTENT_TYPE, jwe: await encryptShareFile(bundleText, key) },
    ]);
  } finally {
    key.fill(0);
  }
}

/** One file: `content` (JSON text) as a compact JWE under `key`. */
export async function encryptShareFile(
  content: string,
  key: Uint8Array,
  contentType = FHIR_CONTENT_TYPE,
): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(content))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: contentType.split(';')[0]! })
    .encrypt(key);
}

/** Creates a link to `bundleText` (a FHIR Bundle's JSON) on `vault`, which she is signed in to. */
export async function createShareLink(
  vault: VaultClient,
  bundleText: string,
  options: ShareLinkOptions,
): Promise<CreatedShareLink> {
  const label = options.label.trim().slice(0, 80);
  const id = base64urlnopad.encode(random(32));
  const key = options.longLived ? longLivedKey(options.longLived.accountSecret, id) : random(32);
  const url = `${vault.baseUrl.replace(/\/+$/, '')}/shl/${id}`;
  const jwe = await encryptShareFile(bundleText, key);
  const view = await vault.createShareLink({
    id,
    manifest_url: url,
    label,
    ...(options.passcode ? { passcode: options.passcode } : {}),
    ...(options.expiresAt ? { expires_at_ms: options.expiresAt.getTime() } : {}),
    single_use: options.singleUse ?? false,
    long_lived: Boolean(options.longLived),
    categories: options.longLived?.categories ?? [],
    purpose: options.purpose ?? 'link',
    files: [{ content_type: FHIR_CONTENT_TYPE, jwe }],
  });
  if (options.direct && options.passcode)
    throw new MedkeyError(
      'invalid_link',
      'A direct link cannot have a passcode: the recipient never asks for a manifest.',
    );
  const flag = [options.longLived ? 'L' : '', options.passcode ? 'P' : '', options.direct ? 'U' : ''].join('');
  const payload: ShlPayload = {
    url,
    key: base64urlnopad.encode(key),
    ...(options.expiresAt ? { exp: Math.floor(options.expiresAt.getTime() / 1000) } : {}),
    ...(flag ? { flag } : {}),
    label,
    v: 1,
  };
  const link = `shlink:/${base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(payload)))}`;
  return { link, viewerUrl: `${vault.baseUrl.replace(/\/+$/, '')}/view/#${link}`, view, key };
}

/** The payload of `shlink:/…`, or of a URL carrying it in its fragment. */
export function decodeShareLink(text: string): ShlPayload {
  const link = text.includes('#') ? text.slice(text.indexOf('#') + 1) : text;
  if (!link.startsWith('shlink:/'))
    throw new MedkeyError('not_a_link', 'This is not a SMART Health Link. Check that the whole link was copied.');
  let payload: ShlPayload;
  try {
    payload = JSON.parse(new TextDecoder().decode(base64urlnopad.decode(link.slice('shlink:/'.length)))) as ShlPayload;
  } catch {
    throw new MedkeyError('not_a_link', 'This link is damaged: part of it is missing or changed. Ask for it again.');
  }
  if (typeof payload.url !== 'string' || typeof payload.key !== 'string' || payload.key.length !== 43) {
    throw new MedkeyError('not_a_link', 'This link is damaged: part of it is missing or changed. Ask for it again.');
  }
  return payload;
}

export interface ReceivedFile {
  contentType: string;
  /** The file's JSON (a FHIR Bundle for Medkey's links). */
  content: unknown;
}

/** What a refusal means for the person holding the link, with what to do next. */
function refusal(
  status: number,
  body: { remainingAttempts?: number; error?: { code?: string } } | undefined,
): MedkeyError {
  const code = body?.error?.code ?? 'refused';
  if (status === 401) {
    const left = body?.remainingAttempts ?? 0;
    return new MedkeyError(
      'wrong_passcode',
      `That passcode is not right. ${left} ${left === 1 ? 'try is' : 'tries are'} left before the link stops working.`,
      401,
    );
  }
  const words: Record<string, string> = {
    link_revoked: 'The person who shared this link has stopped sharing it.',
    link_expired: 'This link has expired. Ask the person who shared it for a new one.',
    link_used: 'This link could be opened once, and it has been. Ask for a new one.',
    link_disabled: 'Too many wrong passcodes were tried, so this link no longer works. Ask for a new one.',
    no_such_link: 'This link does not exist (or no longer does). Ask for a new one.',
    rate_limited: 'Too many tries from this network. Wait a minute and try again.',
  };
  return new MedkeyError(code, words[code] ?? `The link could not be opened (${status}). Try again later.`, status);
}

/** Opens a link as the specification says: the manifest with `recipient` (and the passcode), then each file, decrypted here. */
export async function openShareLink(
  text: string,
  recipient: string,
  passcode?: string,
  fetchFn: typeof fetch = fetch,
): Promise<{ payload: ShlPayload; files: ReceivedFile[] }> {
  const payload = decodeShareLink(text);
  if (payload.exp !== undefined && payload.exp * 1000 < Date.now())
    throw refusal(404, { error: { code: 'link_expired' } });
  const key = base64urlnopad.decode(payload.key);
  if (payload.flag?.includes('U')) {
    // Flag U: the one file, directly.
    const fetched = await fetchFn(`${payload.url}?recipient=${encodeURIComponent(recipient)}`);
    if (!fetched.ok) throw refusal(fetched.status, (await fetched.json().catch(() => undefined)) as undefined);
    return { payload, files: [await decryptFile(FHIR_CONTENT_TYPE, await fetched.text(), key)] };
  }
  const answer = await fetchFn(payload.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ recipient, ...(payload.flag?.includes('P') ? { passcode: passcode ?? '' } : {}) }),
  });
  const body = (await answer.json().catch(() => undefined)) as
    (Schemas['Manifest'] & { remainingAttempts?: number; error?: { code?: string } }) | undefined;
  if (!answer.ok || !body) throw refusal(answer.status, body);
  const files: ReceivedFile[] = [];
  for (const file of body.files) {
    let compact = file.embedded ?? undefined;
    if (!compact && file.location) {
      const fetched = await fetchFn(file.location);
      if (!fetched.ok) throw refusal(fetched.status, (await fetched.json().catch(() => undefined)) as undefined);
      compact = await fetched.text();
    }
    if (!compact) continue;
    files.push(await decryptFile(file.contentType, compact, key));
  }
  return { payload, files };
}

async function decryptFile(contentType: string, compact: string, key: Uint8Array): Promise<ReceivedFile> {
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(compact, key));
  } catch {
    throw new MedkeyError(
      'tampered',
      'The shared file does not match its link: it was changed, or the link was. Ask for a new one.',
    );
  }
  return { contentType, content: JSON.parse(new TextDecoder().decode(plaintext)) };
}
