// Reading the files she drops in, without a browser: each format gives every resource or refuses
// the whole file with a sentence naming what is wrong.

import { describe, expect, it } from 'vitest';
import { plan, readRecordsFile } from '../../src/services/importFile.ts';

const file = (text: string, name: string, type = '') => new File([text], name, { type });

describe('readRecordsFile', () => {
  it('reads FHIR NDJSON, one resource per line, numbers exactly as written', async () => {
    const text = [
      '{"resourceType":"Observation","status":"final","code":{"text":"Hb"},"valueQuantity":{"value":13.50,"unit":"g/dL"}}',
      '',
      '{"resourceType":"Condition","code":{"text":"Asthma"}}',
    ].join('\n');
    const entries = await readRecordsFile(file(text, 'export.ndjson', 'application/fhir+ndjson'));
    expect(entries.map((e) => e.resource.resourceType)).toEqual(['Observation', 'Condition']);
    expect(plan(entries[0]!).text).toContain('"value":13.50');
  });

  it('knows NDJSON by its lines when the name says nothing', async () => {
    const text = '{"resourceType":"Patient"}\n{"resourceType":"Immunization","status":"completed"}\n';
    const entries = await readRecordsFile(file(text, 'download'));
    expect(entries).toHaveLength(2);
  });

  it('refuses an NDJSON file with a bad line, naming the line', async () => {
    const text = '{"resourceType":"Patient"}\n{"resourceType": \n';
    await expect(readRecordsFile(file(text, 'export.ndjson'))).rejects.toThrow(
      'Line 2 of export.ndjson is not valid JSON. Each line of an NDJSON file holds one FHIR resource.',
    );
    await expect(readRecordsFile(file('{"id":"x"}\n', 'export.ndjson'))).rejects.toThrow(
      'Line 1 of export.ndjson is not a FHIR resource',
    );
    await expect(readRecordsFile(file('\n\n', 'empty.ndjson'))).rejects.toThrow('empty.ndjson has no resources in it');
  });

  it('still reads a pretty-printed FHIR JSON Bundle as one document', async () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient' } }] };
    const entries = await readRecordsFile(file(JSON.stringify(bundle, null, 2), 'bundle.json', 'application/json'));
    expect(entries.map((e) => e.resource.resourceType)).toEqual(['Patient']);
  });
});
