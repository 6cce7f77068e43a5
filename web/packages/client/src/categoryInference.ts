// A record's category from its FHIR content: the same rules as protocol/src/fhir_category.rs
// (docs/consent-model.md has the table), checked against the Rust side by the cross vectors.
// Sensitive categories (mental health, substance use, sexual and reproductive health) win
// over the resource type, so they are never shared under a broader category by accident.

import type { Category } from './consent.ts';

type Coding = { system?: string; code?: string };
type Resource = { resourceType?: unknown; code?: { coding?: Coding[] }; category?: unknown };

const BY_TYPE: Record<string, Category> = {
  Specimen: 'lab_results',
  MedicationRequest: 'prescriptions',
  MedicationStatement: 'prescriptions',
  MedicationDispense: 'prescriptions',
  MedicationAdministration: 'prescriptions',
  Medication: 'prescriptions',
  ImagingStudy: 'imaging',
  Media: 'imaging',
  Immunization: 'immunizations',
  ImmunizationRecommendation: 'immunizations',
  ImmunizationEvaluation: 'immunizations',
  AllergyIntolerance: 'allergies',
  Condition: 'conditions',
  FamilyMemberHistory: 'conditions',
  ClinicalImpression: 'clinical_notes',
  Procedure: 'procedures',
  Encounter: 'encounters',
  EpisodeOfCare: 'encounters',
  CarePlan: 'care_plans',
  CareTeam: 'care_plans',
  Goal: 'care_plans',
  ServiceRequest: 'care_plans',
  NutritionOrder: 'care_plans',
  DocumentReference: 'documents',
  Composition: 'documents',
  Binary: 'documents',
  Patient: 'documents',
  QuestionnaireResponse: 'documents',
  MolecularSequence: 'genetics',
};

/** The categories that are off by default when sharing, each with a warning. */
export const SENSITIVE_CATEGORIES: readonly Category[] = ['mental_health', 'substance_use', 'sexual_reproductive_health', 'genetics'];

function hasCategoryCode(resource: Resource, codes: string[]): boolean {
  const list = Array.isArray(resource.category) ? resource.category : resource.category ? [resource.category] : [];
  return list
    .flatMap((c: { coding?: Coding[] }) => c?.coding ?? [])
    .some((coding: Coding) => codes.some((code) => code.toLowerCase() === coding.code?.toLowerCase()));
}

function sensitiveByCode(resource: Resource): Category | undefined {
  for (const coding of resource.code?.coding ?? []) {
    if (!coding.system?.includes('icd-10')) continue;
    const code = (coding.code ?? '').toUpperCase();
    if (code.startsWith('F')) {
      const chapter = Number.parseInt(code.slice(1, 3), 10);
      return chapter >= 10 && chapter <= 19 ? 'substance_use' : 'mental_health';
    }
    if (code.startsWith('O')) return 'sexual_reproductive_health';
  }
  return undefined;
}

/** The category Medkey files `resource` under, or undefined when the type says nothing (ask the person). */
export function inferCategory(resource: Resource): Category | undefined {
  const kind = resource.resourceType;
  if (typeof kind !== 'string') return undefined;
  const sensitive = sensitiveByCode(resource);
  if (sensitive) return sensitive;
  if (kind === 'Observation') {
    if (hasCategoryCode(resource, ['vital-signs'])) return 'vitals';
    if (hasCategoryCode(resource, ['imaging'])) return 'imaging';
    if (hasCategoryCode(resource, ['laboratory'])) return 'lab_results';
    if (hasCategoryCode(resource, ['procedure'])) return 'procedures';
    return 'clinical_notes';
  }
  if (kind === 'DiagnosticReport') {
    return hasCategoryCode(resource, ['RAD', 'imaging', 'NMR', 'CT', 'US', 'XRC']) ? 'imaging' : 'lab_results';
  }
  return BY_TYPE[kind];
}
