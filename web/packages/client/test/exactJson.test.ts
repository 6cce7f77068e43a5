import { describe, expect, it } from 'vitest';
import { parseExact, plainResource, stringifyExact, takeInlineAttachment, type FhirResource } from '../src/index.ts';

describe('exact JSON', () => {
  it('keeps every number as written, where JSON.parse would round it', () => {
    const text =
      '{"resourceType":"Observation","valueQuantity":{"value":0.40},"component":[{"valueQuantity":{"value":80.00}},{"valueQuantity":{"value":66.899999999999991}},{"valueQuantity":{"value":1.000000000000000000E-245}}]}';
    expect(JSON.stringify(JSON.parse(text))).not.toBe(text);
    expect(stringifyExact(parseExact(text))).toBe(text);
    expect((plainResource(text).valueQuantity as { value: number }).value).toBe(0.4);
  });

  it('keeps them when an inline file is taken out of the entry', () => {
    const text =
      '{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"text/plain","data":"aGk=","title":"n.txt"}}],"extension":[{"url":"x","valueDecimal":2.50}]}';
    const { resource, attachment } = takeInlineAttachment({ resource: parseExact(text) as FhirResource });
    expect(attachment?.file.size).toBe(2);
    expect(stringifyExact(resource)).toBe(
      '{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"text/plain","title":"n.txt","size":2}}],"extension":[{"url":"x","valueDecimal":2.50}]}',
    );
  });
});
