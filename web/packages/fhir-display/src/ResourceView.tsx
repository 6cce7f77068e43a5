// A FHIR resource shown readably: the fields a person looks for first, per resource type, and
// the full JSON behind a disclosure. Used by every app. Every value is read through `read.ts`
// and the view sits in its own error boundary: a malformed record says so and is still openable
// as JSON, and nothing else on the page goes away.

import type { ReactNode } from 'react';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import {
  UNSHOWABLE,
  conceptText,
  dateOf,
  formatDate,
  observationValue,
  patientContacts,
  referenceRange,
  titleOf,
  typeName,
  type Resource,
} from './fhir.ts';
import { obj, objs, str } from './read.ts';

function Field({ label, children }: { label: string; children: ReactNode }) {
  if (children === undefined || children === null || children === '') return null;
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

const concept = (resource: Resource, field: string) => conceptText(resource[field]);
const text = (resource: Resource, field: string) => str(resource[field]);
const firstConcept = (resource: Resource, field: string) => conceptText(objs(resource[field])[0]);

function Details({ resource }: { resource: Resource }) {
  switch (resource.resourceType) {
    case 'Observation':
      return (
        <>
          <Field label="Result">{observationValue(resource)}</Field>
          <Field label="Normal range">{referenceRange(resource)}</Field>
          <Field label="Interpretation">{firstConcept(resource, 'interpretation')}</Field>
          <Field label="Status">{text(resource, 'status')}</Field>
        </>
      );
    case 'Condition':
      return (
        <>
          <Field label="Clinical status">{concept(resource, 'clinicalStatus')}</Field>
          <Field label="Severity">{concept(resource, 'severity')}</Field>
          <Field label="Body site">{firstConcept(resource, 'bodySite')}</Field>
        </>
      );
    case 'AllergyIntolerance':
      return (
        <>
          <Field label="Criticality">{text(resource, 'criticality')}</Field>
          <Field label="Reaction">{conceptText(objs(objs(resource.reaction)[0]?.manifestation)[0])}</Field>
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
          <Field label="How to take it">
            {str(objs(resource.dosageInstruction)[0]?.text) ?? str(objs(resource.dosage)[0]?.text)}
          </Field>
        </>
      );
    case 'Patient':
      return (
        <>
          <Field label="Date of birth">{text(resource, 'birthDate')}</Field>
          {patientContacts(resource).map((c, i) => (
            <Field key={i} label={`Contact${c.relationship ? ` (${c.relationship})` : ''}`}>
              {c.words}
            </Field>
          ))}
        </>
      );
    case 'Composition':
      return (
        <Field label="Sections">
          {objs(resource.section)
            .map((s) => str(s.title))
            .filter(Boolean)
            .join(', ')}
        </Field>
      );
    default:
      return <Field label="Status">{text(resource, 'status')}</Field>;
  }
}

/** The record's JSON as stored (its own `text` when the caller has it), behind a disclosure. */
function StoredJson({ resource, text }: { resource: unknown; text?: string | undefined }) {
  let json = text;
  try {
    json ??= JSON.stringify(resource, null, 2);
  } catch {
    json = 'This record cannot be written out as JSON.';
  }
  return (
    <details>
      <summary>The record as stored (FHIR JSON)</summary>
      <pre>{json}</pre>
    </details>
  );
}

/**
 * What stands in for a record that cannot be shown: it says so, and its JSON is still there (the
 * decrypted `text` as sealed when the caller has it, else `resource` written out).
 */
export function UnshowableRecord({ resource, text }: { resource?: unknown; text?: string | undefined }) {
  return (
    <article className="resource" aria-label="A record that could not be shown">
      <p role="alert">{UNSHOWABLE}</p>
      <StoredJson resource={resource} text={text} />
    </article>
  );
}

function ReadableView({ resource }: { resource: Resource }) {
  const title = titleOf(resource);
  return (
    <article className="resource" aria-label={title}>
      <h2>{title}</h2>
      <p className="resource-type">
        {typeName(resource.resourceType)} · {formatDate(dateOf(resource))}
      </p>
      <dl>
        <Details resource={resource} />
      </dl>
      <StoredJson resource={resource} />
    </article>
  );
}

export function ResourceView({ resource }: { resource: Resource }) {
  if (!obj(resource) || typeof resource.resourceType !== 'string') return <UnshowableRecord resource={resource} />;
  return (
    <ErrorBoundary fallback={<UnshowableRecord resource={resource} />} resetKey={resource}>
      <ReadableView resource={resource} />
    </ErrorBoundary>
  );
}
