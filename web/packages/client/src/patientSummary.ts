// The emergency card's content: an International Patient Summary (HL7 IPS, FHIR R4) built on the
// patient's device from her own records: a `document` Bundle whose Composition has the IPS's
// required sections (allergies, medications, problems) and, when she has them, immunizations and
// results (her blood group), her Patient resource with the emergency contacts she enters. Nothing
// here leaves her device unencrypted: the Bundle goes into a SMART Health Link.

import type { FhirResource } from './records.ts';

const LOINC = 'http://loinc.org';

export interface EmergencyContact {
  name: string;
  /** In her words: "sister", "partner". */
  relationship: string;
  phone: string;
}

export interface SummaryInput {
  /** Her opened records (plain JSON). */
  resources: FhirResource[];
  /** Her name as the card shows it. */
  name: string;
  /** YYYY-MM-DD. */
  birthDate?: string | undefined;
  /** Her blood group in words ("O negative") when no record of hers says it. */
  bloodGroup?: string | undefined;
  contacts: EmergencyContact[];
}

export interface PatientSummary {
  bundle: FhirResource;
  /** The card's short, readable header. */
  header: { name: string; bloodGroup?: string | undefined; allergies: string[] };
  /** What went in, section by section, for her review. */
  sections: { title: string; items: string[] }[];
}

interface SectionSpec {
  title: string;
  code: string;
  display: string;
  pick: (r: FhirResource) => boolean;
  required: boolean;
}

const BLOOD_GROUP_CODES = ['883-9', '882-1', '34474-7', '10331-7'];

function codings(r: FhirResource): { system?: string; code?: string; display?: string }[] {
  return (r.code as { coding?: { system?: string; code?: string; display?: string }[] } | undefined)?.coding ?? [];
}

function isBloodGroup(r: FhirResource): boolean {
  return (
    r.resourceType === 'Observation' &&
    codings(r).some((c) => c.system === LOINC && BLOOD_GROUP_CODES.includes(c.code ?? ''))
  );
}

const SECTIONS: SectionSpec[] = [
  {
    title: 'Allergies and intolerances',
    code: '48765-2',
    display: 'Allergies and adverse reactions Document',
    pick: (r) => r.resourceType === 'AllergyIntolerance',
    required: true,
  },
  {
    title: 'Medications',
    code: '10160-0',
    display: 'History of Medication use Narrative',
    pick: (r) => ['MedicationStatement', 'MedicationRequest'].includes(r.resourceType),
    required: true,
  },
  {
    title: 'Problems',
    code: '11450-4',
    display: 'Problem list - Reported',
    pick: (r) => r.resourceType === 'Condition',
    required: true,
  },
  {
    title: 'Immunizations',
    code: '11369-6',
    display: 'History of Immunization Narrative',
    pick: (r) => r.resourceType === 'Immunization',
    required: false,
  },
  {
    title: 'Results',
    code: '30954-2',
    display: 'Relevant diagnostic tests/laboratory data Narrative',
    pick: isBloodGroup,
    required: false,
  },
];

type Concept = { text?: string; coding?: { display?: string; code?: string }[] };
const conceptWords = (code: Concept | undefined) =>
  code?.text ?? code?.coding?.find((c) => c.display)?.display ?? code?.coding?.[0]?.code;

/**
 * A medicine's name: its `medicationCodeableConcept`, else the Medication it references (among
 * `others`), else the reference's own words. Never the resource type.
 */
