// Nothing silently wrong: before a file's records are stored, each is checked as valid FHIR R4
// (the CLI's check, `fhirValidator`) and against what she has already (the same content stored
// before, `contentKey`: a file added twice, or again after an interrupted import). Either kind is left out by
// default, said in words, and she may store them anyway.

import { fhirValidator, problemWords } from '@medkey/client';
import type { PlannedRecord } from './importFile.ts';
import type { RecordItem } from './timeline.ts';

/**
 * What makes two records the same content: the resource without its `id` and `meta`, with each
 * reference cut to the type it names. A converter gives new ids each time it reads a document
 * (Medplum's C-CDA converter does), so the same CCD added twice differs only there.
 */
export function contentKey(resource: unknown): string {
  const canonical = (value: unknown, top: boolean): unknown => {
    if (Array.isArray(value)) return value.map((v) => canonical(v, false));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([key]) => !(top && (key === 'id' || key === 'meta')))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, v]) =>
        key === 'reference' && typeof v === 'string'
          ? [key, /^[A-Za-z]+(?=\/)|^urn:/.exec(v)?.[0] ?? v]
          : [key, canonical(v, false)],
      );
    return Object.fromEntries(entries);
  };
  return JSON.stringify(canonical(resource, true));
}

/** `planned` with what is not valid FHIR R4 marked, said in words, and left out. */
export async function validatePlan(planned: PlannedRecord[]): Promise<PlannedRecord[]> {
  const check = await fhirValidator();
  return planned.map((p) => {
    const problem = check(p.resource);
    const { invalid: _i, stored: _s, skip: _k, ...rest } = p;
    return problem ? { ...rest, invalid: problemWords(problem), skip: true } : rest;
  });
}

/** `planned` (each with its `contentKey` in `keys`) with what she has already marked and left out. */
export function markStored(
  planned: PlannedRecord[],
  keys: readonly string[],
  stored: readonly RecordItem[],
): PlannedRecord[] {
  const have = new Set(stored.flatMap((r) => (r.resource ? [contentKey(r.resource)] : [])));
  return planned.map((p, i) => (have.has(keys[i]!) ? { ...p, stored: true, skip: true } : p));
}

/** What is left out, counted: invalid, stored already. */
export function leftOut(planned: readonly PlannedRecord[]): { invalid: number; stored: number } {
  return {
    invalid: planned.filter((p) => p.skip && p.invalid).length,
    stored: planned.filter((p) => p.skip && p.stored && !p.invalid).length,
  };
}

/** Keeps in what was left out for `reason` (she said: store them anyway). */
export function keepIn(planned: readonly PlannedRecord[], reason: 'invalid' | 'stored'): PlannedRecord[] {
  return planned.map((p) => {
    if (!p.skip || (reason === 'invalid' ? !p.invalid : !p.stored)) return p;
    const stillOut = reason === 'invalid' ? Boolean(p.stored) : Boolean(p.invalid);
    const { skip: _k, ...rest } = p;
    return stillOut ? p : rest;
  });
}
