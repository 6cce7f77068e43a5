// The patient app's services against a vault in memory: what each does to its slice of the
// state, what it sends, and what she reads when something fails. No browser, no chain.

import { sealNewRecord, type FhirResource } from '@medkey/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AccountService, type AccountSlice } from '../../src/services/accountService.ts';
import { EMPTY_LINKS, LinksService, type LinksSlice } from '../../src/services/linksService.ts';
import { EMPTY_RECORDS, RecordsService, type RecordsSlice } from '../../src/services/recordsService.ts';
import { SessionService, type SessionSlice } from '../../src/services/sessionService.ts';
import { EMPTY_SHARING, SharingService, type SharingSlice } from '../../src/services/sharingService.ts';
import { FakeVault, OWNER, fakeContext, testKeys } from './fakeVault.ts';

const observation = (code: string, date: string): FhirResource => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: code },
  effectiveDateTime: date,
});

async function store(vault: FakeVault, resource: FhirResource, category: 'lab_results' | 'vitals' = 'lab_results') {
  const keys = await testKeys();
  const sealed = await sealNewRecord({
    owner: OWNER,
    resource,
    category,
    readers: [{ address: OWNER, publicKey: keys.publicKey }],
  });
  await vault.createRecord(sealed.body);
  return sealed.body.record_id;
}

