// A FHIR resource shown readably: the fields a person looks for first, per resource type, and
// the full JSON behind a disclosure. Used by every app.

import type { ReactNode } from 'react';
import { conceptText, dateOf, formatDate, observationValue, referenceRange, titleOf, typeName, type Resource } from './fhir.ts';

function Field({ label, children }: { label: string; children: ReactNode }) {
  if (children === undefined || children === null || children === '') return null;
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

const concept = (resource: Resource, field: string) => conceptText(resource[field] as never);
const text = (resource: Resource, field: string) => (typeof resource[field] === 'string' ? (resource[field] as string) : undefined);

function Details({ resource }: { resource: Resource }) {
  switch (resource.resourceType) {
    case 'Observation':
      return (
        <>
          <Field label="Result">{observationValue(resource)}</Field>
          <Field label="Normal range">{referenceRange(resource)}</Field>
          <Field label="Interpretation">{conceptText((resource.interpretation as never[] | undefined)?.[0])}</Field>
          <Field label="Status">{text(resource, 'status')}</Field>
        </>
      );
    case 'Condition':
      return (
        <>
          <Field label="Clinical status">{concept(resource, 'clinicalStatus')}</Field>
          <Field label="Severity">{concept(resource, 'severity')}</Field>
          <Field label="Body site">{conceptText((resource.bodySite as never[] | undefined)?.[0])}</Field>
        </>
      );
    case 'AllergyIntolerance':
      return (
        <>
          <Field label="Criticality">{text(resource, 'criticality')}</Field>
          <Field label="Reaction">
            {conceptText(((resource.reaction as { manifestation?: never[] }[] | undefined)?.[0]?.manifestation ?? [])[0])}
          </Field>
          <Field label="Clinical status">{concept(resource, 'clinicalStatus')}</Field>
        </>
      );
    case 'Immunization':
      return (
        <>
          <Field label="Status">{text(resource, 'status')}</Field>
          <Field label="Lot number">{text(resource, 'lotNumber')}</Field>
        </>
      );
    case 'MedicationRequest':
    case 'MedicationStatement':
      return (
        <>
          <Field label="Status">{text(resource, 'status')}</Field>
          <Field label="How to take it">{(resource.dosageInstruction as { text?: string }[] | undefined)?.[0]?.text}</Field>
        </>
      );
    case 'Patient': {
      type Contact = { relationship?: never[]; name?: { text?: string; family?: string; given?: string[] }; telecom?: { value?: string }[] };
      const contacts = (resource.contact as Contact[] | undefined) ?? [];
      return (
        <>
          <Field label="Date of birth">{text(resource, 'birthDate')}</Field>
          {contacts.map((c, i) => (
            <Field key={i} label={`Contact${conceptText(c.relationship?.[0]) ? ` (${conceptText(c.relationship?.[0])})` : ''}`}>
              {[c.name?.text ?? [...(c.name?.given ?? []), c.name?.family].filter(Boolean).join(' '), ...(c.telecom ?? []).map((t) => t.value)].filter(Boolean).join(' · ')}
            </Field>
          ))}
        </>
      );
    }
    case 'Composition':
      return (
        <Field label="Sections">{((resource.section as { title?: string }[] | undefined) ?? []).map((s) => s.title).filter(Boolean).join(', ')}</Field>
      );
    default:
      return <Field label="Status">{text(resource, 'status')}</Field>;
  }
}

export function ResourceView({ resource }: { resource: Resource }) {
  return (
    <article className="resource" aria-label={titleOf(resource)}>
      <h2>{titleOf(resource)}</h2>
      <p className="resource-type">
        {typeName(resource.resourceType)} · {formatDate(dateOf(resource))}
      </p>
      <dl>
        <Details resource={resource} />
      </dl>
      <details>
        <summary>The record as stored (FHIR JSON)</summary>
        <pre>{JSON.stringify(resource, null, 2)}</pre>
      </details>
    </article>
  );
}
