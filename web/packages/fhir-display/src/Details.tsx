// The fields a person looks for first, per resource type, with references followed among her
// records (`index`): a report's results, a prescription's medicine, who performed a procedure,
// a document's sections with their narrative. Every value goes through `read.ts`.

import type { ReactNode } from 'react';
import { componentLines, dosageText, medicationPeriod, reactions, reportResults } from './clinical.ts';
import {
  conceptText,
  dateOf,
  formatDate,
  formatQuantity,
  medicationName,
  observationValue,
  partyName,
  patientContacts,
  referenceRange,
  titleOf,
  type Resource,
  patientName,
} from './fhir.ts';
import { flagOf } from './interpretation.ts';
import { Narrative } from './Narrative.tsx';
import type { RecordIndex } from './references.ts';
import { obj, objs, str } from './read.ts';
import { ResultsTable } from './ResultsTable.tsx';
import { TrendChart } from './TrendChart.tsx';
import { trendFor, trendsOf } from './trends.ts';
import { PatientPhoto, photoOf } from './PatientPhoto.tsx';

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
const day = (value: unknown) => {
  const date = str(value) ? new Date(str(value)!) : undefined;
  return date && !Number.isNaN(date.getTime()) ? formatDate(date) : undefined;
};
/** `onset[x]`/`abatement[x]` in words: a date, an age, or the record's own text. */
const when = (resource: Resource, prefix: string) =>
  day(resource[`${prefix}DateTime`]) ??
  day(obj(resource[`${prefix}Period`])?.start) ??
  text(resource, `${prefix}String`) ??
  (formatQuantity(resource[`${prefix}Age`]) ? `at age ${formatQuantity(resource[`${prefix}Age`])}` : undefined);
const performers = (resource: Resource, index: RecordIndex) =>
  objs(resource.performer)
    .map((p) => partyName(p.actor ?? p, index))
    .filter(Boolean)
    .join(', ') || undefined;

function ObservationDetails({ resource, index }: { resource: Resource; index: RecordIndex }) {
  const flag = flagOf(resource);
  const trend = trendFor(resource, trendsOf(index.all()));
  return (
    <>
      <dl>
        <Field label="Result">{observationValue(resource)}</Field>
        <Field label="Normal range">{referenceRange(resource)}</Field>
        <Field label="Flag">{flag?.words}</Field>
        <Field label="Status">{text(resource, 'status')}</Field>
      </dl>
      <ResultsTable lines={componentLines(resource)} caption="Parts of this result" />
      {trend && <TrendChart trend={trend} />}
    </>
  );
}

function ReportDetails({ resource, index }: { resource: Resource; index: RecordIndex }) {
  const { lines, missing } = reportResults(resource, index);
  return (
    <>
      <dl>
        <Field label="Issued">{day(resource.issued)}</Field>
        <Field label="By">{performers(resource, index)}</Field>
        <Field label="Conclusion">{text(resource, 'conclusion') ?? firstConcept(resource, 'conclusionCode')}</Field>
        <Field label="Status">{text(resource, 'status')}</Field>
      </dl>
      <ResultsTable lines={lines} caption="Results" />
      <Narrative text={resource.text} label="The report as written" />
      {missing.length > 0 && (
        <p className="hint">
          {missing.length === 1 ? 'One result is' : `${missing.length} results are`} not among the records here
          {missing.some((m) => m !== 'A result') ? `: ${missing.filter((m) => m !== 'A result').join(', ')}` : ''}.
        </p>
      )}
    </>
  );
}

function CompositionDetails({ resource, index }: { resource: Resource; index: RecordIndex }) {
  return (
    <>
      <dl>
        <Field label="Author">
          {objs(resource.author)
            .map((a) => partyName(a, index))
            .filter(Boolean)
            .join(', ')}
        </Field>
      </dl>
      {objs(resource.section).map((section, i) => {
        const title = str(section.title) ?? conceptText(section.code) ?? `Section ${i + 1}`;
        const entries = objs(section.entry)
          .map((e) => index.resolve(e))
          .filter((r): r is Resource => r !== undefined);
        return (
          <section key={i} className="composition-section" aria-label={title}>
            <h3>{title}</h3>
            <Narrative text={section.text} label={`${title}, as written`} />
            {entries.length > 0 && (
              <ul>
                {entries.map((entry, j) => (
                  <li key={j}>{titleOf(entry, index)}</li>
                ))}
              </ul>
            )}
          </section>
        );
      })}
    </>
  );
}

