// `medkey connect` (the command line) against the SMART sandbox and a real medkey dev: she signs
// in at the sandbox's own pages in a browser, the provider sends the answer to the command's
// loopback port (RFC 8252), and her records are pulled, sealed and stored on this machine. Then
// `sync` runs unattended: only what changed comes, a changed record becomes its next version, a
// refused refresh token says "reconnect", and `remove` deletes the sealed connection.
import { CLI_CLIENT_ID, startSandbox, type Sandbox } from '@medkey/smart-sandbox';
import { base64 } from '@scure/base';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from 'viem';
import { connectionKey, openConnection, openOrigin, originKey } from '../src/index.ts';
import { chromiumLaunchOptions } from './browser.ts';
import { cliConnectAdd, sandboxSignIn } from './cliConnectAdd.ts';
import { medkeyCli, startDevStack, type DevStack } from './devStack.ts';
import { signedInAs } from './signedInAs.ts';

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

/** Her own view of the vault, from Node, with her origin key. */
async function herVault() {
  const her = await signedInAs(stack, stack.keys.patient);
  return { ...her, key: originKey(her.keys.secret) };
}

const cli = (args: string[]) => medkeyCli(stack, stack.keys.patient, ['connect', ...args]);

describe.sequential('medkey connect', () => {
  it('signs her in through a loopback redirect and stores her records, each with its source', async () => {
    let landed = '';
    const { out, err } = await cliConnectAdd(stack, sandbox.fhirBase, CLI_CLIENT_ID, async (url) => {
      landed = await sandboxSignIn(browser, url, '355');
    });
    expect(landed).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
    const result = JSON.parse(out) as { added: number; updated: number; connection: string };
    expect(result.added).toBeGreaterThan(400);
    expect(result.updated).toBe(0);
    expect(err).toContain('conditions');
    expect(sandbox.files.withAuthorization, 'her token never goes to another host').toEqual([]);

    const { vault, key, address, keys } = await herVault();
    const views = await vault.listRecords();
    expect(views).toHaveLength(result.added);
    const { records } = await vault.fetchRecords(views.slice(0, 20).map((v) => v.record_id));
    for (const record of records) {
      const origin = await openOrigin(key, record.record.record_id, address, base64.decode(record.origin!));
      expect(origin.source?.server).toBe(sandbox.fhirBase);
      expect(origin.source?.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    // The app opens the CLI's sealed connection (any of her devices syncs it), and both clients
    // hash a resource the same way (the app would otherwise store it again as a new version).
    const [kept] = (await vault.connections()).connections;
    const connection = await openConnection(connectionKey(keys.secret), address, kept!.id, base64.decode(kept!.sealed));
    expect([connection.server.fhirBase, connection.patient, connection.status]).toEqual([
      sandbox.fhirBase,
      '355',
      'ok',
    ]);
    expect(connection.refreshToken).toBeTruthy();
    expect(connection.cursor).toMatch(/^\d{4}-/);
    const sources = await Promise.all(
      records.map(async (r) => (await openOrigin(key, r.record.record_id, address, base64.decode(r.origin!))).source!),
    );
    for (const source of sources.slice(0, 10)) {
      const [resource] = (await sandbox.ofType('355', source.resourceType)).filter((r) => r.id === source.id);
      const text = new TextEncoder().encode(JSON.stringify(resource));
      const digest = bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', text))).slice(2);
      expect(digest, `${source.resourceType}/${source.id}`).toBe(source.sha256);
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

  it('says "reconnect" when the provider refuses the refresh token, signs in again, and removes the connection', async () => {
    sandbox.expireRefreshTokens();
    await expect(cli(['sync'])).rejects.toThrow(/no longer accepts Medkey's sign-in; reconnect/);
    const listed = JSON.parse(await cli(['list', '--json'])) as { id: string; needs_reconnect: boolean }[];
    expect(listed[0]!.needs_reconnect).toBe(true);
    // Signing in again keeps the same connection and what it knew: nothing is stored twice.
    const again = await cliConnectAdd(stack, sandbox.fhirBase, CLI_CLIENT_ID, async (url) => {
      await sandboxSignIn(browser, url, '355');
    });
    const back = JSON.parse(again.out) as { connection: string; added: number; updated: number };
    expect([back.connection, back.added, back.updated]).toEqual([listed[0]!.id, 0, 0]);
    const reconnected = JSON.parse(await cli(['list', '--json'])) as { needs_reconnect: boolean }[];
    expect(reconnected.map((c) => c.needs_reconnect)).toEqual([false]);
    const removed = JSON.parse(await cli(['remove', listed[0]!.id.slice(0, 8), '--json'])) as { removed: string };
    expect(removed.removed).toBe(listed[0]!.id);
    expect(JSON.parse(await cli(['list', '--json']))).toEqual([]);
  }, 60_000);
});
