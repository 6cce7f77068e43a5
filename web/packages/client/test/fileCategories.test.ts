// The categories a file's own links decide: a report's results, context with its records.
import { describe, expect, it } from 'vitest';
import { fileCategories, type FileRecord } from '../src/index.ts';

const loinc = (code: string, display: string) => ({ coding: [{ system: 'http://loinc.org', code, display }] });
const result = (id: string, code: string, display: string): FileRecord => ({
  fullUrl: `urn:uuid:${id}`,
  resource: { resourceType: 'Observation', id: `obs-${id}`, status: 'final', code: loinc(code, display) },
});

describe('categories decided by the file', () => {
  it("files a lab report's uncategorised results with it, found by fullUrl", () => {
    const results = [result('a1', '2093-3', 'Cholesterol'), result('a2', '13457-7', 'LDL')];
    const report: FileRecord = {
      resource: {
        resourceType: 'DiagnosticReport',
        code: loinc('57698-3', 'Lipid panel'),
        result: results.map((r) => ({ reference: r.fullUrl })),
      },
    };
    const lonely = result('a3', '2085-9', 'HDL'); // listed by no report
    const decisions = fileCategories([report, ...results, lonely]);
    expect(decisions.map((d) => d.category)).toEqual(['lab_results', 'lab_results', 'lab_results', 'clinical_notes']);
    expect(decisions[1]).toMatchObject({ source: 'result', reason: 'a result of Lipid panel' });
    expect(decisions[3]!.source).toBe('codes');
  });

  it("files a panel's members with the panel (hasMember, by Type/id)", () => {
    const member = result('b1', '8480-6', 'Systolic');
    const panel: FileRecord = {
      resource: {
        resourceType: 'Observation',
        code: loinc('85354-9', 'Blood pressure'),
        category: [{ coding: [{ code: 'vital-signs' }] }],
        hasMember: [{ reference: 'Observation/obs-b1' }],
      },
    };
    expect(fileCategories([panel, member]).map((d) => d.category)).toEqual(['vitals', 'vitals']);
  });

  it('never moves a result whose own codes say what it is', () => {
    const coded: FileRecord = {
      fullUrl: 'urn:uuid:c1',
      resource: {
        resourceType: 'Observation',
        code: loinc('11579-0', 'x'),
        category: [{ coding: [{ code: 'laboratory' }] }],
      },
    };
    const report: FileRecord = {
      resource: {
        resourceType: 'DiagnosticReport',
        code: loinc('1', 'Panel'),
        category: [{ coding: [{ code: 'RAD' }] }],
        result: [{ reference: 'urn:uuid:c1' }],
      },
    };
    expect(fileCategories([report, coded]).map((d) => d.category)).toEqual(['imaging', 'lab_results']);
  });

  it('sends context with the records that use it, a sensitive one first', () => {
    const doctor: FileRecord = { resource: { resourceType: 'Practitioner', id: 'p1', name: [{ family: 'Who' }] } };
    const clinic: FileRecord = {
      fullUrl: 'https://x/Organization/o1',
      resource: { resourceType: 'Organization', id: 'o1' },
    };
    const role: FileRecord = {
      resource: {
        resourceType: 'PractitionerRole',
        practitioner: { reference: 'Practitioner/p1' },
        organization: { reference: 'Organization/o1' },
      },
    };
    const allergy: FileRecord = {
      resource: { resourceType: 'AllergyIntolerance', recorder: { reference: 'Practitioner/p1' } },
    };
    const therapy: FileRecord = {
      resource: {
        resourceType: 'Condition',
        code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'F32.9' }] },
        asserter: { reference: 'Practitioner/p1' },
      },
    };
    const encounter: FileRecord = {
      resource: { resourceType: 'Encounter', serviceProvider: { reference: 'Organization/o1' } },
    };
    const decisions = fileCategories([doctor, clinic, role, allergy, therapy, encounter]);
    expect(decisions[0]).toMatchObject({
      category: 'mental_health',
      source: 'context',
      reason: 'used by 2 records in this file',
    });
    expect(decisions[1]).toMatchObject({ category: 'encounters', source: 'context' });
    // The role refers to both; nothing refers to it: it goes where what it names went, the sensitive first.
    expect(decisions[2]).toMatchObject({
      category: 'mental_health',
      source: 'context',
      reason: 'about 2 records in this file',
    });
  });

  it('asks, with the reason, about context nothing names, and keeps what the file said', () => {
    const decisions = fileCategories([
      { resource: { resourceType: 'Organization', id: 'alone' } },
      { resource: { resourceType: 'Medication', id: 'm' } },
      { resource: { resourceType: 'Basic' } },
      { resource: { resourceType: 'Practitioner' }, category: 'documents' },
    ]);
    expect(decisions[0]).toMatchObject({ category: undefined, source: 'undecided' });
    expect(decisions[0]!.reason).toMatch(/Nothing in this file refers to it/);
    expect(decisions[1]).toMatchObject({ category: 'prescriptions', source: 'codes' });
    expect(decisions[2]!.reason).toMatch(/codes do not say/);
    expect(decisions[3]).toMatchObject({ category: 'documents', source: 'file' });
  });

  it('follows references in hostile files only so far', () => {
    let deep: Record<string, unknown> = { reference: 'Practitioner/p' };
    for (let i = 0; i < 10_000; i++) deep = { nested: deep };
    const decisions = fileCategories([
      { resource: { resourceType: 'Practitioner', id: 'p' } },
      { resource: { resourceType: 'Encounter', extension: deep } },
    ]);
    expect(decisions[0]!.source).toBe('undecided');
  });
});
