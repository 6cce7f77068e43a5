// Reading a file she drops in: FHIR JSON (a resource or a Bundle, nested Bundles included), FHIR
// NDJSON (one resource per line, as FHIR Bulk Data exports and some portals hand out), or a
// C-CDA document as patient portals export it (converted to FHIR here by Medplum's converter).
// Either every resource in the file is read, or the file is refused with the reason: never a
// part of it in silence.

import {
  SENSITIVE_CATEGORIES,
  entryCategory,
  fileCategories,
  parseExact,
  plainResource,
  sensitiveEvidence,
  stringifyExact,
  takeInlineAttachment,
  type BundleEntry,
  type Category,
  type CategorySource,
  type InlineAttachment,
  type RecordSource,
} from '@medkey/client';
import type { Resource } from '@medkey/fhir-display';

export interface PlannedRecord {
  resource: Resource;
  /** The resource's JSON text as the file had it (every number's digits kept): what gets sealed. */
  text: string;
  category: Category | undefined;
  /** Where the category came from: the file, the record's codes, its report, the records it serves; or hers to choose. */
  source: CategorySource | 'chosen';
  /** Why, in words, when the file decided it ("a result of Lipid panel") or could not. */
  reason?: string;
  sensitive: boolean;
  /** Why the category is sensitive, when the record's own codes say so ("LOINC 59041-4"). */
  because?: string;
  /** A file the record carried inline (base64), to be stored encrypted beside it. */
  attachment?: InlineAttachment;
  /** Why it is not valid FHIR R4 ("Observation.code: Missing required property"), if it is not. */
  invalid?: string;
  /** She has a record with this very content already (the file was added before). */
  stored?: boolean;
  /** Left out of what is stored: invalid or stored already, until she says otherwise. */
  skip?: boolean;
  /** Where a record pulled from a provider came from: sealed with it as its origin (only she opens it). */
  pulledFrom?: RecordSource;
  /** Her record this one is a new version of (pulled again from a provider, changed there). */
  replaces?: string;
}

/**
 * A resource read from a file, with the category its Bundle entry named (a Medkey export does).
 * Its numbers are kept as their text (see `parseExact`), so nothing is rounded on the way in.
 */
export interface FileEntry {
  resource: Resource;
  category?: Category;
  /** The entry's extensions (a Medkey export carries a record's file there when it has no place in the resource). */
  extension?: BundleEntry['extension'];
  /** The entry's `fullUrl`: how other entries of its Bundle refer to it. */
  fullUrl?: string;
}

/**
 * What would be stored for each entry of a file, decided together (`fileCategories`): the
 * category its file named, else what its codes say, else what the file says of it (a report's
 * result, a practitioner's records); each inline file taken out.
 */
export function planAll(entries: FileEntry[]): PlannedRecord[] {
  const read = entries.map((entry) => {
    const { resource: exact, attachment } = takeInlineAttachment(entry);
    const text = stringifyExact(exact);
    return { text, stored: plainResource(text) as Resource, attachment };
  });
  const decisions = fileCategories(
    entries.map((entry, i) => ({
      resource: read[i]!.stored,
      ...(entry.fullUrl ? { fullUrl: entry.fullUrl } : {}),
      ...(entry.category ? { category: entry.category } : {}),
    })),
  );
  return read.map(({ text, stored, attachment }, i) => {
    const { category, source, reason } = decisions[i]!;
    const evidence = sensitiveEvidence(stored);
    return {
      resource: stored,
      text,
      category,
      source,
      ...(reason ? { reason } : {}),
      sensitive: category !== undefined && SENSITIVE_CATEGORIES.includes(category),
      ...(evidence && evidence.category === category ? { because: evidence.because } : {}),
      ...(attachment ? { attachment } : {}),
    };
  });
}

/** What would be stored for one resource on its own (something she notes herself). */
export const plan = (entry: FileEntry): PlannedRecord => planAll([entry])[0]!;

