// Tests and vital signs measured more than once, as series over time: the readings of one test
// (same code, same unit) in date order, blood pressure as its two lines, and the normal range of
// the latest reading. Pure; `TrendChart.tsx` draws one.

import { resultLine, type ResultLine } from './clinical.ts';
import { conceptText, dateOf, titleOf, type Resource } from './fhir.ts';
import { rangeBounds } from './interpretation.ts';
import { num, obj, objs, str } from './read.ts';

export interface TrendPoint {
  date: Date;
  value: number;
  resource: Resource;
}

export interface Trend {
  /** What groups readings: the test's first code (`system|code`), else its name; and the unit. */
  key: string;
  name: string;
  unit?: string;
  kind: 'lab' | 'vital' | 'other';
  /** One line, or two for blood pressure (systolic, diastolic); points oldest first. */
  lines: { label: string; points: TrendPoint[] }[];
  /** The latest reading's normal range, in the trend's unit. */
  low?: number;
  high?: number;
}

const SYSTOLIC = '8480-6';
const DIASTOLIC = '8462-4';

const codings = (concept: unknown) => objs(obj(concept)?.coding);
const hasCode = (concept: unknown, code: string) => codings(concept).some((c) => str(c.code) === code);

function kindOf(resource: Resource): Trend['kind'] {
  const codes = objs(resource.category).flatMap((c) => codings(c).map((x) => str(x.code)));
  return codes.includes('laboratory') ? 'lab' : codes.includes('vital-signs') ? 'vital' : 'other';
}

function keyOf(resource: Resource): string {
  const coding = codings(resource.code).find((c) => str(c.code));
  return coding ? `${str(coding.system) ?? ''}|${str(coding.code)}` : `name|${titleOf(resource).toLowerCase()}`;
}

/** Every test or vital sign among `resources` with at least two dated numeric readings. */
export function trendsOf(resources: Iterable<Resource>): Trend[] {
  const trends = new Map<string, Trend>();
  const add = (key: string, make: () => Trend, line: string, point: TrendPoint) => {
    const trend = trends.get(key) ?? make();
    let target = trend.lines.find((l) => l.label === line);
    if (!target) trend.lines.push((target = { label: line, points: [] }));
    target.points.push(point);
    trends.set(key, trend);
  };
  for (const resource of resources) {
    if (resource.resourceType !== 'Observation') continue;
    const date = dateOf(resource);
    if (!date) continue;
    const components = objs(resource.component);
    const systolic = obj(components.find((c) => hasCode(c.code, SYSTOLIC))?.valueQuantity);
    const diastolic = obj(components.find((c) => hasCode(c.code, DIASTOLIC))?.valueQuantity);
    if (num(systolic?.value) !== undefined && num(diastolic?.value) !== undefined) {
      const unit = str(systolic?.unit) ?? 'mmHg';
      const make = (): Trend => ({
        key: `blood-pressure|${unit}`,
        name: 'Blood pressure',
        unit,
        kind: 'vital',
        lines: [],
      });
      add(`blood-pressure|${unit}`, make, 'Systolic', { date, value: num(systolic!.value)!, resource });
      add(`blood-pressure|${unit}`, make, 'Diastolic', { date, value: num(diastolic!.value)!, resource });
      continue;
    }
    const quantity = obj(resource.valueQuantity);
    const value = num(quantity?.value);
    if (value === undefined || str(quantity?.comparator)) continue;
    const unit = str(quantity?.unit) ?? str(quantity?.code);
    // Another unit is another series: values are never converted here.
    const key = `${keyOf(resource)}|${unit ?? ''}`;
    const name = conceptText(resource.code) ?? titleOf(resource);
    const make = (): Trend => ({ key, name, kind: kindOf(resource), lines: [], ...(unit ? { unit } : {}) });
    add(key, make, name, { date, value, resource });
  }
  const result: Trend[] = [];
  for (const trend of trends.values()) {
    for (const line of trend.lines) line.points.sort((a, b) => a.date.getTime() - b.date.getTime());
    if (!trend.lines.some((l) => l.points.length > 1)) continue;
    const latest = trend.lines[0]!.points.at(-1)!.resource;
    const { low, high } = trend.key.startsWith('blood-pressure|') ? {} : rangeBounds(latest, trend.unit);
    result.push({ ...trend, ...(low !== undefined ? { low } : {}), ...(high !== undefined ? { high } : {}) });
  }
  return result.sort((a, b) => a.name.localeCompare(b.name));
}

/** The trend a reading belongs to, when its test was measured more than once. */
export function trendFor(resource: Resource, trends: Trend[]): Trend | undefined {
  return trends.find((t) => t.lines.some((l) => l.points.some((p) => p.resource === resource)));
}

/** Lab results or vital signs by test, as a "Lab results" or "Vitals" view shows them. */
export interface ResultsByTest {
  /** Tests measured more than once, each a trend. */
  trends: Trend[];
  /** Readings of tests measured once (or undated), newest first. */
  once: ResultLine[];
}

/** Her lab results and her vital signs, each grouped by test. */
export function resultsByTest(resources: Resource[]): { lab: ResultsByTest; vital: ResultsByTest } {
  const trends = trendsOf(resources);
  const inTrend = new Set(trends.flatMap((t) => t.lines.flatMap((l) => l.points.map((p) => p.resource))));
  const part = (kind: Trend['kind']): ResultsByTest => ({
    trends: trends.filter((t) => t.kind === kind),
    once: resources
      .filter((r) => r.resourceType === 'Observation' && kindOf(r) === kind && !inTrend.has(r))
      .map(resultLine)
      .sort((a, b) => (b.date?.getTime() ?? -Infinity) - (a.date?.getTime() ?? -Infinity)),
  });
  return { lab: part('lab'), vital: part('vital') };
}
