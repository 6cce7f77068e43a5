// Reading a FHIR R4 resource for people: its title from its codes, its date, its value. Pure
// functions (no React), so lists, search and the views all agree. Every field is read through
// `read.ts`: a value of the wrong type is treated as absent, never passed on to be shown.

import { bool, num, obj, objs, str, strs, type Json, type Resource } from './read.ts';
import { NO_RECORDS, type RecordIndex } from './references.ts';

export type { Resource } from './read.ts';

/** The words of a CodeableConcept: its text, else its first coding's display, else its code. */
export function conceptText(concept: unknown): string | undefined {
  const c = obj(concept);
  if (!c) return undefined;
  const text = str(c.text);
  if (text) return text;
  const codings = objs(c.coding);
  const coding = codings.find((x) => str(x.display)) ?? codings[0];
  return str(coding?.display) ?? str(coding?.code);
}

const codesOf = (concept: unknown): string[] =>
  objs(obj(concept)?.coding)
    .map((c) => str(c.code))
    .filter((c): c is string => c !== undefined);

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

export function typeName(resourceType: unknown): string {
  const type = str(resourceType);
  if (!type) return 'Record';
  return Object.hasOwn(TYPE_NAMES, type) ? TYPE_NAMES[type]! : type.replace(/([a-z])([A-Z])/g, '$1 $2');
}

/**
 * A human title: what the resource is about, from its codes (a prescription's medicine through
 * its Medication when `index` has it); the type's name otherwise.
 */
export function titleOf(resource: Resource, index: RecordIndex = NO_RECORDS): string {
  // C-CDA's problem observations (and FHIR converted from them) code themselves "ASSERTION" and
  // say what is asserted in their value: the value is the title.
  if (codesOf(resource.code).every((c) => c === 'ASSERTION') && codesOf(resource.code).length > 0) {
    const asserted = conceptText(resource.valueCodeableConcept);
    if (asserted) return asserted;
  }
  for (const field of ['code', 'vaccineCode', 'medicationCodeableConcept', 'type']) {
    const text = conceptText(resource[field]);
    if (text) return text;
  }
  const medicine = medicationName(resource, index);
  if (medicine) return medicine;
  if (resource.resourceType === 'Patient') return patientName(resource) ?? 'Personal details';
  return str(resource.description) ?? typeName(resource.resourceType);
}

/**
 * When it happened clinically, as the resource's own type says (`effective[x]`, `occurrence[x]`,
 * `performed[x]`, `onset[x]`, then when it was recorded, authored, issued or dated, then its
 * period): never when it was stored. Undefined for a record that has no such date (a Patient, a
 * Practitioner, a Medication): the apps show it as undated, apart, with the day it was added.
 */
