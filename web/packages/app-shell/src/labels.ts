// Consent words in plain language, the same in every app.
import type { Category, Purpose } from '@medkey/client';

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

export const PURPOSE_LABELS: Partial<Record<Purpose, string>> = {
  TREAT: 'Treatment',
  ETREAT: 'Emergency treatment',
  COC: 'Coordination of care',
  CAREMGT: 'Care management',
  HPAYMT: 'Payment',
  CLINTRL: 'A clinical trial',
  HRESCH: 'Research',
  FAMRQT: 'A family member’s request',
  PWATRNY: 'Power of attorney',
  PUBHLTH: 'Public health',
};
