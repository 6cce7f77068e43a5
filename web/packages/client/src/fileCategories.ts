// The categories of the records in one file, decided together: what each record's own codes say
// (`inferCategory`), then what the file says about it. Two rules ask her nothing:
//
// - A result travels with its report. An Observation whose own codes say nothing of its kind
//   (no category code: the C-CDA converter's and many portals' lab values) takes the category of
//   the DiagnosticReport that lists it in `result`, or the panel Observation that lists it in
//   `hasMember`. Sharing "Lab results" then shares the report with its values.
// - Context travels with what it is context for. Practitioners, roles, organizations, locations,
//   related persons, medications and other resources that only say who, where or what take the
//   category of the records that refer to them (or, when nothing does, of the records they refer
//   to). If any of those is in a sensitive category, the context goes there too: a psychiatrist's
//   Practitioner record must not be shared as a lab result's context. Otherwise it goes where most
//   of them are (the first in category order on a tie).
//
// What is left undecided is asked, with the reason. Explicit categories (a Medkey export names
// each) and sensitive evidence in a record's own codes always win. docs/consent-model.md has the
// rules in words.

import { categoryIsGuess, inferCategory, sensitiveEvidence, SENSITIVE_CATEGORIES } from './categoryInference.ts';
import { CATEGORIES, type Category } from './consent.ts';

/** A resource read from a file, with where the file put it. */
export interface FileRecord {
  resource: { resourceType: string; [field: string]: unknown };
  /** The Bundle entry's `fullUrl`, which references in the same Bundle may use. */
  fullUrl?: string;
  /** The category the file itself named (a Medkey export does). */
  category?: Category;
}

export type CategorySource = 'file' | 'codes' | 'result' | 'context' | 'undecided';

export interface CategoryDecision {
  category: Category | undefined;
  source: CategorySource;
  /** Why, in words, when the file decided it or could not: "a result of Lipid panel". */
  reason?: string;
}

/** Resource types that only say who, where or with what: they travel with the records that use them. */
export const CONTEXT_TYPES: ReadonlySet<string> = new Set([
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Location',
  'RelatedPerson',
  'Medication',
  'Substance',
  'Device',
  'Endpoint',
  'HealthcareService',
  'Provenance',
  'Coverage',
]);

/** How deep, and how many, references are followed per resource: a file is untrusted input. */
const MAX_DEPTH = 12;
const MAX_REFERENCES = 2_000;

/** Every `reference` string in `value` (bounded). */
function referencesIn(value: unknown, found: string[] = [], depth = 0): string[] {
  if (depth > MAX_DEPTH || found.length >= MAX_REFERENCES || value === null || typeof value !== 'object') return found;
  if (Array.isArray(value)) {
    for (const item of value) referencesIn(item, found, depth + 1);
    return found;
  }
  for (const [key, item] of Object.entries(value)) {
    if (key === 'reference' && typeof item === 'string') found.push(item);
    else if (key !== 'text' && key !== 'contained') referencesIn(item, found, depth + 1);
  }
  return found;
}

/** The places of the records a file's references name: by `fullUrl`, `Type/id` and `urn:uuid:id`. */
function addressBook(records: FileRecord[]): Map<string, number> {
  const book = new Map<string, number>();
  records.forEach((record, i) => {
    const id = typeof record.resource.id === 'string' ? record.resource.id : undefined;
    if (record.fullUrl) book.set(record.fullUrl, i);
    if (id) {
      book.set(`${record.resource.resourceType}/${id}`, i);
      book.set(`urn:uuid:${id}`, i);
    }
  });
  return book;
}

function lookUp(book: Map<string, number>, reference: string): number | undefined {
  const direct = book.get(reference);
  if (direct !== undefined) return direct;
  const match = /([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
  return match ? book.get(match[1]!) : undefined;
}

const titleWords = (resource: FileRecord['resource']): string => {
  const code = resource.code as { text?: unknown; coding?: { display?: unknown }[] } | undefined;
  const words = code?.text ?? code?.coding?.find((c) => typeof c.display === 'string')?.display;
  return typeof words === 'string' ? words : resource.resourceType;
};

/** Where most of `categories` are, a sensitive one first if any (see the module's header). */
function travelWith(categories: Category[]): Category | undefined {
  const sensitive = categories.filter((c) => SENSITIVE_CATEGORIES.includes(c));
  const pool = sensitive.length > 0 ? sensitive : categories;
  let best: Category | undefined;
  let most = 0;
  for (const category of CATEGORIES) {
    const count = pool.filter((c) => c === category).length;
    if (count > most) [best, most] = [category, count];
  }
  return best;
}

/** The category of each record in `records` (same order), with where it came from. */
export function fileCategories(records: FileRecord[]): CategoryDecision[] {
  const book = addressBook(records);
  const outgoing = records.map((r) => [...new Set(referencesIn(r.resource).flatMap((ref) => lookUp(book, ref) ?? []))]);
  const decisions: CategoryDecision[] = records.map((record) => {
    if (record.category) return { category: record.category, source: 'file' };
    const category = inferCategory(record.resource);
    const context = CONTEXT_TYPES.has(record.resource.resourceType) && !sensitiveEvidence(record.resource);
    if (context || !category) return { category, source: 'undecided' };
    return { category, source: 'codes' };
  });

  // Results take their report's or panel's category.
  records.forEach((record, i) => {
    const type = record.resource.resourceType;
    if (type !== 'DiagnosticReport' && type !== 'Observation') return;
    const parent = decisions[i]!;
    if (!parent.category || (type === 'Observation' && categoryIsGuess(record.resource))) return;
    const members = [
      ...referencesIn((record.resource as { result?: unknown }).result),
      ...referencesIn((record.resource as { hasMember?: unknown }).hasMember),
    ];
    for (const ref of members) {
      const j = lookUp(book, ref);
      const child = j === undefined ? undefined : records[j]!;
      if (j === undefined || !child || child.category || !categoryIsGuess(child.resource)) continue;
      decisions[j] = {
        category: parent.category,
        source: 'result',
        reason: `a result of ${titleWords(record.resource)}`,
      };
    }
  });

  // Context takes the category of what refers to it, else of what it refers to; until nothing changes.
  const incoming = records.map(() => [] as number[]);
  outgoing.forEach((targets, i) => targets.forEach((j) => incoming[j]!.push(i)));
  for (let changed = true; changed;) {
    changed = false;
    records.forEach((record, i) => {
      if (decisions[i]!.source !== 'undecided' || !CONTEXT_TYPES.has(record.resource.resourceType)) return;
      const decided = (js: number[]) =>
        js.filter((j) => j !== i && decisions[j]!.source !== 'undecided').map((j) => decisions[j]!.category!);
      const from = decided(incoming[i]!);
      const categories = from.length > 0 ? from : decided(outgoing[i]!);
      const category = travelWith(categories);
      if (!category) return;
      const n = categories.length;
      decisions[i] = {
        category,
        source: 'context',
        reason: `${from.length > 0 ? 'used by' : 'about'} ${n} record${n === 1 ? '' : 's'} in this file`,
      };
      changed = true;
    });
  }

  return decisions.map((decision, i) => {
    if (decision.source !== 'undecided') return decision;
    // Context nothing links to keeps what its own type says, if anything (a Medication: prescriptions).
    if (decision.category) return { category: decision.category, source: 'codes' };
    const context = CONTEXT_TYPES.has(records[i]!.resource.resourceType);
    return {
      ...decision,
      reason: context
        ? 'Nothing in this file refers to it, so Medkey cannot tell which records it belongs with.'
        : 'Its codes do not say what kind of record it is.',
    };
  });
}