export function dateOf(resource: Resource): Date | undefined {
  const start = (field: string) => str(obj(resource[field])?.start);
  const candidates = [
    resource.effectiveDateTime,
    resource.effectiveInstant,
    start('effectivePeriod'),
    resource.occurrenceDateTime,
    start('occurrencePeriod'),
    resource.performedDateTime,
    start('performedPeriod'),
    resource.onsetDateTime,
    start('onsetPeriod'),
    resource.recordedDate,
    resource.authoredOn,
    resource.dateAsserted,
    resource.issued,
    resource.date,
    resource.startDate,
    start('period'),
  ];
  for (const candidate of candidates) {
    const text = str(candidate);
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

/** "15 December 2026 at 14:05": a moment, in the same form as `formatDate` (the apps' one date format). */
export function formatDateTime(date: Date, locale?: string): string {
  return date.toLocaleString(locale, {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
  });
}

/** "14:05": a time later today, as `formatDateTime` writes it. */
export function formatTime(date: Date, locale?: string): string {
  return date.toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit' });
}

export function formatQuantity(quantity: unknown): string | undefined {
  const q = obj(quantity);
  const value = num(q?.value);
  if (!q || value === undefined) return undefined;
  const unit = str(q.unit) ?? str(q.code);
  return `${str(q.comparator) ?? ''}${value}${unit ? ` ${unit}` : ''}`;
}

/** An Observation's value in words: a quantity, a concept, text; blood pressure as one reading. */
export function observationValue(resource: Resource): string | undefined {
  const components = objs(resource.component);
  const systolic = obj(components.find((c) => codesOf(c.code).includes('8480-6'))?.valueQuantity);
  const diastolic = obj(components.find((c) => codesOf(c.code).includes('8462-4'))?.valueQuantity);
  const [high, low] = [num(systolic?.value), num(diastolic?.value)];
  if (high !== undefined && low !== undefined) return `${high}/${low} ${str(systolic?.unit) ?? 'mmHg'}`;
  const flag = bool(resource.valueBoolean);
  return (
    formatQuantity(resource.valueQuantity) ??
    conceptText(resource.valueCodeableConcept) ??
    str(resource.valueString) ??
    (flag === undefined ? undefined : flag ? 'Yes' : 'No')
  );
}

export function referenceRange(resource: Resource): string | undefined {
  const range = objs(resource.referenceRange)[0];
  if (!range) return undefined;
  const text = str(range.text);
  if (text) return text;
  const low = formatQuantity(range.low);
  const high = formatQuantity(range.high);
  return low && high ? `${low} to ${high}` : low ? `at least ${low}` : high ? `up to ${high}` : undefined;
}

/**
 * The medicine a prescription, statement, dispense or administration is about: its
 * `medicationCodeableConcept`, else the Medication it references (found in `index`), else the
 * reference's own `display`.
 */
export function medicationName(resource: Resource, index: RecordIndex = NO_RECORDS): string | undefined {
  const coded = conceptText(resource.medicationCodeableConcept);
  if (coded) return coded;
  const medication = index.resolve(resource.medicationReference);
  return (
    (medication?.resourceType === 'Medication' ? conceptText(medication.code) : undefined) ??
    str(obj(resource.medicationReference)?.display)
  );
}

/**
 * Who a reference names, in words: a Practitioner's, Patient's or RelatedPerson's name, an
 * Organization's or Location's name, found in `index`; else the reference's own `display`.
 */
export function partyName(reference: unknown, index: RecordIndex = NO_RECORDS): string | undefined {
  const party = index.resolve(reference);
  const named = party
    ? (str(party.name) ?? humanName(objs(party.name).find((n) => n.use === 'official') ?? objs(party.name)[0]))
    : undefined;
  return named ?? str(obj(reference)?.display);
}

/** A HumanName as people write it ("María José Núñez"): its text, else given names and family. */
export function humanName(name: unknown): string | undefined {
  const n = obj(name);
  if (!n) return undefined;
  const written = str(n.text) ?? [...strs(n.given), str(n.family)].filter(Boolean).join(' ');
  return written || undefined;
}

/** A Patient's name as people write it, from its official or first name. */
export function patientName(resource: Resource): string | undefined {
  if (resource.resourceType !== 'Patient') return undefined;
  const names = objs(resource.name);
  return humanName(names.find((n) => n.use === 'official') ?? names[0]);
}

/** A Patient's contacts: relationship, name and ways to reach them, in words. */
export function patientContacts(resource: Resource): { relationship?: string; words: string }[] {
  return objs(resource.contact).map((contact: Json) => {
    const relationship = conceptText(objs(contact.relationship)[0]);
    const words = [humanName(contact.name), ...objs(contact.telecom).map((t) => str(t.value))]
      .filter(Boolean)
      .join(' · ');
    return relationship ? { relationship, words } : { words };
  });
}

/** What every app says of a record it cannot show (in its row, and in place of its view). */
export const UNSHOWABLE = 'This record could not be shown — open it as FHIR JSON, or erase it.';

/** Decrypted JSON as a resource, if it is one (an object with a string `resourceType`). */
export function asResource(value: unknown): Resource | undefined {
  const o = obj(value);
  return o && typeof o.resourceType === 'string' ? (o as Resource) : undefined;
}
