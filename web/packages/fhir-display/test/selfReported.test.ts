// Self-reported entries are valid FHIR R4: checked by the project's independent validator
// (scripts/fhir_validate.py, fhir.resources in tools/py), and refused in words when out of range.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { observationValue, selfReportedResource, titleOf, type SelfReport } from '../src/index.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const when = new Date('2026-11-30T08:00:00Z');
const reports: SelfReport[] = [
  { kind: 'blood-pressure', systolic: 128, diastolic: 84, when },
  { kind: 'weight', kilograms: 61.5, when },
  { kind: 'allergy', substance: 'Peanuts', reaction: 'Swollen lips' },
  { kind: 'medication', name: 'Ibuprofen 200 mg', dosage: 'One tablet when needed' },
];

describe('self-reported entries', () => {
  it('are FHIR R4 that an independent validator accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'medkey-self-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const files = reports.map((r, i) => {
      const path = join(dir, `${i}.json`);
      writeFileSync(path, JSON.stringify(selfReportedResource(r)));
      return path;
    });
    const out = execFileSync(join(root, 'tools/py/bin/python'), [
      join(root, 'scripts/fhir_validate.py'),
      ...files,
    ]).toString();
    expect(out.match(/^valid /gm)?.length, out).toBe(reports.length);
  });

  it('read back as people expect', () => {
    const [bp, weight, allergy, medication] = reports.map(selfReportedResource);
    expect(observationValue(bp!)).toBe('128/84 mmHg');
    expect(observationValue(weight!)).toBe('61.5 kg');
    expect(titleOf(allergy!)).toBe('Peanuts');
    expect(titleOf(medication!)).toBe('Ibuprofen 200 mg');
  });

  it('are refused with what to fix', () => {
    expect(() => selfReportedResource({ kind: 'blood-pressure', systolic: 1280, diastolic: 84, when })).toThrow(
      /upper number/,
    );
    expect(() => selfReportedResource({ kind: 'weight', kilograms: Number.NaN, when })).toThrow(/weight in kilograms/);
    expect(() => selfReportedResource({ kind: 'allergy', substance: '  ' })).toThrow(/Write the substance/);
  });
});
