// Her records as one FHIR file she keeps, and back. The file is a plain FHIR R4 Bundle
// (`collection`); a record's attached file (PDF, image) travels inside it, base64, so nothing
// needs a second file: in the standard `DocumentReference.content[0].attachment.data` when the
// record is a DocumentReference (any FHIR system reads it there), else in an `Attachment` on the
// entry's record-attachment extension. On the way in, such inline data is taken out again and
// stored as an encrypted attachment beside the record. The CLI reads and writes the same file.

import { base64 } from '@scure/base';
import { BlobCollector } from './blobCollector.ts';
import { CATEGORIES, type Category } from './consent.ts';
import { MedkeyError } from './errors.ts';
import { parseExact, stringifyExact } from './exactJson.ts';
import type { FhirResource } from './records.ts';

/** The extension on `Bundle.entry` naming the record's Medkey category (as the CLI writes it). */
export const CATEGORY_EXTENSION = 'https://medkey.dev/fhir/StructureDefinition/record-category';

/** The extension on `Bundle.entry` carrying the attached file of a record that is not a DocumentReference. */
export const ATTACHMENT_EXTENSION = 'https://medkey.dev/fhir/StructureDefinition/record-attachment';

/** The Medkey category an entry of an exported Bundle names, if it names a known one. */
export function entryCategory(entry: {
  extension?: { url?: string; valueCode?: string }[] | undefined;
}): Category | undefined {
  const code = entry.extension?.find((e) => e.url === CATEGORY_EXTENSION)?.valueCode;
  return CATEGORIES.find((c) => c === code);
}

/** One record to export: its resource, its category and, if it has one, a way to read its attached file. */
export interface ExportItem {
  resource: FhirResource;
  /** The record's JSON text as sealed; when given it is written as it is (numbers exact). */
  text?: string;
  category: Category;
  /** The attached file's plaintext, decrypted on this device. */
  attachment?: () => Promise<ReadableStream<Uint8Array>>;
}

// Stands in for an attachment's base64 while the entry is turned into JSON text; the text is
// split there and the (large) base64 goes in as a Blob, never as one JS string.
const SLOT = '\u0000medkey-attachment-data\u0000';

/** Her records as a FHIR Bundle file, attachments inline; `progress` counts records done. */
export async function exportBundle(
  items: ExportItem[],
  progress: (done: number, total: number) => void = () => {},
): Promise<Blob> {
  const out = new BlobCollector();
  out.push(
    `{"resourceType":"Bundle","type":"collection","timestamp":${JSON.stringify(new Date().toISOString())},"entry":[`,
  );
  for (const [index, item] of items.entries()) {
    if (index > 0) out.push(',');
    const extension: object[] = [{ url: CATEGORY_EXTENSION, valueCode: item.category }];
    // The resource as sealed, read so that its numbers keep their digits.
    const resource = (item.text === undefined ? item.resource : parseExact(item.text)) as FhirResource;
    if (!item.attachment) {
      out.push(stringifyExact({ extension, resource }));
    } else {
      const inResource = describesFile(resource);
      const entry = inResource
        ? { extension, resource: withAttachmentData(resource, SLOT) }
        : { extension: [...extension, { url: ATTACHMENT_EXTENSION, valueAttachment: { data: SLOT } }], resource };
      const [before, after] = stringifyExact(entry).split(JSON.stringify(SLOT));
      out.push(`${before}"`);
      await pushBase64(out, await item.attachment());
      out.push(`"${after}`);
    }
    progress(index + 1, items.length);
  }
  out.push(']}');
  return out.finish('application/fhir+json');
}

/** Whether the resource has a place of its own for the file: a DocumentReference's first attachment. */
function describesFile(resource: FhirResource): boolean {
  const content =
    resource.resourceType === 'DocumentReference'
      ? (resource.content as { attachment?: object }[] | undefined)
      : undefined;
  return Boolean(content?.[0]?.attachment);
}

function withAttachmentData(resource: FhirResource, data: string): FhirResource {
  const content = resource.content as { attachment: Record<string, unknown> }[];
  const [first, ...rest] = content;
  return { ...resource, content: [{ ...first, attachment: { ...first!.attachment, data } }, ...rest] };
}

/** Appends `stream` as base64, 3 bytes at a time across chunk boundaries. */
async function pushBase64(out: BlobCollector, stream: ReadableStream<Uint8Array>): Promise<void> {
  let carry = new Uint8Array(0);
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    const joined = carry.length === 0 ? chunk : concat(carry, chunk);
    const whole = joined.length - (joined.length % 3);
    if (whole > 0) out.push(base64.encode(joined.subarray(0, whole)));
    carry = joined.slice(whole);
  }
  if (carry.length > 0) out.push(base64.encode(carry));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** A file to attach to a record: what the record says about it, and its bytes. */
export interface InlineAttachment {
  contentType: string;
  title: string;
  file: Blob;
}

/** A Bundle entry as a file holds it. */
export interface BundleEntry {
  resource: FhirResource;
  extension?: { url?: string; valueCode?: string; valueAttachment?: Record<string, unknown> }[] | undefined;
}

/**
 * Takes the inline file out of an entry: a DocumentReference's `content[0].attachment.data`
 * (the resource keeps the file's type, title and size), or the entry's record-attachment
 * extension. Entries without one come back unchanged.
 */
export function takeInlineAttachment(entry: BundleEntry): { resource: FhirResource; attachment?: InlineAttachment } {
  const { resource } = entry;
  const content =
    resource.resourceType === 'DocumentReference'
      ? ((resource.content as { attachment?: Record<string, unknown> }[] | undefined) ?? [])
      : [];
  const inResource = content[0]?.attachment;
  if (typeof inResource?.data === 'string') {
    const file = decodeAttachment(inResource);
    const { data: _data, ...described } = inResource;
    const [first, ...rest] = content;
    return {
      resource: { ...resource, content: [{ ...first, attachment: { ...described, size: file.file.size } }, ...rest] },
      attachment: file,
    };
  }
  const extension = entry.extension?.find((e) => e.url === ATTACHMENT_EXTENSION)?.valueAttachment;
  if (typeof extension?.data === 'string') return { resource, attachment: decodeAttachment(extension) };
  return { resource };
}

function decodeAttachment(attachment: Record<string, unknown>): InlineAttachment {
  let bytes: Uint8Array;
  try {
    bytes = base64.decode(attachment.data as string);
  } catch {
    throw new MedkeyError(
      'invalid_attachment',
      'A record in this file has attached data that is not valid base64, so it cannot be read.',
    );
  }
  const contentType = typeof attachment.contentType === 'string' ? attachment.contentType : 'application/octet-stream';
  const title = typeof attachment.title === 'string' ? attachment.title : 'Attached file';
  return { contentType, title, file: new Blob([bytes as BlobPart], { type: contentType }) };
}