function medicineName(r: FhirResource, others: readonly FhirResource[]): string | undefined {
  const ref = r.medicationReference as { reference?: string; display?: string } | undefined;
  if (!ref) return undefined;
  const id = ref.reference?.replace(/^.*Medication\//, '').replace(/^urn:uuid:/, '');
  const medication = others.find((o) => o.resourceType === 'Medication' && typeof o.id === 'string' && o.id === id);
  return (
    conceptWords(medication?.code as Concept | undefined) ?? ref.display ?? 'A medicine (its name is not recorded)'
  );
}

/** A short name for a resource: its code's text or first display (a medicine's name through its Medication). */
export function summaryLine(r: FhirResource, others: readonly FhirResource[] = []): string {
  const code = (r.code ?? r.medicationCodeableConcept ?? r.vaccineCode) as Concept | undefined;
  const name = conceptWords(code) ?? medicineName(r, others) ?? r.resourceType;
  const value =
    r.valueString ??
    (r.valueCodeableConcept as { text?: string; coding?: { display?: string }[] } | undefined)?.text ??
    (r.valueCodeableConcept as { coding?: { display?: string }[] } | undefined)?.coding?.[0]?.display;
  return value ? `${name}: ${String(value)}` : name;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function narrative(items: string[], empty: string): { status: 'generated'; div: string } {
  const body = items.length
    ? `<ul>${items.map((i) => `<li>${escapeXml(i)}</li>`).join('')}</ul>`
    : `<p>${escapeXml(empty)}</p>`;
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${body}</div>` };
}

function uuid(): string {
  return `urn:uuid:${globalThis.crypto.randomUUID()}`;
}

/** Her records as an IPS document Bundle, every reference to her pointing at the summary's Patient. */
export function buildPatientSummary(input: SummaryInput): PatientSummary {
  const patientUrl = uuid();
  const parts = input.name.trim().split(/\s+/);
  const patient: FhirResource = {
    resourceType: 'Patient',
    name: [
      { text: input.name.trim(), family: parts.at(-1), ...(parts.length > 1 ? { given: parts.slice(0, -1) } : {}) },
    ],
    ...(input.birthDate ? { birthDate: input.birthDate } : {}),
    ...(input.contacts.length
      ? {
          contact: input.contacts.map((c) => ({
            relationship: [{ text: c.relationship }],
            name: { text: c.name },
            telecom: [{ system: 'phone', value: c.phone }],
          })),
        }
      : {}),
  };
  const entries: { fullUrl: string; resource: FhirResource }[] = [];
  const sections = SECTIONS.flatMap((spec) => {
    // One line per thing: the same medicine or allergy from two files is said once.
    const seen = new Set<string>();
    const picked = input.resources.filter(spec.pick).filter((r) => {
      const line = summaryLine(r, input.resources).toLowerCase();
      return !seen.has(line) && Boolean(seen.add(line));
    });
    if (!spec.required && picked.length === 0) return [];
    const urls = picked.map((resource) => {
      const fullUrl = uuid();
      entries.push({ fullUrl, resource: pointedAt(resource, patientUrl) });
      return fullUrl;
    });
    const items = picked.map((r) => summaryLine(r, input.resources));
    const section = {
      title: spec.title,
      code: { coding: [{ system: LOINC, code: spec.code, display: spec.display }] },
      text: narrative(items, `No ${spec.title.toLowerCase()} recorded.`),
      ...(urls.length
        ? { entry: urls.map((reference) => ({ reference })) }
        : {
            emptyReason: {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason',
                  code: 'unavailable',
                  display: 'Unavailable',
                },
              ],
            },
          }),
    };
    return [{ section, title: spec.title, items }];
  });
  const composition: FhirResource = {
    resourceType: 'Composition',
    status: 'final',
    type: { coding: [{ system: LOINC, code: '60591-5', display: 'Patient summary Document' }] },
    subject: { reference: patientUrl },
    date: new Date().toISOString(),
    author: [{ reference: patientUrl }],
    title: `Patient summary of ${input.name.trim()}`,
    section: sections.map((s) => s.section),
  };
  const bundle: FhirResource = {
    resourceType: 'Bundle',
    identifier: { system: 'urn:ietf:rfc:3986', value: uuid() },
    type: 'document',
    timestamp: new Date().toISOString(),
    entry: [{ fullUrl: uuid(), resource: composition }, { fullUrl: patientUrl, resource: patient }, ...entries],
  };
  const bloodRecord = input.resources.find(isBloodGroup);
  const bloodGroup =
    input.bloodGroup?.trim() ||
    (bloodRecord ? summaryLine(bloodRecord).split(': ').slice(1).join(': ') || undefined : undefined);
  return {
    bundle,
    header: {
      name: input.name.trim(),
      bloodGroup,
      allergies: [
        ...new Set(input.resources.filter((r) => r.resourceType === 'AllergyIntolerance').map((r) => summaryLine(r))),
      ],
    },
    sections: sections.map(({ title, items }) => ({ title, items })),
  };
}

/** A copy of `resource` whose reference to the patient (subject/patient) points at the summary's Patient. */
function pointedAt(resource: FhirResource, patientUrl: string): FhirResource {
  const copy: FhirResource = { ...resource };
  for (const field of ['subject', 'patient']) {
    if (field in copy) copy[field] = { reference: patientUrl };
  }
  if (resource.resourceType === 'AllergyIntolerance' || resource.resourceType === 'Immunization')
    copy.patient = { reference: patientUrl };
  if (['Condition', 'Observation', 'MedicationStatement', 'MedicationRequest'].includes(resource.resourceType))
    copy.subject = { reference: patientUrl };
  return copy;
}
