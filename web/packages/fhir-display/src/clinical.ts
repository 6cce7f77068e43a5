// What a clinician or patient looks for first in each kind of record, as pure functions: a lab
// report's results with their flags, a panel's parts, a prescription's dose and dates, and the
// one-line value a list row shows ("128/82 mmHg", "164 mg/dL ↑", "4 results, 1 flagged").
// Shared by every app's views, rows and summaries so they all say the same thing.

import {
  conceptText,
  dateOf,
  formatDate,
  medicationName,
  observationValue,
  formatQuantity,
  referenceRange,
  titleOf,
  type Resource,
} from './fhir.ts';
import { flagOf, isFlagged, type Flag } from './interpretation.ts';
import { NO_RECORDS, type RecordIndex } from './references.ts';
import { obj, objs, str, type Json } from './read.ts';

/** One measured value, as a results table shows it. */
export interface ResultLine {
  name: string;
  value?: string;
  range?: string;
  flag?: Flag;
  date?: Date;
  /** The record it came from, when it is one of hers (not a component of one). */
  resource?: Resource;
}

/** A value of a component or an Observation (`valueQuantity`, `valueCodeableConcept`, …). */
function elementValue(element: Json): string | undefined {
  return (
    formatQuantity(element.valueQuantity) ??
    conceptText(element.valueCodeableConcept) ??
    str(element.valueString) ??
    (typeof element.valueBoolean === 'boolean' ? (element.valueBoolean ? 'Yes' : 'No') : undefined)
  );
}

/** An Observation as one line: its name, value, range, flag and date. */
export function resultLine(observation: Resource): ResultLine {
  const flag = flagOf(observation);
  const value = observationValue(observation);
  const range = referenceRange(observation);
  const date = dateOf(observation);
  return {
    name: titleOf(observation),
    resource: observation,
    ...(value ? { value } : {}),
    ...(range ? { range } : {}),
    ...(flag ? { flag } : {}),
    ...(date ? { date } : {}),
  };
}

/** A panel's parts (an Observation's `component`s): each with its own value, range and flag. */
export function componentLines(observation: Resource): ResultLine[] {
  return objs(observation.component).map((component) => {
    const value = elementValue(component);
    const range = referenceRange(component as Resource);
    const flag = flagOf(component);
    return {
      name: conceptText(component.code) ?? 'Part of this result',
      ...(value ? { value } : {}),
      ...(range ? { range } : {}),
      ...(flag ? { flag } : {}),
    };
  });
}

/**
 * A report's results, found among her records (`result` references), in the report's order;
 * `missing` counts those not among them (shared apart, or never stored), named by their
 * reference's `display` where it has one.
 */
export function reportResults(
  report: Resource,
  index: RecordIndex = NO_RECORDS,
): { lines: ResultLine[]; missing: string[] } {
  const lines: ResultLine[] = [];
  const missing: string[] = [];
  for (const reference of objs(report.result)) {
    const found = index.resolve(reference);
    if (found?.resourceType === 'Observation') lines.push(resultLine(found));
    else missing.push(str(reference.display) ?? 'A result');
  }
  return { lines, missing };
}

/** How to take a medicine, in words: the first dosage's text, else its dose and timing. */
export function dosageText(resource: Resource): string | undefined {
  const dosage = objs(resource.dosageInstruction)[0] ?? objs(resource.dosage)[0] ?? obj(resource.dosage);
  if (!dosage) return undefined;
  const text = str(dosage.text);
  if (text) return text;
  const dose = formatQuantity(obj(objs(dosage.doseAndRate)[0])?.doseQuantity);
  const timing = conceptText(obj(dosage.timing)?.code);
  const route = conceptText(dosage.route);
  return [dose, route, timing].filter(Boolean).join(', ') || undefined;
}

/** When a medicine was or is to be taken: its period, else the prescription's validity. */
export function medicationPeriod(resource: Resource): string | undefined {
  const period =
    obj(resource.effectivePeriod) ?? obj(obj(resource.dispenseRequest)?.validityPeriod) ?? obj(resource.period);
  const start = str(period?.start);
  const end = str(period?.end);
  const day = (text: string | undefined) => {
    const date = text ? new Date(text) : undefined;
    return date && !Number.isNaN(date.getTime()) ? formatDate(date) : undefined;
  };
  const [from, to] = [day(start), day(end)];
  return from && to ? `${from} to ${to}` : from ? `from ${from}` : to ? `until ${to}` : undefined;
}

/** An allergy's reactions in words ("Hives, severe"), one per reaction. */
export function reactions(allergy: Resource): string[] {
  return objs(allergy.reaction).map((reaction) => {
    const what = objs(reaction.manifestation)
      .map((m) => conceptText(m))
      .filter(Boolean)
      .join(', ');
    const severity = str(reaction.severity);
    return [what || 'A reaction', severity].filter(Boolean).join(', ');
  });
}

/** The one-line value a list row shows beside the title, if the record has one. */
export function rowValue(resource: Resource, index: RecordIndex = NO_RECORDS): string | undefined {
  switch (resource.resourceType) {
    case 'Observation': {
      const value = observationValue(resource);
      const flag = flagOf(resource);
      if (value) return flag?.symbol ? `${value} ${flag.symbol}` : value;
      const parts = objs(resource.component).length;
      return parts > 0 ? `${parts} parts` : undefined;
    }
    case 'DiagnosticReport': {
      const { lines, missing } = reportResults(resource, index);
      const total = lines.length + missing.length;
      if (total === 0) return conceptText(objs(resource.conclusionCode)[0]) ?? str(resource.conclusion);
      const flagged = lines.filter((l) => isFlagged(l.flag)).length;
      const results = `${total} result${total === 1 ? '' : 's'}`;
      return flagged > 0 ? `${results}, ${flagged} flagged` : results;
    }
    case 'MedicationRequest':
    case 'MedicationStatement':
    case 'MedicationDispense':
    case 'MedicationAdministration':
      return dosageText(resource);
    case 'Condition':
      return conceptText(resource.clinicalStatus);
    case 'AllergyIntolerance': {
      const criticality = str(resource.criticality);
      const first = reactions(resource)[0];
      return [first, criticality === 'high' ? 'high risk' : undefined].filter(Boolean).join(' · ') || undefined;
    }
    default:
      return undefined;
  }
}

/** The medicine's name a summary lists: what `titleOf` gives, through the Medication when needed. */
export const medicineName = (resource: Resource, index: RecordIndex = NO_RECORDS): string =>
  medicationName(resource, index) ?? titleOf(resource, index);
