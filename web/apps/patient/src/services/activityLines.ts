// Her activity log in words a person reads: who (her, a provider by its checked directory name,
// someone with a link), what, and which record (its title among her records here), newest
// first; her own routine runs (adding 103 records from one file, signing in) folded into one
// line with a count. Pure: the screen shows what this returns.

import { outcomeWords, underWhat, whatHappened } from '@medkey/app-shell';
import type { AuditEntry, CheckedEntry } from '@medkey/client';
import { getAddress } from 'viem';
import type { RecordItem } from './timeline.ts';

export interface ActivityLine {
  key: number;
  at: Date;
  who: string;
  /** What happened, with the record's title when it names one of hers ("opened Lipid Panel"). */
  what: string;
  under?: string;
  refused?: string;
  /** How many entries this line stands for (her own routine runs folded together). */
  count: number;
}

/** Someone in her log: a provider by its directory name when that checked out on chain, else the address. */
export function actorName(address: string, names: Record<string, CheckedEntry>): string {
  const checked = names[address.toLowerCase()];
  return checked?.verdict.verified ? checked.entry.profile.display_name : getAddress(address);
}

/** Her own entries of these kinds fold together when they come one after another. */
const ROUTINE = new Set(['record_created', 'login', 'keys_added', 'attachment_stored', 'record_updated']);

const hex = (bytes: number[] | null | undefined) =>
  bytes ? bytes.map((b) => b.toString(16).padStart(2, '0')).join('') : undefined;

export function activityLines(
  entries: readonly { leaf_index: number; entry: AuditEntry }[],
  self: string | undefined,
  names: Record<string, CheckedEntry>,
  records: readonly RecordItem[],
): ActivityLine[] {
  const titles = new Map(records.map((r) => [r.view.record_id.replaceAll('-', '').toLowerCase(), r.title]));
  const mine = (entry: AuditEntry) => self !== undefined && entry.actor.toLowerCase() === self.toLowerCase();
  const lines: (ActivityLine & { fold?: string })[] = [];
  for (const { leaf_index, entry } of [...entries].reverse()) {
    const fold = mine(entry) && ROUTINE.has(entry.kind) && entry.outcome === 'ok' ? entry.kind : undefined;
    const last = lines.at(-1);
    if (fold && last?.fold === fold) {
      last.count += 1;
      continue;
    }
    const who = mine(entry)
      ? 'You'
      : /^0x0{40}$/.test(entry.actor)
        ? 'Someone with the link'
        : actorName(entry.actor, names);
    const title = titles.get(hex(entry.record_id) ?? '');
    const under = underWhat(entry);
    lines.push({
      key: leaf_index,
      at: new Date(entry.at_ms),
      who,
      what: title ? `${whatHappened(entry)}: ${title}` : whatHappened(entry),
      ...(under ? { under } : {}),
      ...(entry.outcome !== 'ok' ? { refused: outcomeWords(entry.outcome) } : {}),
      count: 1,
      ...(fold ? { fold } : {}),
    });
  }
  // A folded run says what it did and how often, not the first record's title.
  return lines.map(({ fold, ...line }) =>
    fold && line.count > 1
      ? { ...line, what: `${whatHappened({ kind: fold } as AuditEntry)} (${line.count} times)` }
      : line,
  );
}