describe('RecordsService', () => {
  let vault: FakeVault;
  beforeEach(() => {
    vault = new FakeVault();
  });

  it('opens every record here, newest first, and keeps one that will not open with its reason', async () => {
    await store(vault, observation('HbA1c', '2021-03-01'));
    await store(vault, observation('LDL', '2024-06-01'));
    const broken = await store(vault, observation('Glucose', '2023-01-01'));
    vault.records.get(broken)!.ciphertext = 'AAAA';
    const ctx = fakeContext<RecordsSlice>({ ...EMPTY_RECORDS }, vault, await testKeys());
    await new RecordsService(ctx).load();

    expect(ctx.state.error).toBeUndefined();
    expect(ctx.state.busy).toBeUndefined();
    expect(ctx.busyWords).toContain('Opening your records…');
    const opened = ctx.state.records.filter((r) => !r.problem).map((r) => r.title);
    expect(opened).toEqual(['LDL', 'HbA1c']);
    const failed = ctx.state.records.find((r) => r.view.record_id === broken)!;
    expect(failed.problem).toBeTruthy();
    expect(failed.title).toBe('Observation (could not be opened)');
  });

  it('erases a record and says so; a refusal leaves her records as they were, in words', async () => {
    const first = await store(vault, observation('HbA1c', '2021-03-01'));
    const second = await store(vault, observation('LDL', '2024-06-01'));
    const ctx = fakeContext<RecordsSlice>({ ...EMPTY_RECORDS }, vault, await testKeys());
    const records = new RecordsService(ctx);
    await records.load();

    await records.erase(first);
    expect(ctx.state.records.map((r) => r.view.record_id)).toEqual([second]);
    expect(ctx.state.notice).toBe('The record was erased.');
    expect(vault.records.has(first)).toBe(false);

    vault.failNext = { call: 'eraseRecord', error: new Error('The vault is not answering. Try again in a minute.') };
    await records.erase(second);
    expect(ctx.state.records.map((r) => r.view.record_id)).toEqual([second]);
    expect(ctx.state.error).toBe('The vault is not answering. Try again in a minute.');
    expect(ctx.state.busy).toBeUndefined();
  });

  it('refreshes only what changed in the vault: a new record opens and is said, an erased one goes', async () => {
    const first = await store(vault, observation('HbA1c', '2021-03-01'));
    const second = await store(vault, observation('LDL', '2024-06-01'));
    const ctx = fakeContext<RecordsSlice>({ ...EMPTY_RECORDS }, vault, await testKeys());
    const records = new RecordsService(ctx);
    await records.load();

    vault.calls = [];
    await records.refresh();
    expect(vault.calls).toEqual(['listRecords']);
    expect(ctx.state.notice).toBeUndefined();

    const third = await store(vault, observation('Glucose', '2025-01-01'));
    vault.records.delete(first);
    vault.calls = [];
    await records.refresh();
    expect(vault.calls).toEqual(['listRecords', 'fetchRecords']);
    expect(ctx.state.records.map((r) => r.view.record_id)).toEqual([third, second]);
    expect(ctx.state.records[0]!.title).toBe('Glucose');
    expect(ctx.state.notice).toBe('1 new record arrived since you opened your records.');

    // An answer older than a change made here meanwhile (an import finished) is dropped, not applied.
    await store(vault, observation('Ferritin', '2025-02-01'));
    const pending = records.refresh();
    const justStored = [...ctx.state.records];
    ctx.set({ records: justStored });
    await pending;
    expect(ctx.state.records).toBe(justStored);
  });

  it('signed out, an action says so instead of doing nothing', async () => {
    const ctx = fakeContext<RecordsSlice>({ ...EMPTY_RECORDS }, vault, undefined, true);
    await new RecordsService(ctx).load();
    expect(ctx.state.error).toBe('You are signed out. Connect your wallet again to continue.');
    expect(vault.calls).toEqual([]);
  });

  it('stores planned records only once each has a category, then tells the links which changed', async () => {
    const ctx = fakeContext<RecordsSlice>({ ...EMPTY_RECORDS }, vault, await testKeys());
    const changed: string[][] = [];
    const records = new RecordsService(ctx, async (categories) => void changed.push(categories));
    records.planSelfReport({
      kind: 'blood-pressure',
      systolic: 128,
      diastolic: 82,
      when: new Date('2026-11-30T08:00:00Z'),
    });
    ctx.set({ planned: ctx.state.planned.map((p) => ({ ...p, category: undefined })) });

    await records.storePlanned();
    expect(ctx.state.error).toBe('Choose a category for every record first: it decides who you share it with.');
    expect(vault.records.size).toBe(0);

    records.setPlannedCategory(0, 'vitals');
    await records.storePlanned();
    expect(ctx.state.error).toBeUndefined();
    expect(vault.records.size).toBe(1);
    expect(ctx.state.planned).toEqual([]);
    expect(ctx.state.notice).toBe('1 record added, encrypted in this browser.');
    expect(ctx.busyWords).toContain('Encrypting and storing your records: 0 of 1…');
    expect(changed).toEqual([['vitals']]);
    expect(ctx.state.records).toHaveLength(1);
  });

  it('refuses a file that is neither a PDF nor an image, before anything is sealed', async () => {
    const ctx = fakeContext<RecordsSlice>({ ...EMPTY_RECORDS }, vault, await testKeys());
    await new RecordsService(ctx).attachFile(new File(['x'], 'notes.docx', { type: 'application/msword' }));
    expect(ctx.state.error).toMatch(/^notes\.docx is not a PDF or an image/);
    expect(vault.calls).toEqual([]);
  });
});

