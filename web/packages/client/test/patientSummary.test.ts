// The emergency card's summary says medicines by name and each thing once.
import { describe, expect, it } from 'vitest';
import { buildPatientSummary, summaryLine } from '../src/index.ts';

describe('the patient summary', () => {
  const medication = { resourceType: 'Medication', id: 'm1', code: { text: 'Metformin 500 mg tablet' } };
  const byReference = { resourceType: 'MedicationRequest', medicationReference: { reference: 'Medication/m1' } };

  it('names a medicine through its Medication or the reference, never as "MedicationRequest"', () => {
    expect(summaryLine(byReference, [medication])).toBe('Metformin 500 mg tablet');
    expect(summaryLine({ ...byReference, medicationReference: { reference: 'urn:uuid:x', display: 'Aspirin' } })).toBe(
      'Aspirin',
    );
    expect(summaryLine({ ...byReference, medicationReference: {} })).toBe('A medicine (its name is not recorded)');
  });

  it('lists each allergy and medicine once, however many files brought it', () => {
    const allergy = { resourceType: 'AllergyIntolerance', code: { text: 'Penicillin' } };
    const summary = buildPatientSummary({
      resources: [allergy, { ...allergy }, byReference, { ...byReference }, medication],
      name: 'Ana Ruiz',
      contacts: [],
    });
    const items = Object.fromEntries(summary.sections.map((s) => [s.title, s.items]));
    expect(items['Allergies and intolerances']).toEqual(['Penicillin']);
    expect(items['Medications']).toEqual(['Metformin 500 mg tablet']);
    expect(summary.header.allergies).toEqual(['Penicillin']);
  });
});
