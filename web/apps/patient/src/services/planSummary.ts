// What a planned import adds, counted: per category (in category order), how many the file
// placed by itself (a result with its report, context with its records), how many wait for her.

import { CATEGORIES, type Category } from '@medkey/client';
import type { PlannedRecord } from './importFile.ts';
import { leftOut } from './planChecks.ts';

export interface PlanSummary {
  /** What will be stored (those left out not counted). */
  total: number;
  /** Left out: not valid FHIR R4 (with the first one's problem), or stored already. */
  invalid: number;
  firstInvalid?: string;
  stored: number;
  byCategory: { category: Category; count: number }[];
  /** Per kind of record (resource type), most first: how many, and the categories they went to. */
  byType: { type: string; count: number; categories: Category[] }[];
  /** Placed by what the file says of them, not by their own codes. */
  byFile: number;
  undecided: number;
}

export function planSummary(all: readonly PlannedRecord[]): PlanSummary {
  const planned = all.filter((p) => !p.skip);
  const counts = new Map<Category, number>();
  for (const p of planned) if (p.category) counts.set(p.category, (counts.get(p.category) ?? 0) + 1);
  const out = leftOut(all);
  const firstInvalid = all.find((p) => p.skip && p.invalid)?.invalid;
  return {
    total: planned.length,
    invalid: out.invalid,
    stored: out.stored,
    ...(firstInvalid ? { firstInvalid } : {}),
    byCategory: CATEGORIES.filter((c) => counts.has(c)).map((category) => ({ category, count: counts.get(category)! })),
    byType: [...groupBy(planned, (p) => p.resource.resourceType)]
      .map(([type, group]) => ({
        type,
        count: group.length,
        categories: CATEGORIES.filter((c) => group.some((p) => p.category === c)),
      }))
      .sort((a, b) => b.count - a.count || a.type.localeCompare(b.type)),
    byFile: planned.filter((p) => p.source === 'result' || p.source === 'context').length,
    undecided: planned.filter((p) => !p.category).length,
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** A plan longer than this is summarised, its records listed on demand (virtualised). */
export const LARGE_PLAN = 200;

/** The records a long plan shows at once: those that need her eye (no category, sensitive, left out). */
export function needingAttention(planned: readonly PlannedRecord[]): number[] {
  const indexes: number[] = [];
  planned.forEach((p, i) => {
    if (!p.category || p.sensitive || p.skip) indexes.push(i);
  });
  return indexes;
}
