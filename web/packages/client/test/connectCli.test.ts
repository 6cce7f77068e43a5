// `medkey connect` (the command line) against the SMART sandbox and a real medkey dev: she signs
// in at the sandbox's own pages in a browser, the provider sends the answer to the command's
// loopback port (RFC 8252), and her records are pulled, sealed and stored on this machine. Then
// `sync` runs unattended: only what changed comes, a changed record becomes its next version, a
// refused refresh token says "reconnect", and `remove` deletes the sealed connection.
import { spawn } from 'node:child_process';
import { CLI_CLIENT_ID, startSandbox, type Sandbox } from '@medkey/smart-sandbox';
import { base64 } from '@scure/base';
import { chromium, type Browser } from 'playwright-core';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultClient, VaultSession, Wallet, deriveEncryptionKey, openOrigin, originKey } from '../src/index.ts';
import { chromiumLaunchOptions } from './browser.ts';
import { medkeyBinary, medkeyCli, medkeyCliEnv, repoRoot, startDevStack, type DevStack } from './devStack.ts';
import { testWallet } from './testWallet.ts';

let sandbox: Sandbox;
let stack: DevStack;
let browser: Browser;

beforeAll(async () => {
  sandbox = await startSandbox({ redirectUris: [] });
  stack = await startDevStack();
  browser = await chromium.launch(chromiumLaunchOptions());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await sandbox?.stop();
});

/** `medkey connect add`, with the sign-in address it prints handed to `signIn`. */
function connectAdd(signIn: (url: string) => Promise<void>): Promise<{ out: string; err: string }> {
  const child = spawn(
    medkeyBinary(),
    ['connect', 'add', sandbox.fhirBase, '--client-id', CLI_CLIENT_ID, '--no-browser', '--yes', '--json'],
    { cwd: repoRoot, env: medkeyCliEnv(stack, stack.keys.patient), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let signing: Promise<void> | undefined;
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    err += d;
    const url = /^\s+(http\S+)$/m.exec(err)?.[1];
    if (url && !signing) signing = signIn(url);
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      void (signing ?? Promise.resolve()).then(() =>
        code === 0 ? resolve({ out, err }) : reject(new Error(`medkey connect add → ${code}\n${err}`)),
      );
    }),
  );
}

async function herVault() {
  const account = privateKeyToAccount(stack.keys.patient);
  const wallet = await Wallet.connect(testWallet(account, { rpcUrl: stack.rpcUrl, chainId: stack.chainId }));
  const vault = new VaultClient(stack.vaultUrl);
  await VaultSession.signIn(vault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
  return { vault, key: originKey((await deriveEncryptionKey(wallet)).secret), address: account.address };
}

const cli = (args: string[]) => medkeyCli(stack, stack.keys.patient, ['connect', ...args]);

describe.sequential('medkey connect', () => {
  it('signs her in through a loopback redirect and stores her records, each with its source', async () => {
    let landed = '';
    const { out, err } = await connectAdd(async (url) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      await page.locator('input[name="login"]').fill('355');
      await page.locator('input[name="password"]').fill('any');
      await page.locator('button[type="submit"]').click();
      await page.locator('button[type="submit"]').click(); // consent: "Continue"
      await page.getByText('Medkey has the provider').waitFor();
      landed = page.url();
      await context.close();
    });
    expect(landed).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
    const result = JSON.parse(out) as { added: number; updated: number; connection: string };
    expect(result.added).toBeGreaterThan(400);
    expect(result.updated).toBe(0);
    expect(err).toContain('conditions');
    expect(sandbox.files.withAuthorization, 'her token never goes to another host').toEqual([]);

    const { vault, key, address } = await herVault();
    const views = await vault.listRecords();
    expect(views).toHaveLength(result.added);
    const { records } = await vault.fetchRecords(views.slice(0, 20).map((v) => v.record_id));
    for (const record of records) {
      const origin = await openOrigin(key, record.record.record_id, address, base64.decode(record.origin!));
      expect(origin.source?.server).toBe(sandbox.fhirBase);
      expect(origin.source?.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const listed = JSON.parse(await cli(['list', '--json'])) as { id: string; synced_at: string | null }[];
    expect(listed.map((c) => c.id)).toEqual([result.connection]);
    expect(listed[0]!.synced_at).toBeTruthy();
  }, 240_000);

  it('syncs unattended: two new results, a changed condition as its version 2, then nothing', async () => {
    const patient = sandbox.patients[0]!;
    for (const value of [88, 131])
      await sandbox.put(patient, {
        resourceType: 'Observation',
        status: 'final',
        category: [
          { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] },
        ],
        code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
        subject: { reference: `Patient/${patient}` },
        valueQuantity: { value, unit: 'mg/dL' },
      });
    const condition = (await sandbox.ofType(patient, 'Condition'))[1]!;
    await sandbox.put(patient, { ...condition, note: [{ text: 'Resolved.' }] } as never);

    const synced = JSON.parse(await cli(['sync', '--json'])) as { added: number; updated: number };
    expect([synced.added, synced.updated]).toEqual([2, 1]);
    const { vault } = await herVault();
    expect((await vault.listRecords()).filter((r) => r.version === 2).map((r) => r.resource_type)).toEqual([
      'Condition',
    ]);
    const again = JSON.parse(await cli(['sync', '--json'])) as { added: number; updated: number };
    expect([again.added, again.updated]).toEqual([0, 0]);
  }, 120_000);

  it('says "reconnect" when the provider refuses the refresh token, and removes the connection', async () => {
    sandbox.expireRefreshTokens();
    await expect(cli(['sync'])).rejects.toThrow(/no longer accepts Medkey's sign-in; reconnect/);
    const listed = JSON.parse(await cli(['list', '--json'])) as { id: string; needs_reconnect: boolean }[];
    expect(listed[0]!.needs_reconnect).toBe(true);
    const removed = JSON.parse(await cli(['remove', listed[0]!.id.slice(0, 8), '--json'])) as { removed: string };
    expect(removed.removed).toBe(listed[0]!.id);
    expect(JSON.parse(await cli(['list', '--json']))).toEqual([]);
  }, 60_000);
});
