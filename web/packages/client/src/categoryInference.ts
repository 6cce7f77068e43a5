// A record's category from its FHIR content: the same rules as protocol/src/fhir_category.rs
// (docs/consent-model.md has the table), checked against the Rust side by the cross vectors.
// Sensitive categories (substance use, mental health, sexual and reproductive health, genetics)
// win over the resource type, so they are never shared under a broader category by accident;
// their evidence is the data file both sides read.

import table from '../../../../protocol/src/sensitive_codes.json' with { type: 'json' };
import { CATEGORIES, type Category } from './consent.ts';

type Coding = { system?: string; code?: string; display?: string };
type Concept = { coding?: Coding[]; text?: string };
type Resource = {
  resourceType?: unknown;
  code?: Concept;
  valueCodeableConcept?: Concept;
  category?: unknown;
  meta?: { profile?: unknown };
  extension?: unknown;
};
type Evidence = (typeof table.categories)[keyof typeof table.categories];

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

/**
 * The categories that are off by default when sharing, each with a warning: those the shared
 * data file has evidence for (protocol/src/sensitive_codes.json), in bit order. A new sensitive
 * category is added there, once, for Rust and every app alike.
 */
export const SENSITIVE_CATEGORIES: readonly Category[] = CATEGORIES.filter((c) => Object.hasOwn(table.categories, c));

/** `category` is a list in most resources and a single concept in a few. */
function categories(resource: Resource): Concept[] {
  const value = resource.category as Concept | Concept[] | undefined;
  return Array.isArray(value) ? value : value ? [value] : [];
}

function categoryCodes(resource: Resource): string[] {
  return categories(resource)
    .flatMap((c) => c?.coding ?? [])
    .flatMap((coding) => (coding.code ? [coding.code] : []));
}

function hasCategoryCode(resource: Resource, codes: string[]): boolean {
  return categoryCodes(resource).some((code) => codes.some((c) => c.toLowerCase() === code.toLowerCase()));
}

/** The concepts whose codes and words count: `code`, `valueCodeableConcept`, `category`. */
function concepts(resource: Resource): Concept[] {
  return [resource.code, resource.valueCodeableConcept, ...categories(resource)].filter((c): c is Concept =>
    Boolean(c),
  );
}

/** Lower-case words of the concepts' texts and displays, each after a space (as the Rust side). */
function normalizedText(resource: Resource): string {
  const parts = concepts(resource).flatMap((c) => [c.text, ...(c.coding ?? []).map((coding) => coding.display)]);
  const words = parts
    .filter((p): p is string => typeof p === 'string')
    .flatMap((p) => p.toLowerCase().split(/[^\p{L}\p{N}]+/u))
    .filter(Boolean);
  return ` ${words.join(' ')} `;
}

/** The sensitive category `resource` belongs in and the evidence in words ("LOINC 59041-4"), if any. */
export function sensitiveEvidence(resource: Resource): { category: Category; because: string } | undefined {
  const codings = concepts(resource).flatMap((c) => c.coding ?? []);
  const profiles = [
    ...(Array.isArray(resource.meta?.profile) ? resource.meta.profile : []),
    ...(Array.isArray(resource.extension) ? resource.extension.map((e: { url?: unknown }) => e?.url) : []),
  ].filter((u): u is string => typeof u === 'string');
  const text = normalizedText(resource);
  for (const category of table.order as Category[]) {
    const evidence: Evidence = table.categories[category as keyof typeof table.categories];
    for (const { system = '', code } of codings) {
      if (!code) continue;
      if (system.includes('icd-10') && evidence.icd10_prefixes.some((p) => code.toUpperCase().startsWith(p)))
        return { category, because: `ICD-10 ${code}` };
      if (system === 'http://loinc.org' && evidence.loinc.includes(code)) return { category, because: `LOINC ${code}` };
      if (system === 'http://snomed.info/sct' && evidence.snomed.includes(code))
        return { category, because: `SNOMED CT ${code}` };
    }
    const categoryCode = categoryCodes(resource).find((c) =>
      evidence.category_codes.some((e) => e.toLowerCase() === c.toLowerCase()),
    );
    if (categoryCode) return { category, because: `category code ${categoryCode}` };
    const profile = profiles.find((url) => evidence.profiles.some((p) => url.includes(p)));
    if (profile) return { category, because: `profile or extension ${profile}` };
    const word = evidence.words.find((w) => text.includes(` ${w}`));
    if (word) return { category, because: `the words "${word}"` };
  }
  return undefined;
}

/**
 * Whether `inferCategory` only guessed: an Observation with neither sensitive evidence nor a
 * category code Medkey knows goes to clinical notes for want of anything better. A file can say
 * more (a lab report listing it as a result): `fileCategories` uses that.
 */
export function categoryIsGuess(resource: Resource): boolean {
  return (
    resource.resourceType === 'Observation' &&
    !sensitiveEvidence(resource) &&
    !hasCategoryCode(resource, ['vital-signs', 'imaging', 'laboratory', 'procedure'])
  );
}

/** The category Medkey files `resource` under, or undefined when the type says nothing (ask the person). */
export function inferCategory(resource: Resource): Category | undefined {
  const kind = resource.resourceType;
  if (typeof kind !== 'string') return undefined;
  const sensitive = sensitiveEvidence(resource);
  if (sensitive) return sensitive.category;
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
