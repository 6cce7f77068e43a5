// Storing an import in batches: cut by count and size, in order; keys wrapped for the providers
// the vault names, then up front for later batches of the same kind; a batch too large for the
// vault halved until it fits; a failure stops the rest.
import { encryptionPublicKey, type Category } from '@medkey/client';
import { describe, expect, it } from 'vitest';
import { planAll, type PlannedRecord } from '../../src/services/importFile.ts';
import { batchesOf, storeInBatches } from '../../src/services/storeRecords.ts';
import { FakeVault, OWNER, testKeys } from './fakeVault.ts';

const LAB = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';

function results(n: number, category: Category = 'lab_results'): PlannedRecord[] {
  const planned = planAll(
    Array.from({ length: n }, (_, i) => ({
      resource: { resourceType: 'Observation', status: 'final', code: { text: `Test ${i}` } },
    })),
  );
  return planned.map((p) => ({ ...p, category }));
}

async function target(vault: FakeVault) {
  const keys = await testKeys();
  const labKey = await encryptionPublicKey(new Uint8Array(32).fill(9));
  const stored: number[] = [];
  const asked: string[] = [];
  return {
    stored,
    asked,
    target: {
      vault: vault.client(),
      owner: { address: OWNER, publicKey: keys.publicKey },
      providerKey: async (provider: string) => {
        asked.push(provider);
        return labKey;
      },
      stored: (count: number) => void stored.push(count),
    },
  };
}

describe('batchesOf', () => {
  it('cuts in order by count and by size, a record bigger than the size alone', () => {
    const items = ['a', 'bb', 'ccc', 'dddddddddd', 'e'].map((text) => ({ text }));
    expect(batchesOf(items, 2, 100).map((b) => b.map((i) => i.text))).toEqual([
      ['a', 'bb'],
      ['ccc', 'dddddddddd'],
      ['e'],
    ]);
    expect(batchesOf(items, 10, 5).map((b) => b.map((i) => i.text))).toEqual([
      ['a', 'bb'],
      ['ccc'],
      ['dddddddddd'],
      ['e'],
    ]);
    expect(batchesOf([], 10, 5)).toEqual([]);
  });
});

describe('storeInBatches', () => {
  it('stores every record in few calls and wraps for the providers the vault names, up front after that', async () => {
    const vault = new FakeVault();
    vault.sharedWith = { lab_results: [LAB] };
    const { target: t, stored } = await target(vault);
    await storeInBatches([...results(600), ...results(3, 'clinical_notes')], t);
    expect(vault.records.size).toBe(603);
    expect(stored.reduce((a, b) => a + b, 0)).toBe(603);
    const creates = vault.calls.filter((c) => c.startsWith('createRecords'));
    expect(creates).toHaveLength(3);
    // Only the first batch's lab results needed a key afterwards; later ones carried it.
    const adds = vault.calls.filter((c) => c.startsWith('addKeys')).length;
    expect(adds).toBeGreaterThan(0);
    expect(adds).toBeLessThanOrEqual(250 * 2);
    const labKeys = [...vault.records.values()].filter((r) =>
      r.keys.some((k) => k.recipient.toLowerCase() === LAB.toLowerCase()),
    );
    expect(labKeys).toHaveLength(600);
    const notes = [...vault.records.values()].filter((r) => r.view.category === 'clinical_notes');
    expect(notes.every((r) => r.keys.length === 1)).toBe(true);
  });

  it('halves a batch the vault finds too large until it fits', async () => {
    const vault = new FakeVault();
    vault.batchLimit = 70;
    const { target: t } = await target(vault);
    await storeInBatches(results(250), t);
    expect(vault.records.size).toBe(250);
    expect(vault.calls.filter((c) => c.startsWith('createRecords 250'))).toHaveLength(1);
    expect(vault.calls).toContain('createRecords 63');
  });

  it('stops at the first failure and says how many were stored', async () => {
    const vault = new FakeVault();
    vault.failNext = { call: 'createRecords 250', error: new Error('The vault could not be reached.') };
    const { target: t, stored } = await target(vault);
    await expect(storeInBatches(results(300), t)).rejects.toThrow('The vault could not be reached.');
    expect(vault.records.size).toBe(stored.reduce((a, b) => a + b, 0));
  });
});
