// What a planned import adds, counted: per category (in category order), how many the file
// placed by itself (a result with its report, context with its records), how many wait for her.

import { CATEGORIES, type Category } from '@medkey/client';
import type { PlannedRecord } from './importFile.ts';

export interface PlanSummary {
  total: number;
  byCategory: { category: Category; count: number }[];
  /** Placed by what the file says of them, not by their own codes. */
  byFile: number;
  undecided: number;
}

export function planSummary(planned: readonly PlannedRecord[]): PlanSummary {
  const counts = new Map<Category, number>();
  for (const p of planned) if (p.category) counts.set(p.category, (counts.get(p.category) ?? 0) + 1);
  return {
    total: planned.length,
    byCategory: CATEGORIES.filter((c) => counts.has(c)).map((category) => ({ category, count: counts.get(category)! })),
    byFile: planned.filter((p) => p.source === 'result' || p.source === 'context').length,
    undecided: planned.filter((p) => !p.category).length,
  };
}