describe('SharingService', () => {
  const grant = (id: string, block: number) =>
    ({
      state: 'active',
      grant: { grant_id: id, block_number: block, provider: '0x90F79bf6EB2c4f870365E785982E1f101E93b906' },
    }) as never;

  it('lists her grants newest first', async () => {
    const vault = new FakeVault();
    vault.grantList = [grant('0x01', 5), grant('0x02', 9), grant('0x03', 7)];
    const ctx = fakeContext<SharingSlice>({ ...EMPTY_SHARING, records: [] }, vault, await testKeys());
    await new SharingService(ctx).loadGrants();
    expect(ctx.state.grants.map((g) => g.grant.grant_id)).toEqual(['0x02', '0x03', '0x01']);
  });

  it('declines a request and shows the rest', async () => {
    const vault = new FakeVault();
    vault.requests = [
      { id: 'r1', provider: '0x90F79bf6EB2c4f870365E785982E1f101E93b906' },
      { id: 'r2', provider: '0x90F79bf6EB2c4f870365E785982E1f101E93b906' },
    ] as never;
    const ctx = fakeContext<SharingSlice>({ ...EMPTY_SHARING, records: [] }, vault, await testKeys());
    await new SharingService(ctx).decline('r1');
    expect(vault.calls).toContain('declineRequest r1');
    expect(ctx.state.requests.map((r) => r.id)).toEqual(['r2']);
    expect(ctx.state.notice).toBe('Request declined. The provider sees that you said no.');
  });

  it('will not look up something that is not an address', async () => {
    const vault = new FakeVault();
    const ctx = fakeContext<SharingSlice>({ ...EMPTY_SHARING, records: [] }, vault, await testKeys());
    await new SharingService(ctx).lookUp('dr. smith');
    expect(ctx.state.error).toMatch(/^That is not a provider address/);
    expect(vault.calls).toEqual([]);
  });
});

describe('LinksService', () => {
  it('asks for a name, records in the categories and a long enough passcode before encrypting anything', async () => {
    const vault = new FakeVault();
    const ctx = fakeContext<LinksSlice>({ ...EMPTY_LINKS, records: [] }, vault, await testKeys());
    const links = new LinksService(ctx);
    const form = {
      label: '',
      categories: ['lab_results'],
      passcode: '',
      days: 7,
      singleUse: false,
      followChanges: false,
    } as never;
    await links.create(form);
    expect(ctx.state.error).toMatch(/^Give the link a name/);
    await links.create({ ...(form as object), label: 'Dentist' } as never);
    expect(ctx.state.error).toMatch(/^None of your records is in the categories you chose/);
    expect(vault.calls).toEqual([]);
  });

  it('stops a link and lists it as stopped', async () => {
    const vault = new FakeVault();
    vault.links = [{ id: 'abc', state: 'active' } as never];
    const ctx = fakeContext<LinksSlice>({ ...EMPTY_LINKS, records: [] }, vault, await testKeys());
    await new LinksService(ctx).revoke('abc');
    expect(vault.calls).toEqual(['revokeShareLink abc', 'shareLinks']);
    expect(ctx.state.shareLinks?.[0]?.state).toBe('revoked');
    expect(ctx.state.notice).toBe('Link stopped. Nobody can open it from now on.');
  });
});

describe('AccountService', () => {
  it('turns the second factor off with a code from the app or a recovery code', async () => {
    const vault = new FakeVault();
    const ctx = fakeContext<AccountSlice>({}, vault, await testKeys());
    const account = new AccountService(ctx);
    await account.disableMfa(' 123456 ');
    await account.disableMfa('abcd-efgh-ijkl');
    expect(vault.calls).toEqual(['mfaDisable {"totp":"123456"}', 'mfaDisable {"recovery_code":"abcd-efgh-ijkl"}']);
    expect(ctx.state.mfa).toEqual({ enabled: false });
  });
});

describe('SessionService', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('has no key while locked, and locks itself after the idle time with the reason', async () => {
    vi.useFakeTimers();
    const vault = new FakeVault();
    const ctx = fakeContext<SessionSlice>({ phase: 'ready' }, vault, undefined);
    const locked: string[] = [];
    const session = new SessionService(
      ctx,
      async () => ctx.signedIn(),
      async () => undefined,
      async (reason) => void locked.push(reason),
      60_000,
    );
    expect(() => session.keys()).toThrow('Medkey is locked. Connect your wallet again to open your records.');
    expect(session.publicKeyHex()).toBeUndefined();

    session.touch();
    vi.advanceTimersByTime(59_000);
    session.touch();
    vi.advanceTimersByTime(59_000);
    expect(locked).toEqual([]);
    vi.advanceTimersByTime(2_000);
    expect(locked).toEqual(['Medkey locked itself after a while without use. Connect again to continue.']);
  });
});
