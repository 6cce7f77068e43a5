// Nothing silently wrong: invalid FHIR and records stored already are left out, said, and kept
// in when she says so; an interrupted import is told at the next sign-in.
import { beforeAll, describe, expect, it } from 'vitest';
import { planAll } from '../../src/services/importFile.ts';
import { importProgress, interruptedImport } from '../../src/services/importProgress.ts';
import { contentKey, keepIn, leftOut, markStored, validatePlan } from '../../src/services/planChecks.ts';
import type { RecordItem } from '../../src/services/timeline.ts';

beforeAll(() => {
  (globalThis as { WebSocket?: unknown }).WebSocket ??= class {};
});

const weight = (id: string, performer: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { text: 'Body weight' },
  valueQuantity: { value: 71.5, unit: 'kg' },
  performer: [{ reference: `Practitioner/${performer}` }],
});

describe('checking a plan', () => {
  it('leaves out invalid FHIR and what is stored already, and keeps them in on her word', async () => {
    const planned = planAll([
      { resource: weight('new-id', 'p-new') },
      { resource: { resourceType: 'Patient', birthDate: '12/25/1974' } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'Pulse' } } },
    ]);
    const stored = [{ resource: weight('old-id', 'p-old') }] as unknown as RecordItem[];
    const valid = await validatePlan(planned);
    const checked = markStored(
      valid,
      valid.map((p) => contentKey(p.resource)),
      stored,
    );
    expect(checked.map((p) => [p.skip ?? false, p.stored ?? false, p.invalid])).toEqual([
      [true, true, undefined],
      [true, false, 'Patient.birthDate: Invalid date format'],
      [false, false, undefined],
    ]);
    expect(leftOut(checked)).toEqual({ invalid: 1, stored: 1 });
    expect(leftOut(keepIn(checked, 'invalid'))).toEqual({ invalid: 0, stored: 1 });
    expect(keepIn(keepIn(checked, 'invalid'), 'stored').every((p) => !p.skip)).toBe(true);
  });

  it('sees the same content through new ids and references, not through a changed value', () => {
    expect(contentKey(weight('a', 'x'))).toBe(contentKey({ ...weight('b', 'y'), meta: { versionId: '2' } }));
    expect(contentKey(weight('a', 'x'))).not.toBe(contentKey({ ...weight('a', 'x'), valueQuantity: { value: 72 } }));
  });

  it('tells the next sign-in how far an interrupted import got, once, and forgets a finished one', () => {
    const items = new Map<string, string>();
    const storage = {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => void items.set(k, v),
      removeItem: (k: string) => void items.delete(k),
    } as Storage;
    const progress = importProgress(storage);
    progress.start(34);
    progress.stored(6);
    expect(interruptedImport(storage)).toMatch(/6 of 34 records were stored/);
    expect(interruptedImport(storage)).toBeUndefined();
    progress.start(2);
    progress.finish();
    expect(interruptedImport(storage)).toBeUndefined();
  });
});
