// The consent vocabulary, mirrored from contracts/src/ConsentTypes.sol (and protocol/src/consent.rs).
// The order is part of the contract ABI: a bit index for categories, a code for purposes.

export const CATEGORIES = [
  'lab_results',
  'prescriptions',
  'imaging',
  'immunizations',
  'allergies',
  'conditions',
  'clinical_notes',
  'vitals',
  'procedures',
  'encounters',
  'care_plans',
  'documents',
  'mental_health',
  'substance_use',
  'sexual_reproductive_health',
  'genetics',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const PURPOSES = [
  'TREAT',
  'ETREAT',
  'COC',
  'CAREMGT',
  'HPAYMT',
  'HOPERAT',
  'HRESCH',
  'CLINTRL',
  'PATRQT',
  'FAMRQT',
  'PWATRNY',
  'PUBHLTH',
] as const;
export type Purpose = (typeof PURPOSES)[number];

export function categoryIndex(category: Category): number {
  return CATEGORIES.indexOf(category);
}

export function categoryMask(categories: readonly Category[]): number {
  return categories.reduce((mask, c) => mask | (1 << categoryIndex(c)), 0);
}

export function categoriesOf(mask: number): Category[] {
  return CATEGORIES.filter((_, i) => (mask >> i) & 1);
}

export function purposeIndex(purpose: Purpose): number {
  return PURPOSES.indexOf(purpose);
}
