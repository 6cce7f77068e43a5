// The words of an activity log: what each audit entry means, to a patient or a provider.
import { PURPOSES, type AuditEntry } from '@medkey/client';
import { getAddress } from 'viem';
import { PURPOSE_LABELS } from './labels.ts';

const KINDS: Record<string, string> = {
  key_released: 'opened a record',
  key_denied: 'was refused a record',
  attachment_released: 'downloaded an attachment',
  record_created: 'added a record',
  record_updated: 'updated a record',
  record_erased: 'erased a record',
  attachment_stored: 'attached a file',
  keys_added: 'shared record keys',
  login: 'signed in',
  grant_relayed: 'started sharing',
  revoke_relayed: 'stopped sharing',
  encryption_key_published: 'published an encryption key',
  emergency_providers_set: 'chose emergency providers',
  provider_applied: 'applied to the registry',
  access_requested: 'asked for access',
  access_approved: 'approved an access request',
  access_declined: 'declined an access request',
  share_link_created: 'made a share link',
  share_link_revoked: 'stopped a share link',
  share_link_opened: 'opened one of your share links',
  share_link_refused: 'was refused one of your share links',
};

export function whatHappened(entry: AuditEntry): string {
  return KINDS[entry.kind] ?? entry.kind.replaceAll('_', ' ');
}

const OUTCOMES: Record<string, string> = {
  ok: '',
  no_live_grant: 'no live grant',
  provider_suspended: 'provider suspended',
  provider_not_registered: 'not a registered provider',
  not_found: 'no such record',
  mfa_required: 'second factor required',
  not_in_record_set: 'record not in the shared set',
  key_not_wrapped: 'record not shared yet',
  wrong_passcode: 'wrong passcode',
  revoked: 'the link was stopped',
  expired: 'the link had expired',
  used: 'the link had been used',
  disabled: 'the link was stopped after wrong passcodes',
};

export function outcomeWords(outcome: string): string {
  return OUTCOMES[outcome] ?? outcome.replaceAll('_', ' ');
}

/** "for treatment, under grant 0x3c44…0618", or '' when the entry names neither. */
export function underWhat(entry: AuditEntry): string {
  // A share link's entries name the link by a hash of it, not a grant.
  if (entry.kind.startsWith('share_link') && entry.grant_id) return `link ${entry.grant_id.slice(0, 10)}…`;
  const purpose = entry.purpose === null || entry.purpose === undefined ? undefined : PURPOSES[entry.purpose];
  const label = purpose ? (PURPOSE_LABELS[purpose] ?? purpose).toLowerCase() : undefined;
  const grant = entry.grant_id ? `${entry.grant_id.slice(0, 10)}…${entry.grant_id.slice(-4)}` : undefined;
  return [label && `for ${label}`, grant && `under grant ${grant}`].filter(Boolean).join(', ');
}

/** Everyone in the log other than `self` (checksummed addresses), for the per-person filter. */
export function otherActors(entries: AuditEntry[], self: string | undefined): string[] {
  return [...new Set(entries.map((e) => getAddress(e.actor)))]
    .filter((a) => a.toLowerCase() !== self?.toLowerCase())
    .sort();
}

/** Whether `entry` was caused by `actor` (addresses compared whatever their case). */
export function byActor(entry: AuditEntry, actor: string): boolean {
  return entry.actor.toLowerCase() === actor.toLowerCase();
}
