// Clinical dates: each resource type's own date field, never the day it was stored.
import { describe, expect, it } from 'vitest';
import { dateOf, type Resource } from '../src/index.ts';

const day = (r: Resource) => dateOf(r)?.toISOString().slice(0, 10);

describe('dateOf', () => {
  it("reads each type's own date", () => {
    expect(day({ resourceType: 'Observation', effectivePeriod: { start: '2020-02-03T10:00:00Z' } })).toBe('2020-02-03');
    expect(day({ resourceType: 'Observation', effectiveInstant: '2021-05-06T07:08:09Z' })).toBe('2021-05-06');
    expect(day({ resourceType: 'Immunization', occurrenceDateTime: '2019-11-01' })).toBe('2019-11-01');
    expect(day({ resourceType: 'Procedure', performedPeriod: { start: '2018-04-02', end: '2018-04-03' } })).toBe(
      '2018-04-02',
    );
    expect(day({ resourceType: 'Condition', onsetPeriod: { start: '2015-01-01' }, recordedDate: '2016-01-01' })).toBe(
      '2015-01-01',
    );
    expect(day({ resourceType: 'MedicationStatement', dateAsserted: '2022-08-09' })).toBe('2022-08-09');
    expect(day({ resourceType: 'Goal', startDate: '2023-03-04' })).toBe('2023-03-04');
    expect(day({ resourceType: 'Encounter', period: { start: '2017-07-07T09:00:00Z' } })).toBe('2017-07-07');
    expect(day({ resourceType: 'DiagnosticReport', issued: '2024-01-02T03:04:05Z' })).toBe('2024-01-02');
  });

  it('prefers when it happened to when it was written down', () => {
    expect(day({ resourceType: 'AllergyIntolerance', onsetDateTime: '2001-01-01', recordedDate: '2010-01-01' })).toBe(
      '2001-01-01',
    );
    expect(
      day({ resourceType: 'DiagnosticReport', effectiveDateTime: '2024-01-01', issued: '2024-01-03T00:00:00Z' }),
    ).toBe('2024-01-01');
  });

  it('leaves a record without a clinical date undated, and skips a date that is not one', () => {
    expect(dateOf({ resourceType: 'Patient', birthDate: '1974-12-25' })).toBeUndefined();
    expect(dateOf({ resourceType: 'Practitioner' })).toBeUndefined();
    expect(day({ resourceType: 'Observation', effectiveDateTime: '12/25/1974x', issued: '2020-01-01T00:00:00Z' })).toBe(
      '2020-01-01',
    );
  });
});
