// The category choices a real file leaves to her: HL7's own CCD and the R4 lipid panel example.
import { inferCategory } from '@medkey/client';
import { titleOf } from '@medkey/fhir-display';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { planAll, readRecordsFile } from '../../src/services/importFile.ts';
import { planSummary } from '../../src/services/planSummary.ts';
import { EMPTY_RECORDS, RecordsService, type RecordsSlice } from '../../src/services/recordsService.ts';
import { FakeVault, fakeContext, testKeys } from './fakeVault.ts';

const fixture = (name: string, type: string) =>
  new File([readFileSync(join(import.meta.dirname, '../fixtures', name))], name, { type });

beforeAll(() => {
  // Medplum's converter touches WebSocket when it loads; Node 20 has none.
  (globalThis as { WebSocket?: unknown }).WebSocket ??= class {};
});

describe('categories a file decides', () => {
  it("leaves none of HL7's CCD to guesswork (51 choices each on its own codes)", async () => {
    const entries = await readRecordsFile(fixture('hl7-ccd.xml', 'text/xml'));
    expect(entries.filter((e) => !inferCategory(e.resource))).toHaveLength(51);
    const planned = planAll(entries);
    const summary = planSummary(planned);
    expect(summary).toMatchObject({ total: 105, undecided: 0 });
    expect(summary.byFile).toBeGreaterThanOrEqual(51);
    for (const p of planned.filter((p) => p.resource.resourceType === 'Practitioner'))
      expect(p).toMatchObject({ source: 'context', reason: expect.stringMatching(/record/) });
    // Its problems are titled by what they assert, not "ASSERTION".
    expect(planned.map((p) => titleOf(p.resource))).not.toContain('ASSERTION');
  });

  it("files the R4 lipid panel's uncategorised results with the report", async () => {
    const planned = planAll(await readRecordsFile(fixture('r4-lipids.json', 'application/fhir+json')));
    expect(planned.map((p) => [p.resource.resourceType, p.category, p.source])).toEqual([
      ['DiagnosticReport', 'lab_results', 'codes'],
      ...Array(4).fill(['Observation', 'lab_results', 'result']),
    ]);
    expect(planned[1]!.reason).toBe('a result of Lipid Panel');
  });

  it('puts every record still waiting in one category at once, and keeps the others', async () => {
    const ctx = fakeContext<RecordsSlice>({ ...EMPTY_RECORDS }, new FakeVault(), await testKeys());
    const records = new RecordsService(ctx);
    ctx.set({
      planned: planAll([
        { resource: { resourceType: 'Organization', id: 'alone' } },
        { resource: { resourceType: 'Basic' } },
        { resource: { resourceType: 'AllergyIntolerance' } },
      ]),
    });
    records.setUndecidedCategories('documents');
    expect(ctx.state.planned.map((p) => [p.category, p.source])).toEqual([
      ['documents', 'chosen'],
      ['documents', 'chosen'],
      ['allergies', 'codes'],
    ]);
  });
});
