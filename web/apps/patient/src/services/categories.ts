import type { Category } from '@medkey/client';

export const CATEGORY_LABELS: Record<Category, string> = {
  lab_results: 'Lab results',
  prescriptions: 'Prescriptions',
  imaging: 'Imaging',
  immunizations: 'Vaccinations',
  allergies: 'Allergies',
  conditions: 'Conditions',
  clinical_notes: 'Clinical notes',
  vitals: 'Vital signs',
  procedures: 'Procedures',
  encounters: 'Visits',
  care_plans: 'Care plans',
  documents: 'Documents',
  mental_health: 'Mental health',
  substance_use: 'Substance use',
  sexual_reproductive_health: 'Sexual and reproductive health',
  genetics: 'Genetics',
};
