// A patient's records as a clinician's chart reads them: what to know first (allergies, active
// problems, current medicines, recent results with their flags, the latest vital signs with how
// many readings lie behind each), then everything by kind, newest first. Pure: the provider's
// chart, the patient's own summary and the emergency card can all stand on it.

import { dosageText, reactions, resultLine, type ResultLine } from './clinical.ts';
import { conceptText, dateOf, medicationName, titleOf, typeName, type Resource } from './fhir.ts';
import { isFlagged } from './interpretation.ts';
import { RecordIndex } from './references.ts';
import { objs, str } from './read.ts';
import { trendsOf, type Trend } from './trends.ts';

export interface ChartLine {
  title: string;
  detail?: string;
  date?: Date;
  resource: Resource;
}

export interface Chart {
  allergies: ChartLine[];
  problems: ChartLine[];
  medications: ChartLine[];
  /** Laboratory results, newest first (at most `recentResults`), flagged ones kept in. */
  results: ResultLine[];
  /** Each vital sign's latest reading, with how many readings it has. */
  vitals: (ResultLine & { readings: number })[];
  /** Every record by kind (its type's plain name), newest first within each; undated last. */
  groups: { kind: string; records: Resource[] }[];
  /** Tests and vital signs measured more than once. */
  trends: Trend[];
  index: RecordIndex;
}

const newestFirst = (a: { date?: Date | undefined }, b: { date?: Date | undefined }) =>
  (b.date?.getTime() ?? -Infinity) - (a.date?.getTime() ?? -Infinity);

const categoryCodes = (resource: Resource) =>
  objs(resource.category).flatMap((c) => objs(c.coding).map((coding) => str(coding.code)));

const statusIs = (resource: Resource, field: string, values: string[]) => {
  const concept = resource[field];
  const codes = objs((concept as { coding?: unknown } | undefined)?.coding).map((c) => str(c.code));
  const text = str(concept) ?? conceptText(concept);
  return (
    codes.some((c) => c !== undefined && values.includes(c)) ||
    (text !== undefined && values.includes(text.toLowerCase()))
  );
};

/** A Condition still to be minded: active (or recurring, relapsing) or with no status at all. */
const activeProblem = (c: Resource) =>
  !c.clinicalStatus || statusIs(c, 'clinicalStatus', ['active', 'recurrence', 'relapse']);

/** A medicine still taken: active, on hold or intended, or with no status said. */
const currentMedicine = (m: Resource) => {
  const status = str(m.status);
  return status === undefined || ['active', 'intended', 'on-hold', 'draft'].includes(status);
};

function line(resource: Resource, index: RecordIndex, detail: string | undefined): ChartLine {
  const date = dateOf(resource);
  return {
    title: titleOf(resource, index),
    resource,
    ...(detail ? { detail } : {}),
    ...(date ? { date } : {}),
  };
}

/** `resources` as a chart; `recentResults` bounds the results list. */
export function chartOf(resources: Resource[], recentResults = 12): Chart {
  const index = new RecordIndex(resources);
  const of = (type: string) => resources.filter((r) => r.resourceType === type);

  const allergies = of('AllergyIntolerance')
    .filter((a) => !statusIs(a, 'clinicalStatus', ['inactive', 'resolved']))
    .map((a) =>
      line(
        a,
        index,
        [reactions(a)[0], str(a.criticality) === 'high' ? 'high risk' : undefined].filter(Boolean).join(' · '),
      ),
    )
    .sort(newestFirst);
  const problems = of('Condition')
    .filter(activeProblem)
    .map((c) => line(c, index, conceptText(c.clinicalStatus)))
    .sort(newestFirst);
  const medications = resources
    .filter((r) => r.resourceType === 'MedicationRequest' || r.resourceType === 'MedicationStatement')
    .filter(currentMedicine)
    .map((m) => ({ ...line(m, index, dosageText(m)), title: medicationName(m, index) ?? titleOf(m, index) }))
    .sort(newestFirst);

  const observations = of('Observation');
  const labs = observations
    .filter((o) => categoryCodes(o).includes('laboratory'))
    .map(resultLine)
    .sort(newestFirst);
  // The most recent, and every flagged one among the rest up to the bound.
  const results = [
    ...labs.slice(0, recentResults),
    ...labs.slice(recentResults).filter((l) => isFlagged(l.flag)),
  ].slice(0, recentResults * 2);

  const byVital = new Map<string, ResultLine[]>();
  for (const o of observations.filter((o) => categoryCodes(o).includes('vital-signs'))) {
    const reading = resultLine(o);
    if (!reading.value) continue; // a panel without a value of its own (its parts are readings)
    const readings = byVital.get(reading.name) ?? [];
    readings.push(reading);
    byVital.set(reading.name, readings);
  }
  const vitals = [...byVital.values()].map((readings) => ({
    ...readings.sort(newestFirst)[0]!,
    readings: readings.length,
  }));

  const byKind = new Map<string, Resource[]>();
  for (const r of resources) {
    const kind = byKind.get(typeName(r.resourceType)) ?? [];
    kind.push(r);
    byKind.set(typeName(r.resourceType), kind);
  }
  const groups = [...byKind.entries()]
    .map(([kind, records]) => ({
      kind,
      records: records
        .map((resource) => ({ resource, date: dateOf(resource) }))
        .sort(newestFirst)
        .map((r) => r.resource),
    }))
    .sort((a, b) => b.records.length - a.records.length || a.kind.localeCompare(b.kind));

  return { allergies, problems, medications, results, vitals, groups, trends: trendsOf(resources), index };
}
