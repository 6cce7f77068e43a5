// The activity page's words: what each audit entry means to the patient.
import type { AuditEntry } from '@medkey/client';

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
  access_requested: 'asked for access',
  access_approved: 'approved an access request',
  access_declined: 'declined an access request',
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
};

export function outcomeWords(outcome: string): string {
  return OUTCOMES[outcome] ?? outcome.replaceAll('_', ' ');
}
