import { describe, expect, it } from 'vitest';
import {
  ATTACHMENT_EXTENSION,
  CATEGORY_EXTENSION,
  entryCategory,
  exportBundle,
  takeInlineAttachment,
  type FhirResource,
} from '../src/index.ts';

const observation: FhirResource = {
  resourceType: 'Observation',
  status: 'final',
  valueQuantity: { value: 0.4, unit: 'mmol/L' },
};
const document: FhirResource = {
  resourceType: 'DocumentReference',
  status: 'current',
  content: [{ attachment: { contentType: 'application/pdf', title: 'scan.pdf', size: 10_001 } }],
};

/** `bytes` as a stream of uneven chunks, so base64 has to carry bytes across chunk boundaries. */
function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      const size = sizes[i++ % sizes.length]!;
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

describe('export and import of records with attached files', () => {
  it('carries an attachment inline as base64 and takes it out again byte for byte', async () => {
    const bytes = new Uint8Array(10_001).map((_, i) => (i * 37) % 256);
    const blob = await exportBundle([
      { resource: observation, category: 'lab_results' },
      { resource: document, category: 'documents', attachment: async () => chunked(bytes, [1, 7, 4096, 2]) },
    ]);
    expect(blob.type).toBe('application/fhir+json');
    const bundle = JSON.parse(await blob.text());
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(bundle.entry[0].resource).toEqual(observation);
    expect(bundle.entry.map(entryCategory)).toEqual(['lab_results', 'documents']);
    expect(entryCategory({ extension: [{ url: CATEGORY_EXTENSION, valueCode: 'astrology' }] })).toBeUndefined();
    const exported = bundle.entry[1].resource;
    expect(exported.content[0].attachment.data).toBe(Buffer.from(bytes).toString('base64'));

    const { resource, attachment } = takeInlineAttachment(bundle.entry[1]);
    expect(resource).toEqual(document);
    expect(attachment).toMatchObject({ contentType: 'application/pdf', title: 'scan.pdf' });
    expect(new Uint8Array(await attachment!.file.arrayBuffer())).toEqual(bytes);
  });

  it('carries the file of a record that is not a DocumentReference on its entry', async () => {
    const blob = await exportBundle([
      {
        resource: observation,
        category: 'lab_results',
        attachment: async () => chunked(Uint8Array.of(1, 2, 3, 4), [3]),
      },
    ]);
    const [entry] = JSON.parse(await blob.text()).entry;
    expect(entry.resource).toEqual(observation);
    expect(entry.extension[1]).toEqual({ url: ATTACHMENT_EXTENSION, valueAttachment: { data: 'AQIDBA==' } });
    const { resource, attachment } = takeInlineAttachment(entry);
    expect(resource).toEqual(observation);
    expect(new Uint8Array(await attachment!.file.arrayBuffer())).toEqual(Uint8Array.of(1, 2, 3, 4));
  });

  it('leaves entries without a file alone and refuses attached data that is not base64', () => {
    expect(takeInlineAttachment({ resource: observation })).toEqual({ resource: observation });
    expect(takeInlineAttachment({ resource: document })).toEqual({ resource: document });
    const broken = { ...document, content: [{ attachment: { contentType: 'image/png', data: 'not base64!' } }] };
    expect(() => takeInlineAttachment({ resource: broken })).toThrow(/not valid base64/);
  });
});
