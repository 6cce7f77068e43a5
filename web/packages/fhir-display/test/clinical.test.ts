// Values, flags and references as every app shows them.
import { describe, expect, it } from 'vitest';
import {
  RecordIndex,
  componentLines,
  dosageText,
  flagOf,
  medicationPeriod,
  partyName,
  reactions,
  reportResults,
  rowValue,
  titleOf,
  type Resource,
} from '../src/index.ts';

const ldl: Resource = {
  resourceType: 'Observation',
  id: 'ldl',
  code: { text: 'LDL cholesterol' },
  valueQuantity: { value: 164, unit: 'mg/dL' },
  referenceRange: [{ high: { value: 130, unit: 'mg/dL' } }],
  effectiveDateTime: '2026-03-02',
};
const hdl: Resource = {
  resourceType: 'Observation',
  id: '6f1e2c1d-8b1a-4f7e-9c51-2a7c0e0d3b11',
  code: { text: 'HDL cholesterol' },
  valueQuantity: { value: 52, unit: 'mg/dL' },
  interpretation: [
    { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'N' }] },
  ],
};
const panel: Resource = {
  resourceType: 'DiagnosticReport',
  code: { text: 'Lipid panel' },
  result: [
    { reference: 'Observation/ldl' },
    { reference: 'urn:uuid:6F1E2C1D-8B1A-4F7E-9C51-2A7C0E0D3B11' },
    { reference: 'Observation/missing', display: 'Triglycerides' },
  ],
};

describe('flags', () => {
  it("takes the lab's own flag, else works it out from the range in the same unit", () => {
    expect(flagOf(ldl)).toMatchObject({ level: 'high', symbol: '↑', from: 'range', words: 'Above the normal range' });
    expect(flagOf(hdl)).toMatchObject({ level: 'normal', from: 'lab' });
    const critical = { ...ldl, interpretation: [{ coding: [{ code: 'LL' }] }] };
    expect(flagOf(critical)).toMatchObject({ level: 'critical', words: 'Critically low', symbol: '↓↓' });
    // A range in another unit, or a value with a comparator, is not compared.
    expect(flagOf({ ...ldl, referenceRange: [{ high: { value: 3.4, unit: 'mmol/L' } }] })).toBeUndefined();
    expect(flagOf({ ...ldl, valueQuantity: { value: 164, comparator: '>', unit: 'mg/dL' } })).toBeUndefined();
  });
});

describe('a report with its results', () => {
  const index = new RecordIndex([ldl, hdl]);

  it('resolves results among her records, by Type/id and urn:uuid, and names the ones not here', () => {
    const { lines, missing } = reportResults(panel, index);
    expect(lines.map((l) => [l.name, l.value, l.flag?.words])).toEqual([
      ['LDL cholesterol', '164 mg/dL', 'Above the normal range'],
      ['HDL cholesterol', '52 mg/dL', 'Normal'],
    ]);
    expect(missing).toEqual(['Triglycerides']);
  });

  it('says in a row what a clinician looks for', () => {
    expect(rowValue(ldl)).toBe('164 mg/dL ↑');
    expect(rowValue(panel, index)).toBe('3 results, 1 flagged');
    expect(rowValue({ resourceType: 'DiagnosticReport', conclusion: 'Normal study' })).toBe('Normal study');
  });

  it("lists a panel's parts with their own ranges", () => {
    const bp = {
      resourceType: 'Observation',
      component: [
        {
          code: { text: 'Systolic' },
          valueQuantity: { value: 150, unit: 'mmHg' },
          referenceRange: [{ high: { value: 120, unit: 'mmHg' } }],
        },
        { code: { text: 'Diastolic' }, valueQuantity: { value: 82, unit: 'mmHg' } },
      ],
    };
    expect(componentLines(bp).map((l) => [l.name, l.value, l.flag?.symbol])).toEqual([
      ['Systolic', '150 mmHg', '↑'],
      ['Diastolic', '82 mmHg', undefined],
    ]);
  });
});

