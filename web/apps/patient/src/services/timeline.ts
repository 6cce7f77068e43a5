// Her records as the timeline shows them: opened items, the filters, and what each line says.
// Pure functions over records already decrypted in this browser.

import type { Category, RecordSource, Schemas } from '@medkey/client';
import {
  RecordIndex,
  num,
  obj,
  objs,
  patientName,
  resultsByTest,
  rowValue,
  str,
  titleOf,
  type Resource,
} from '@medkey/fhir-display';

export interface RecordItem {
  view: Schemas['RecordView'];
  resource?: Resource;
  /** Its JSON text as sealed (numbers exact): what a download writes. */
  text?: string;
  title: string;
  /** The value a row shows beside the title ("164 mg/dL ↑", "3 results, 1 flagged"), if any. */
  value?: string;
  /** When it happened, from the record itself; absent for an undated record. */
  date?: Date;
  /** Why it could not be opened, in words. */
  problem?: string;
  /** Where it was pulled from, for a record brought from a provider (its sealed origin's `source`). */
  source?: RecordSource;
}

export interface RecordFilter {
  category: Category | '';
  /** A FHIR resource type, or '' for all. */
  type: string;
  /** `YYYY-MM-DD` bounds (inclusive), or '' for none. */
  from: string;
  to: string;
  query: string;
}

export const NO_FILTER: RecordFilter = { category: '', type: '', from: '', to: '', query: '' };

/**
 * Her opened records read together: each title and row value with the references between them
 * followed (a prescription's Medication, a report's results), and the index that follows them.
 */
export function readTogether(items: RecordItem[]): {
  records: RecordItem[];
  index: RecordIndex;
  results: ReturnType<typeof resultsByTest>;
} {
  const index = new RecordIndex(items.map((i) => i.resource));
  const records = items.map((item) => {
    if (!item.resource) return item;
    const { value: _old, ...rest } = item;
    const value = rowValue(item.resource, index);
    return { ...rest, title: titleOf(item.resource, index), ...(value ? { value } : {}) };
  });
  return { records, index, results: resultsByTest(index.all()) };
}

/** The day it was added to Medkey (not when it happened: see `date`). */
export function addedOn(item: RecordItem): Date {
  return new Date(item.view.created_at_ms);
}

/** The local calendar day of `date` as `YYYY-MM-DD` (what a date input gives). */
function localDay(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The records the timeline shows for `filter`: category, type, dates, and words found in the record. */
export function filterRecords(items: RecordItem[], filter: RecordFilter): RecordItem[] {
  const words = filter.query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  // Each test only when its filter is set: the timeline is filtered on every render.
  return items.filter((item) => {
    if (filter.category && item.view.category !== filter.category) return false;
    if (filter.type && item.view.resource_type !== filter.type) return false;
    if (filter.from || filter.to) {
      // An undated record has no day to be in a range.
      if (!item.date) return false;
      const day = localDay(item.date);
      if ((filter.from && day < filter.from) || (filter.to && day > filter.to)) return false;
    }
    if (words.length === 0) return true;
    const haystack = `${item.title} ${item.view.resource_type} ${JSON.stringify(item.resource ?? {})}`.toLowerCase();
    return words.every((w) => haystack.includes(w));
  });
}

/** The resource types among her records, for the type filter. */
export function recordTypes(items: RecordItem[]): string[] {
  return [...new Set(items.map((i) => i.view.resource_type))].sort();
}

/**
 * Dated records newest first by when they happened, then the undated ones (a Patient, a
 * Practitioner, a record whose date could not be read), newest added first: an undated record
 * never floats to the top on the day it was uploaded.
 */
export function newestFirst(items: RecordItem[]): RecordItem[] {
  const key = (item: RecordItem) => (item.date ? [1, item.date.getTime()] : [0, item.view.created_at_ms]);
  return [...items].sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    return kb[0]! - ka[0]! || kb[1]! - ka[1]!;
  });
}

/** The timeline's two parts: what is dated (in order) and what is not. */
export function datedAndUndated(items: RecordItem[]): { dated: RecordItem[]; undated: RecordItem[] } {
  return { dated: items.filter((i) => i.date), undated: items.filter((i) => !i.date) };
}

/** The file attached to a record (stored encrypted beside it), as the record describes it. */
export interface AttachedFile {
  contentType: string;
  title: string;
  size?: number;
}

/**
 * The file attached to a record (the vault says whether the current version has one), described
 * by the record itself when it is a DocumentReference (type, title), generically otherwise.
 */
export function attachedFile(item: RecordItem | undefined): AttachedFile | undefined {
  if (item?.view.attachment_size === null || item?.view.attachment_size === undefined) return undefined;
  const resource = item.resource;
  // Read through the type-checking readers: a record's fields are untrusted input.
  const attachment =
    resource?.resourceType === 'DocumentReference' ? obj(objs(resource.content)[0]?.attachment) : undefined;
  const size = num(attachment?.size);
  return {
    contentType: str(attachment?.contentType) ?? 'application/octet-stream',
    title: str(attachment?.title) ?? 'Attached file',
    ...(size !== undefined ? { size } : {}),
  };
}

/** Her own Patient records (never one a provider wrote), the most recently changed first. */
function ownPatientRecords(items: RecordItem[]): RecordItem[] {
  return items
    .filter(
      (i) => i.resource?.resourceType === 'Patient' && i.view.created_by.toLowerCase() === i.view.owner.toLowerCase(),
    )
    .sort((a, b) => b.view.updated_at_ms - a.view.updated_at_ms);
}

/** Her birth date (`YYYY-MM-DD`) as her own Patient record gives it, if it is a date. */
export function ownBirthDate(items: RecordItem[]): string | undefined {
  for (const item of ownPatientRecords(items)) {
    const born = str(item.resource!.birthDate);
    if (born && /^\d{4}-\d{2}-\d{2}$/.test(born)) return born;
  }
  return undefined;
}

/**
 * Her name as her own Patient record gives it: only a record she stored herself (a provider's
 * Patient record of her names her as that provider wrote it), the most recently changed first.
 */
export function ownName(items: RecordItem[]): string | undefined {
  for (const item of ownPatientRecords(items)) {
    const name = patientName(item.resource!)?.trim();
    // Decrypted content is untrusted: a name fit for a header, however long the record's is.
    if (name) return name.length > 80 ? `${name.slice(0, 79)}…` : name;
  }
  return undefined;
}

/** Who added any of her records other than herself (providers under a write grant), once each. */
export function recordAuthors(items: RecordItem[]): string[] {
  const others = items.filter((i) => i.view.created_by.toLowerCase() !== i.view.owner.toLowerCase());
  return [...new Set(others.map((i) => i.view.created_by.toLowerCase()))];
}
