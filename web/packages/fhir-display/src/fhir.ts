// Reading a FHIR R4 resource for people: its title from its codes, its date, its value. Pure
// functions (no React), so lists, search and the views all agree.

export interface Resource {
  resourceType: string;
  [field: string]: unknown;
}

type Coding = { system?: string; code?: string; display?: string };
type CodeableConcept = { text?: string; coding?: Coding[] };
type Quantity = { value?: number; unit?: string; code?: string; comparator?: string };

const get = <T>(resource: Resource, field: string): T | undefined => resource[field] as T | undefined;

/** The words of a CodeableConcept: its text, else its first coding's display, else its code. */
export function conceptText(concept: CodeableConcept | undefined): string | undefined {
  if (!concept) return undefined;
  if (concept.text) return concept.text;
  const coding = concept.coding?.find((c) => c.display) ?? concept.coding?.[0];
  return coding?.display ?? coding?.code;
}

/** Plain names of resource types, as a patient reads them. */
const TYPE_NAMES: Record<string, string> = {
  Observation: 'Measurement or test result',
  Condition: 'Condition',
  AllergyIntolerance: 'Allergy',
  MedicationRequest: 'Prescription',
  MedicationStatement: 'Medication',
  Immunization: 'Vaccination',
  DiagnosticReport: 'Report',
  Procedure: 'Procedure',
  Encounter: 'Visit',
  DocumentReference: 'Document',
  Binary: 'File',
  Patient: 'Personal details',
  CarePlan: 'Care plan',
};

export function typeName(resourceType: string): string {
  return TYPE_NAMES[resourceType] ?? resourceType.replace(/([a-z])([A-Z])/g, '$1 $2');
}

/** A human title: what the resource is about, from its codes; the type's name otherwise. */
export function titleOf(resource: Resource): string {
  const concept =
    get<CodeableConcept>(resource, 'code') ??
    get<CodeableConcept>(resource, 'vaccineCode') ??
    get<CodeableConcept>(resource, 'medicationCodeableConcept') ??
    get<CodeableConcept>(resource, 'type');
  const text = conceptText(concept);
  if (text) return text;
  if (resource.resourceType === 'Patient') return 'Personal details';
  const description = get<string>(resource, 'description');
  return description ?? typeName(resource.resourceType);
}

/** When it happened, as the resource says (the first of the usual date fields). */
export function dateOf(resource: Resource): Date | undefined {
  const period = (get<{ start?: string }>(resource, 'effectivePeriod') ?? get<{ start?: string }>(resource, 'period'))?.start;
  const candidates = [
    get<string>(resource, 'effectiveDateTime'),
    get<string>(resource, 'occurrenceDateTime'),
    get<string>(resource, 'performedDateTime'),
    get<string>(resource, 'onsetDateTime'),
    get<string>(resource, 'recordedDate'),
    get<string>(resource, 'authoredOn'),
    get<string>(resource, 'issued'),
    get<string>(resource, 'date'),
    period,
  ];
  for (const text of candidates) {
    if (!text) continue;
    const date = new Date(text);
    if (!Number.isNaN(date.getTime())) return date;
  }
  return undefined;
}

/** "15 December 2026": dates as dates, in the reader's language. */
export function formatDate(date: Date | undefined, locale?: string): string {
  if (!date) return 'No date';
  return date.toLocaleDateString(locale, { day: 'numeric', month: 'long', year: 'numeric' });
}

export function formatQuantity(q: Quantity | undefined): string | undefined {
  if (!q || q.value === undefined) return undefined;
  return `${q.comparator ?? ''}${q.value}${q.unit ? ` ${q.unit}` : q.code ? ` ${q.code}` : ''}`;
}

/** An Observation's value in words: a quantity, a concept, text; blood pressure as one reading. */
export function observationValue(resource: Resource): string | undefined {
  const components = get<{ code?: CodeableConcept; valueQuantity?: Quantity }[]>(resource, 'component');
  const codes = (c: { code?: CodeableConcept }) => c.code?.coding?.map((x) => x.code) ?? [];
  const systolic = components?.find((c) => codes(c).includes('8480-6'));
  const diastolic = components?.find((c) => codes(c).includes('8462-4'));
  if (systolic?.valueQuantity?.value !== undefined && diastolic?.valueQuantity?.value !== undefined) {
    return `${systolic.valueQuantity.value}/${diastolic.valueQuantity.value} ${systolic.valueQuantity.unit ?? 'mmHg'}`;
  }
  return (
    formatQuantity(get<Quantity>(resource, 'valueQuantity')) ??
    conceptText(get<CodeableConcept>(resource, 'valueCodeableConcept')) ??
    get<string>(resource, 'valueString') ??
    (get<boolean>(resource, 'valueBoolean') === undefined ? undefined : get<boolean>(resource, 'valueBoolean') ? 'Yes' : 'No')
  );
}

export function referenceRange(resource: Resource): string | undefined {
  const range = get<{ low?: Quantity; high?: Quantity; text?: string }[]>(resource, 'referenceRange')?.[0];
  if (!range) return undefined;
  if (range.text) return range.text;
  const low = formatQuantity(range.low);
  const high = formatQuantity(range.high);
  return low && high ? `${low} to ${high}` : low ? `at least ${low}` : high ? `up to ${high}` : undefined;
}

/** A Patient's name as people write it ("María José Núñez"), from its official or first name. */
export function patientName(resource: Resource): string | undefined {
  if (resource.resourceType !== 'Patient') return undefined;
  const names = get<{ text?: string; given?: string[]; family?: string; use?: string }[]>(resource, 'name');
  const name = names?.find((n) => n.use === 'official') ?? names?.[0];
  if (!name) return undefined;
  const written = name.text ?? [...(name.given ?? []), name.family].filter(Boolean).join(' ');
  return written || undefined;
}
