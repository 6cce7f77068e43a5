// Her log in words: names for people, titles for records, her own routine runs folded.
import type { AuditEntry, CheckedEntry } from '@medkey/client';
import { describe, expect, it } from 'vitest';
import { activityLines } from '../../src/services/activityLines.ts';
import type { RecordItem } from '../../src/services/timeline.ts';

const me = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const lab = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const stranger = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65';
const id = Array.from({ length: 16 }, (_, i) => i);
const entry = (leaf: number, actor: string, kind: string, extra: Partial<AuditEntry> = {}) => ({
  leaf_index: leaf,
  entry: { actor, kind, at_ms: 1_700_000_000_000 + leaf, outcome: 'ok', ...extra } as AuditEntry,
});

describe('activity lines', () => {
  it('names the lab and the record, folds her own runs, and keeps refusals apart', () => {
    const names = {
      [lab.toLowerCase()]: { verdict: { verified: true }, entry: { profile: { display_name: 'Northside Lab' } } },
    } as unknown as Record<string, CheckedEntry>;
    const records = [
      { view: { record_id: id.map((b) => b.toString(16).padStart(2, '0')).join('') }, title: 'Lipid panel' },
    ];
    const lines = activityLines(
      [
        entry(1, me, 'login'),
        ...[2, 3, 4].map((n) => entry(n, me, 'record_created')),
        entry(5, lab, 'key_released', { record_id: id }),
        entry(6, stranger, 'key_denied', { outcome: 'no_live_grant' }),
      ],
      me,
      names,
      records as unknown as RecordItem[],
    );
    expect(lines.map((l) => [l.who, l.what, l.refused ?? ''])).toEqual([
      [stranger, 'was refused a record', 'no live grant'],
      ['Northside Lab', 'opened a record: Lipid panel', ''],
      ['You', 'added a record (3 times)', ''],
      ['You', 'signed in', ''],
    ]);
  });
});
