// End to end, the way a browser app will do it: a patient and a provider act only through
// EIP-1193 wallets that sign (the test wallet never shows its key), against a real anvil, the
// ConsentRegistry and the vault of `medkey dev`. The CLI, with the same patient key, opens what
// the library sealed, and the library opens what the CLI sealed.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex, createPublicClient, hexToBytes, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  auditEventBundle,
  MedkeyError,
  VaultClient,
  VaultSession,
  Wallet,
  bindingOf,
  checkAuditLog,
  collect,
  decryptStream,
  deriveAndPublishKey,
  deriveEncryptionKey,
  encryptStream,
  grantViaRelay,
  openRecordContent,
  providerEncryptionKey,
  readAuditAnchor,
  readProvider,
  revokeViaRelay,
  sealNewRecord,
  wrapAll,
  type Deployment,
  type EncryptionKeyPair,
} from '../src/index.ts';
import { medkeyCli, startDevStack, type DevStack } from './devStack.ts';
import { testWallet } from './testWallet.ts';

let stack: DevStack;
let deployment: Deployment;
const chain = () => createPublicClient({ transport: http(stack.rpcUrl) });

async function connect(key: Hex): Promise<{ wallet: Wallet; session: VaultSession; vault: VaultClient }> {
  const wallet = await Wallet.connect(
    testWallet(privateKeyToAccount(key), { rpcUrl: stack.rpcUrl, chainId: stack.chainId }),
  );
  const vault = new VaultClient(stack.vaultUrl);
  const session = await VaultSession.signIn(vault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
  return { wallet, session, vault };
}

beforeAll(async () => {
  stack = await startDevStack();
  deployment = { chainId: stack.chainId, address: stack.registry };
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

describe('a wallet that only signs does what the patient and provider CLI do', () => {
  let patient: Awaited<ReturnType<typeof connect>>;
  let patientKey: EncryptionKeyPair;
  let recordId: string;
  let grantId: Hex;
  const attachment = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 131 + 7) & 0xff);
  const resource = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }] },
    valueQuantity: { value: 5.4, unit: '%' },
  };

  it('signs in, derives her key (asking twice) and publishes it', async () => {
    patient = await connect(stack.keys.patient);
    patientKey = await deriveAndPublishKey(patient.session, patient.wallet, stack.chainId, {
      checkDeterministic: true,
      chain: chain(),
    });
    const published = await patient.vault.accountKey(patient.wallet.address);
    expect(published.encryption_key).toBe(bytesToHex(patientKey.publicKey));
  });

  it('uploads a sealed record with an encrypted attachment, streamed', async () => {
    const sealed = await sealNewRecord({
      owner: patient.wallet.address,
      resource,
      category: 'lab_results',
      readers: [{ address: patient.wallet.address, publicKey: patientKey.publicKey }],
    });
    const created = await patient.vault.createRecord(sealed.body);
    recordId = created.record.record_id;
    expect(created.record.version).toBe(1);
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < attachment.length; i += 50_000) c.enqueue(attachment.slice(i, i + 50_000));
        c.close();
      },
    });
    const stored = await patient.vault.uploadAttachment(
      recordId,
      1,
      source.pipeThrough(encryptStream(sealed.dataKey, sealed.binding)),
    );
    expect(stored.size).toBeGreaterThan(attachment.length);
    sealed.dataKey.fill(0);
  });

  it('grants the lab through the relay after checking the draft, and wraps the key to the key on chain', async () => {
    const lab = privateKeyToAccount(stack.keys.lab).address;
    const relayed = await grantViaRelay(patient.vault, patient.wallet, deployment, {
      provider: lab,
      categories: ['lab_results'],
      purpose: 'TREAT',
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    grantId = relayed.grantId;
    expect(grantId).toMatch(/^0x[0-9a-f]{64}$/);
    const fetched = await patient.vault.fetchRecord(recordId);
    const opened = await openRecordContent(fetched.record, fetched.ciphertext, fetched.wrapped_key, patientKey.secret);
    const labKey = await providerEncryptionKey(chain(), deployment, lab);
    await patient.vault.addKeys(recordId, 1, {
      wrapped_keys: await wrapAll(opened.dataKey, opened.binding, [{ address: lab, publicKey: labKey }]),
    });
  });

  it('lets the lab, through its own wallet, open the record and its attachment', async () => {
    const lab = await connect(stack.keys.lab);
    const labKey = await deriveEncryptionKey(lab.wallet);
    // The key `medkey dev` registered on chain (derived by the Rust CLI) is the one this wallet derives.
    const onChain = await readProvider(chain(), deployment, lab.wallet.address);
    expect(bytesToHex(onChain.encryptionKey)).toBe(bytesToHex(labKey.publicKey));
    const batch = await lab.vault.releaseKeys(patient.wallet.address, { record_ids: [recordId] });
    expect(batch.refused).toEqual([]);
    const release = batch.released[0]!;
    const opened = await openRecordContent(release.record, release.ciphertext, release.wrapped_key, labKey.secret);
    expect(opened.resource).toEqual(resource);
    const { stream } = await lab.vault.downloadAttachment(recordId);
    expect(await collect(stream.pipeThrough(decryptStream(opened.dataKey, bindingOf(release.record))))).toEqual(
      attachment,
    );
  });

  it('is opened by the CLI with the same key, and opens what the CLI sealed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'medkey-cli-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    await medkeyCli(stack, stack.keys.patient, [
      'show',
      recordId,
      '--out',
      join(dir, 'out.json'),
      '--attachment-out',
      join(dir, 'a.bin'),
    ]);
    expect(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'))).toEqual(resource);
    expect(new Uint8Array(readFileSync(join(dir, 'a.bin')))).toEqual(attachment);

    const fromCli = { resourceType: 'AllergyIntolerance', code: { text: 'Penicillin' }, patient: { display: 'me' } };
    writeFileSync(join(dir, 'allergy.json'), JSON.stringify(fromCli));
    const uploaded = JSON.parse(
      await medkeyCli(stack, stack.keys.patient, ['upload', join(dir, 'allergy.json'), '--json']),
    );
    const id: string = (uploaded.records ?? uploaded)[0]?.record_id ?? uploaded.record_id;
    const fetched = await patient.vault.fetchRecord(id);
    const opened = await openRecordContent(fetched.record, fetched.ciphertext, fetched.wrapped_key, patientKey.secret);
    expect(opened.resource).toEqual(fromCli);
    // Both records in one call; an id that is not hers reads as missing.
    const stranger = 'ffeeddccbbaa99887766554433221100';
    const many = await patient.vault.fetchRecords([recordId, id, stranger]);
    expect(many.records.map((r) => r.record.record_id)).toEqual([recordId, id]);
    expect(many.missing).toEqual([stranger]);
    const lab = await connect(stack.keys.lab);
    expect((await lab.vault.fetchRecords([recordId])).missing).toEqual([recordId]);
  });

  it('revokes through the relay, and the lab is refused at once', async () => {
    await revokeViaRelay(patient.vault, patient.wallet, deployment, grantId);
    const lab = await connect(stack.keys.lab);
    const batch = await lab.vault.releaseKeys(patient.wallet.address, { record_ids: [recordId] });
    expect(batch.released).toEqual([]);
    expect(batch.refused[0]?.error.code).toBe('no_live_grant');
  });

  it("checks the vault's audit log: signature, inclusion, the last head seen and the anchor on chain", async () => {
    const operatorKey = hexToBytes(`0x${stack.auditKey}`);
    const source = {
      entries: () => patient.vault.auditEntries(),
      consistency: (from: number) => patient.vault.consistency(from),
    };
    const first = await checkAuditLog({ source, operatorKey, chainId: stack.chainId });
    expect(first.check).toEqual({ ok: true, size: first.head!.size });
    const kinds = first.entries.map((e) => e.entry.kind);
    expect(kinds).toEqual(expect.arrayContaining(['record_created', 'grant_relayed', 'key_released', 'key_denied']));

    // The operator anchors the head on chain; more happens; the log still continues both.
    await medkeyCli(stack, stack.keys.admin, [
      'admin',
      'anchor',
      '--vault',
      stack.vaultUrl,
      '--rpc-url',
      stack.rpcUrl,
      '--deployments-dir',
      stack.deploymentsDir,
    ]);
    const anchored = await readAuditAnchor(chain(), deployment);
    expect(anchored.size).toBeGreaterThanOrEqual(first.head!.size);
    await patient.vault.fetchRecord(recordId).catch(() => undefined);
    await connect(stack.keys.patient); // a sign-in is logged: the log grows past the anchor
    const lastSeen = { size: first.head!.size, root: first.head!.root };
    const later = await checkAuditLog({ source, operatorKey, chainId: stack.chainId, lastSeen, anchored });
    expect(later.check.ok, JSON.stringify(later.check)).toBe(true);
    expect(later.head!.size).toBeGreaterThan(anchored.size);

    // As FHIR AuditEvents, the same as the CLI writes them (anything it logged since comes after).
    const ours = auditEventBundle(
      stack.chainId,
      later.entries.map((e) => e.entry),
    );
    const cli = JSON.parse(await medkeyCli(stack, stack.keys.patient, ['audit', 'log', '--fhir']));
    expect(cli.entry.length).toBeGreaterThanOrEqual((ours.entry as unknown[]).length);
    expect(cli.entry.slice(0, (ours.entry as unknown[]).length)).toEqual(ours.entry);

    // A vault that edits an entry it serves, or shows a log that does not continue the one seen.
    const edited = {
      ...source,
      entries: async () => {
        const answer = await source.entries();
        answer.entries[0]!.entry.outcome = 'ok_edited';
        return answer;
      },
    };
    expect((await checkAuditLog({ source: edited, operatorKey, chainId: stack.chainId })).check).toMatchObject({
      ok: false,
      reason: 'not_included',
    });
    const forked = { size: lastSeen.size, root: `0x${'ab'.repeat(32)}` };
    const check = (await checkAuditLog({ source, operatorKey, chainId: stack.chainId, lastSeen: forked })).check;
    expect(check).toMatchObject({ ok: false, reason: 'not_consistent' });
    expect(check.ok ? '' : check.message).toMatch(/Do not rely on this list/);
  });

  it('refreshes its session and signs out', async () => {
    const { session, vault } = await connect(stack.keys.patient);
    await session.ensureFresh(Number.MAX_SAFE_INTEGER); // as if the access token were about to expire
    expect((await vault.listRecords()).length).toBeGreaterThan(0);
    await session.signOut();
    await expect(vault.listRecords()).rejects.toMatchObject({ code: 'missing_token', status: 401 });
  });

  it('refuses a draft the vault altered, before anything is signed', async () => {
    let signed = 0;
    const account = privateKeyToAccount(stack.keys.patient);
    const base = testWallet(account, { rpcUrl: stack.rpcUrl, chainId: stack.chainId });
    const counting = {
      ...base,
      request: async (args: { method: string; params?: unknown }) => {
        if (args.method === 'eth_signTypedData_v4') signed += 1;
        return (base.request as (a: typeof args) => Promise<unknown>)(args);
      },
    } as typeof base;
    const wallet = await Wallet.connect(counting);
    // A vault that widens the categories it was asked for.
    const lying = new VaultClient(stack.vaultUrl, {
      fetch: async (input, init) => {
        const request = new Request(input, init);
        const response = await fetch(request);
        if (!request.url.endsWith('/v1/grants/typed-data')) return response;
        const body = await response.json();
        body.typed_data.message.categories = 0xffff;
        return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
      },
    });
    await VaultSession.signIn(lying, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
    const err = await grantViaRelay(lying, wallet, deployment, {
      provider: privateKeyToAccount(stack.keys.clinic).address as Address,
      categories: ['vitals'],
      purpose: 'TREAT',
      expiresAt: new Date(Date.now() + 3_600_000),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MedkeyError);
    expect((err as MedkeyError).code).toBe('draft_mismatch');
    expect(signed).toBe(0);
  });
});
