// Records are untrusted input: a provider under a write grant or a share link's author may put
// any JSON where FHIR says a string is. Every reader answers a string (or nothing), never the
// value it was given, so React never sees an object where it renders text.
import { describe, expect, it } from 'vitest';
import {
  asResource,
  conceptText,
  dateOf,
  observationValue,
  patientContacts,
  patientName,
  referenceRange,
  titleOf,
  typeName,
  type Resource,
} from '../src/index.ts';

const weird: unknown[] = [{ note: 'x' }, ['a'], 42, true, null, { toString: 'x' }];

describe('reading a hostile record', () => {
  it('never passes a non-string on as text', () => {
    for (const value of weird) {
      const resource = {
        resourceType: 'Observation',
        code: { text: value, coding: [{ display: value, code: value }] },
        valueString: value,
        valueQuantity: { value, unit: value },
        valueCodeableConcept: { text: value },
        referenceRange: [{ text: value, low: { value, unit: value } }],
        effectiveDateTime: value,
        component: value,
        description: value,
      } as unknown as Resource;
      for (const text of [
        titleOf(resource),
        observationValue(resource),
        referenceRange(resource),
        conceptText(resource.code),
      ]) {
        expect(text === undefined || typeof text === 'string').toBe(true);
      }
      expect(titleOf(resource)).toBe('Measurement or test result');
      expect(dateOf(resource)).toBeUndefined();
    }
  });

  it('reads a Patient with odd names and contacts without failing', () => {
    const patient = {
      resourceType: 'Patient',
      name: [{ text: { note: 'x' }, given: ['Ana', { x: 1 }], family: 'Reyes' }],
      contact: [
        { relationship: { text: 'not a list' }, name: { text: 7 }, telecom: [{ value: '555-0100' }, { value: {} }] },
        'junk',
      ],
    } as unknown as Resource;
    expect(patientName(patient)).toBe('Ana Reyes');
    expect(patientContacts(patient)).toEqual([{ words: '555-0100' }]);
  });

  it('knows what is not a resource at all', () => {
    expect(asResource('a string')).toBeUndefined();
    expect(asResource([{ resourceType: 'Patient' }])).toBeUndefined();
    expect(asResource({ resourceType: { x: 1 } })).toBeUndefined();
    expect(asResource({ resourceType: 'Patient' })).toEqual({ resourceType: 'Patient' });
    expect(typeName({ x: 1 })).toBe('Record');
    expect(typeName('toString')).toBe('to String');
  });
});
