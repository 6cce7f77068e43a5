// FHIR R4 resources for what a patient notes herself: a blood pressure reading, her weight, an
// allergy, a medication she takes. Marked as patient-reported so providers can tell them apart.

import type { Resource } from './fhir.ts';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const VITALS = [
  {
    coding: [
      {
        system: 'http://terminology.hl7.org/CodeSystem/observation-category',
        code: 'vital-signs',
        display: 'Vital Signs',
      },
    ],
  },
];

export type SelfReport =
  | { kind: 'blood-pressure'; systolic: number; diastolic: number; when: Date }
  | { kind: 'weight'; kilograms: number; when: Date }
  | { kind: 'allergy'; substance: string; reaction?: string }
  | { kind: 'medication'; name: string; dosage?: string };

function checkNumber(value: number, low: number, high: number, what: string): void {
  if (!Number.isFinite(value) || value < low || value > high)
    throw new Error(`${what} must be a number from ${low} to ${high}.`);
}

function checkText(value: string, what: string): string {
  const text = value.trim();
  if (!text) throw new Error(`Write the ${what}.`);
  if (text.length > 200) throw new Error(`The ${what} is too long (at most 200 characters).`);
  return text;
}

/** The FHIR resource for `report`, or an Error saying what to fix. */
export function selfReportedResource(report: SelfReport): Resource {
  switch (report.kind) {
    case 'blood-pressure': {
      checkNumber(report.systolic, 50, 300, 'The upper number (systolic)');
      checkNumber(report.diastolic, 20, 200, 'The lower number (diastolic)');
      const mmHg = (value: number) => ({ value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' });
      return {
        resourceType: 'Observation',
        status: 'final',
        category: VITALS,
        code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }], text: 'Blood pressure' },
        effectiveDateTime: report.when.toISOString(),
        component: [
          {
            code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] },
            valueQuantity: mmHg(report.systolic),
          },
          {
            code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] },
            valueQuantity: mmHg(report.diastolic),
          },
        ],
      };
    }
    case 'weight':
      checkNumber(report.kilograms, 0.5, 500, 'The weight in kilograms');
      return {
        resourceType: 'Observation',
        status: 'final',
        category: VITALS,
        code: { coding: [{ system: LOINC, code: '29463-7', display: 'Body weight' }], text: 'Body weight' },
        effectiveDateTime: report.when.toISOString(),
        valueQuantity: { value: report.kilograms, unit: 'kg', system: UCUM, code: 'kg' },
      };
    case 'allergy': {
      const substance = checkText(report.substance, 'substance you are allergic to');
      const reaction = report.reaction?.trim();
      return {
        resourceType: 'AllergyIntolerance',
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }],
        },
        verificationStatus: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'unconfirmed' },
          ],
        },
        code: { text: substance },
        patient: { display: 'Me (self-reported)' },
        recordedDate: new Date().toISOString(),
        ...(reaction ? { reaction: [{ manifestation: [{ text: checkText(reaction, 'reaction') }] }] } : {}),
      };
    }
    case 'medication': {
      const name = checkText(report.name, 'medication’s name');
      const dosage = report.dosage?.trim();
      return {
        resourceType: 'MedicationStatement',
        status: 'active',
        medicationCodeableConcept: { text: name },
        subject: { display: 'Me (self-reported)' },
        dateAsserted: new Date().toISOString(),
        ...(dosage ? { dosage: [{ text: checkText(dosage, 'dosage') }] } : {}),
      };
    }
  }
}
