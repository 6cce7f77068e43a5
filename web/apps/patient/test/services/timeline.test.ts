// The timeline's order: records by when they happened, undated ones apart, never by upload day.
import { describe, expect, it } from 'vitest';
import {
  NO_FILTER,
  datedAndUndated,
  filterRecords,
  newestFirst,
  ownBirthDate,
  ownName,
  type RecordItem,
} from '../../src/services/timeline.ts';

const item = (id: string, addedMs: number, date?: string): RecordItem => ({
  view: {
    record_id: id,
    category: 'lab_results',
    resource_type: 'Observation',
    owner: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    created_by: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    created_at_ms: addedMs,
    updated_at_ms: addedMs,
    erased: false,
    version: 1,
  },
  title: id,
  ...(date ? { date: new Date(date) } : {}),
});

describe('the timeline', () => {
  // All added today; two happened years ago, two have no date at all.
  const today = Date.parse('2026-12-07T09:00:00Z');
  const items = [
    item('patient', today + 3, undefined),
    item('ldl-2019', today + 1, '2019-06-01'),
    item('practitioner', today + 2, undefined),
    item('hba1c-2024', today, '2024-02-10'),
  ];

  it('orders dated records by when they happened, and puts undated ones after, newest added first', () => {
    expect(newestFirst(items).map((i) => i.title)).toEqual(['hba1c-2024', 'ldl-2019', 'patient', 'practitioner']);
    const { dated, undated } = datedAndUndated(newestFirst(items));
    expect(dated.map((i) => i.title)).toEqual(['hba1c-2024', 'ldl-2019']);
    expect(undated.map((i) => i.title)).toEqual(['patient', 'practitioner']);
  });

  it('filters dates by when things happened, not by the upload day', () => {
    const uploadDay = { ...NO_FILTER, from: '2026-12-07', to: '2026-12-07' };
    expect(filterRecords(items, uploadDay)).toEqual([]);
    const in2019 = { ...NO_FILTER, from: '2019-01-01', to: '2019-12-31' };
    expect(filterRecords(items, in2019).map((i) => i.title)).toEqual(['ldl-2019']);
  });
});

describe('her name', () => {
  const OWNER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
  const patient = (id: string, by: string, updated: number, name: unknown): RecordItem => ({
    view: {
      record_id: id,
      category: 'clinical_notes',
      resource_type: 'Patient',
      owner: OWNER,
      created_by: by,
      created_at_ms: 1,
      updated_at_ms: updated,
      erased: false,
      version: 1,
    },
    title: id,
    resource: { resourceType: 'Patient', name },
  });

  it('comes from her own Patient record only, the latest one with a name', () => {
    const clinic = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
    const items = [
      patient('hers-old', OWNER.toLowerCase(), 1, [{ given: ['Jane'], family: 'Old' }]),
      patient('hers-new', OWNER, 5, [{ use: 'official', given: ['Jane', 'Q'], family: 'Doe' }]),
      patient('clinics', clinic, 9, [{ text: 'J. Doe (per clinic)' }]),
      patient('nameless', OWNER, 7, 'not a list'),
    ];
    expect(ownName(items)).toBe('Jane Q Doe');
    expect(ownName(items.filter((i) => i.title !== 'hers-new' && i.title !== 'hers-old'))).toBeUndefined();
  });

  it('is cut to fit a header, however long the record says it is', () => {
    const long = patient('long', OWNER, 1, [{ text: 'A'.repeat(5_000) }]);
    expect(ownName([long])).toHaveLength(80);
  });

  it('gives her birth date from her own record only, and only a date', () => {
    const born = (id: string, by: string, updated: number, birthDate: unknown): RecordItem => ({
      ...patient(id, by, updated, []),
      resource: { resourceType: 'Patient', birthDate },
    });
    const clinic = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
    expect(ownBirthDate([born('clinics', clinic, 9, '1990-01-01'), born('hers', OWNER, 1, '1974-12-25')])).toBe(
      '1974-12-25',
    );
    expect(ownBirthDate([born('odd', OWNER, 1, '12/25/1974'), born('obj', OWNER, 2, { d: 1 })])).toBeUndefined();
  });
});