describe('medicines, allergies, people', () => {
  const medication: Resource = { resourceType: 'Medication', id: 'm1', code: { text: 'Atorvastatin 20 mg tablet' } };
  const doctor: Resource = { resourceType: 'Practitioner', id: 'd1', name: [{ given: ['Ana'], family: 'Ruiz' }] };
  const request: Resource = {
    resourceType: 'MedicationRequest',
    medicationReference: { reference: 'Medication/m1' },
    requester: { reference: 'Practitioner/d1' },
    dosageInstruction: [{ doseAndRate: [{ doseQuantity: { value: 1, unit: 'tablet' } }], route: { text: 'by mouth' } }],
    dispenseRequest: { validityPeriod: { start: '2026-01-05', end: '2026-07-05' } },
  };

  it("names a prescription's medicine through its Medication, with dose and dates", () => {
    const index = new RecordIndex([medication, doctor]);
    expect(titleOf(request, index)).toBe('Atorvastatin 20 mg tablet');
    expect(titleOf(request)).toBe('Prescription');
    expect(titleOf({ ...request, medicationReference: { reference: 'Medication/x', display: 'Aspirin' } })).toBe(
      'Aspirin',
    );
    expect(dosageText(request)).toBe('1 tablet, by mouth');
    expect(medicationPeriod(request)).toMatch(/2026 to .*2026/);
    expect(partyName(request.requester, index)).toBe('Ana Ruiz');
  });

  it("titles a C-CDA problem by what it asserts, and lists an allergy's reactions", () => {
    const problem = {
      resourceType: 'Observation',
      code: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'ASSERTION', display: 'ASSERTION' },
        ],
      },
      valueCodeableConcept: { text: 'Pneumonia' },
    };
    expect(titleOf(problem)).toBe('Pneumonia');
    const allergy = {
      resourceType: 'AllergyIntolerance',
      criticality: 'high',
      reaction: [{ manifestation: [{ text: 'Hives' }], severity: 'severe' }, { manifestation: [{ text: 'Wheezing' }] }],
    };
    expect(reactions(allergy)).toEqual(['Hives, severe', 'Wheezing']);
    expect(rowValue(allergy)).toBe('Hives, severe · high risk');
  });
});

describe('trends', () => {
  const reading = (id: string, day: string, value: number, extra: Partial<Resource> = {}): Resource => ({
    resourceType: 'Observation',
    id,
    category: [{ coding: [{ code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '13457-7' }], text: 'LDL' },
    valueQuantity: { value, unit: 'mg/dL' },
    referenceRange: [{ low: { value: 0, unit: 'mg/dL' }, high: { value: 130, unit: 'mg/dL' } }],
    effectiveDateTime: day,
    ...extra,
  });

  it('draws a test measured more than once, oldest first, in one unit, with the latest range', async () => {
    const { trendsOf, trendFor } = await import('../src/trends.ts');
    const a = reading('a', '2026-03-01', 164);
    const b = reading('b', '2025-03-01', 150, { referenceRange: [{ high: { value: 100, unit: 'mg/dL' } }] });
    const mmol = reading('c', '2024-03-01', 3.9, { valueQuantity: { value: 3.9, unit: 'mmol/L' } });
    const once = { ...reading('d', '2026-01-01', 5), code: { text: 'Glucose' } };
    const bp = (id: string, day: string, s: number, d: number): Resource => ({
      resourceType: 'Observation',
      id,
      effectiveDateTime: day,
      component: [
        { code: { coding: [{ code: '8480-6' }] }, valueQuantity: { value: s, unit: 'mmHg' } },
        { code: { coding: [{ code: '8462-4' }] }, valueQuantity: { value: d, unit: 'mmHg' } },
      ],
    });
    const trends = trendsOf([a, b, mmol, once, bp('p1', '2026-01-02', 128, 82), bp('p2', '2026-02-02', 135, 88)]);
    expect(trends.map((t) => [t.name, t.unit, t.lines.map((l) => l.points.map((p) => p.value))])).toEqual([
      [
        'Blood pressure',
        'mmHg',
        [
          [128, 135],
          [82, 88],
        ],
      ],
      ['LDL', 'mg/dL', [[150, 164]]],
    ]);
    expect(trends[1]).toMatchObject({ low: 0, high: 130, kind: 'lab' });
    expect(trendFor(a, trends)?.name).toBe('LDL');
    expect(trendFor(once, trends)).toBeUndefined();
  });
});