function Fields({ resource, index }: { resource: Resource; index: RecordIndex }) {
  switch (resource.resourceType) {
    case 'Condition':
      return (
        <dl>
          <Field label="Status">{concept(resource, 'clinicalStatus')}</Field>
          <Field label="Confirmed">{concept(resource, 'verificationStatus')}</Field>
          <Field label="Began">{when(resource, 'onset')}</Field>
          <Field label="Ended">{when(resource, 'abatement')}</Field>
          <Field label="Severity">{concept(resource, 'severity')}</Field>
          <Field label="Body site">{firstConcept(resource, 'bodySite')}</Field>
        </dl>
      );
    case 'AllergyIntolerance':
      return (
        <dl>
          <Field label="Risk">{text(resource, 'criticality')}</Field>
          {reactions(resource).map((reaction, i) => (
            <Field key={i} label="Reaction">
              {reaction}
            </Field>
          ))}
          <Field label="Status">{concept(resource, 'clinicalStatus')}</Field>
          <Field label="Recorded">{day(resource.recordedDate)}</Field>
        </dl>
      );
    case 'Immunization':
      return (
        <dl>
          <Field label="Given">{day(resource.occurrenceDateTime) ?? text(resource, 'occurrenceString')}</Field>
          <Field label="Status">{text(resource, 'status')}</Field>
          <Field label="Lot number">{text(resource, 'lotNumber')}</Field>
          <Field label="By">{performers(resource, index)}</Field>
        </dl>
      );
    case 'MedicationRequest':
    case 'MedicationStatement':
    case 'MedicationDispense':
    case 'MedicationAdministration':
      return (
        <dl>
          <Field label="Medicine">{medicationName(resource, index)}</Field>
          <Field label="How to take it">{dosageText(resource)}</Field>
          <Field label="When">{medicationPeriod(resource) ?? day(resource.authoredOn)}</Field>
          <Field label="Prescribed by">{partyName(resource.requester, index)}</Field>
          <Field label="Status">{text(resource, 'status')}</Field>
        </dl>
      );
    case 'Procedure':
      return (
        <dl>
          <Field label="Done">{formatDate(dateOf(resource))}</Field>
          <Field label="By">{performers(resource, index)}</Field>
          <Field label="Status">{text(resource, 'status')}</Field>
          <Field label="Body site">{firstConcept(resource, 'bodySite')}</Field>
        </dl>
      );
    case 'Patient':
      return (
        <>
          <PatientPhoto src={photoOf(resource)} name={patientName(resource)} />
          <dl>
            <Field label="Date of birth">{text(resource, 'birthDate')}</Field>
            {patientContacts(resource).map((c, i) => (
              <Field key={i} label={`Contact${c.relationship ? ` (${c.relationship})` : ''}`}>
                {c.words}
              </Field>
            ))}
          </dl>
        </>
      );
    default:
      return (
        <dl>
          <Field label="Status">{text(resource, 'status')}</Field>
        </dl>
      );
  }
}

export function Details({ resource, index }: { resource: Resource; index: RecordIndex }) {
  switch (resource.resourceType) {
    case 'Observation':
      return <ObservationDetails resource={resource} index={index} />;
    case 'DiagnosticReport':
      return <ReportDetails resource={resource} index={index} />;
    case 'Composition':
      return <CompositionDetails resource={resource} index={index} />;
    default:
      return (
        <>
          <Fields resource={resource} index={index} />
          <Narrative text={resource.text} label="As written by whoever made this record" />
        </>
      );
  }
}