/** Every resource in `file`, or an error that says why the file cannot be read. */
export async function readRecordsFile(file: File): Promise<FileEntry[]> {
  const text = await file.text();
  if (looksLikeNdjson(file, text)) return ndjsonResources(text, file.name);
  let json: Resource;
  if (looksLikeXml(file, text)) {
    json = await ccdaToBundle(file.name, text);
  } else {
    try {
      json = parseExact(text) as Resource;
    } catch {
      throw new Error(`${file.name} is not valid JSON. Choose a FHIR JSON file.`);
    }
  }
  if (typeof json?.resourceType !== 'string')
    throw new Error(`${file.name} is not a FHIR resource (it has no resourceType).`);
  const resources = json.resourceType === 'Bundle' ? bundleResources(json, file.name, []) : [{ resource: json }];
  if (resources.length === 0) throw new Error(`${file.name} is an empty Bundle: there is nothing to add.`);
  return resources;
}

/** `.ndjson`, `application/fhir+ndjson`, or several lines that each hold a JSON object. */
function looksLikeNdjson(file: File, text: string): boolean {
  if (/ndjson/.test(file.type) || file.name.toLowerCase().endsWith('.ndjson')) return true;
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.length > 1 && lines.every((line) => line.trimStart().startsWith('{') && line.trimEnd().endsWith('}'));
}

/** One resource per non-empty line (a Bundle on a line gives its resources); a bad line refuses the file, named. */
function ndjsonResources(text: string, name: string): FileEntry[] {
  const entries: FileEntry[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let json: Resource;
    try {
      json = parseExact(line) as Resource;
    } catch {
      throw new Error(
        `Line ${index + 1} of ${name} is not valid JSON. Each line of an NDJSON file holds one FHIR resource.`,
      );
    }
    if (typeof json?.resourceType !== 'string')
      throw new Error(`Line ${index + 1} of ${name} is not a FHIR resource (it has no resourceType).`);
    entries.push(...(json.resourceType === 'Bundle' ? bundleResources(json, name, [index + 1]) : [{ resource: json }]));
  });
  if (entries.length === 0) throw new Error(`${name} has no resources in it: there is nothing to add.`);
  return entries;
}

function looksLikeXml(file: File, text: string): boolean {
  return /xml/.test(file.type) || file.name.toLowerCase().endsWith('.xml') || text.trimStart().startsWith('<');
}

/** A C-CDA document as a FHIR Bundle; the converter is loaded only when one is chosen. */
async function ccdaToBundle(name: string, xml: string): Promise<Resource> {
  const { convertCcdaToFhir, convertXmlToCcda } = await import('@medplum/ccda');
  try {
    return convertCcdaToFhir(convertXmlToCcda(xml)) as unknown as Resource;
  } catch {
    throw new Error(
      `${name} is not a C-CDA document Medkey can read. Export your records from your patient portal as C-CDA (XML) or FHIR (JSON).`,
    );
  }
}

/** The resources of a Bundle, those of Bundles inside it included; `path` names where we are for errors. */
function bundleResources(bundle: Resource, name: string, path: number[]): FileEntry[] {
  type Entry = {
    fullUrl?: unknown;
    resource?: Resource;
    request?: { method?: string; url?: string };
    extension?: BundleEntry['extension'];
  };
  const entries = (bundle.entry as Entry[] | undefined) ?? [];
  return entries.flatMap((entry, index) => {
    const where = [...path, index + 1].join('.');
    if (!entry.resource) {
      const request = entry.request
        ? ` (a ${entry.request.method ?? ''} ${entry.request.url ?? ''} request)`.replace(/\s+\)/, ')')
        : '';
      throw new Error(
        `Entry ${where} of ${name} holds no resource${request}, so there is nothing to store for it. Remove that entry, or export the records themselves.`,
      );
    }
    if (typeof entry.resource.resourceType !== 'string')
      throw new Error(`Entry ${where} of ${name} is not a FHIR resource (it has no resourceType).`);
    if (entry.resource.resourceType === 'Bundle') return bundleResources(entry.resource, name, [...path, index + 1]);
    const category = entryCategory(entry);
    return [
      {
        resource: entry.resource,
        ...(category ? { category } : {}),
        ...(typeof entry.fullUrl === 'string' ? { fullUrl: entry.fullUrl } : {}),
        ...(entry.extension ? { extension: entry.extension } : {}),
      },
    ];
  });
}
