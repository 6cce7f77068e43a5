// FHIR JSON with every number exactly as written. A decimal's precision is significant in FHIR
// (`0.40` is not `0.4`), and JSON.parse turns numbers into doubles; so a file she adds is read
// with lossless-json, and the text that is sealed (and exported again) keeps each number's
// digits. The plain objects the screens show are parsed from that text.

import { parse, stringify } from 'lossless-json';
import type { FhirResource } from './records.ts';

/** A JSON value whose numbers are kept as their text (lossless-json's LosslessNumber). */
export type ExactJson = unknown;

export function parseExact(text: string): ExactJson {
  return parse(text);
}

/** JSON text of a value read with {@link parseExact}, every number as it was written. */
export function stringifyExact(value: ExactJson): string {
  const text = stringify(value);
  if (text === undefined) throw new Error('not a JSON value');
  return text;
}

/** The same resource as plain JSON for reading and showing (numbers become doubles here only). */
export function plainResource(text: string): FhirResource {
  return JSON.parse(text) as FhirResource;
}
