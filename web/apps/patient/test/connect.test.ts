// "Connect a provider" in Debian's headless Chromium against a real anvil and vault (medkey dev,
// listing the sandbox as a provider) and the SMART sandbox (oidc-provider + Medplum's FHIR router
// with US Core patient 355): she signs in at the sandbox's own pages in the window that opens,
// sees what came before anything is stored, and her timeline then holds her provider's records.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openOrigin, originKey } from '@medkey/client';
import { chromiumLaunchOptions, phoneProblems, signedInAs, startDevStack, type DevStack } from '@medkey/client/testing';
import { base64 } from '@scure/base';
import { startSandbox, type Sandbox } from '@medkey/smart-sandbox';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientContext } from './journeys.ts';

const appDir = fileURLToPath(new URL('..', import.meta.url));
let sandbox: Sandbox;
let stack: DevStack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  sandbox = await startSandbox({ redirectUris: [] });
  stack = await startDevStack({ webRoot: join(appDir, 'dist'), smartEndpoints: [sandbox.fhirBase] });
  sandbox.allowRedirect(`http://${stack.siweDomain}/connected.html`);
  browser = await chromium.launch(chromiumLaunchOptions());
  const context = await patientContext(browser, stack, stack.keys.patient, { width: 375, height: 800 }, [
    sandbox.url,
    sandbox.files.url,
  ]);
  page = await context.newPage();
  await page.goto(`http://${stack.siweDomain}/`);
  await page.getByRole('button', { name: 'Test Wallet' }).click();
  await page.getByRole('button', { name: 'Create my encryption key' }).click();
  await page.getByRole('heading', { name: 'Your records' }).waitFor();
}, 120_000);

/** Her own view of the vault, from Node, with her origin key. */
async function herVault() {
  const her = await signedInAs(stack, stack.keys.patient);
  return { ...her, key: originKey(her.keys.secret) };
}

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await sandbox?.stop();
});

describe.sequential('connecting to her provider', () => {
  it('signs in at the provider in a window, shows what came, and stores it when she says so', async () => {
    await page.getByRole('button', { name: 'Add records' }).click();
    const host = new URL(sandbox.fhirBase).host;
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      page.getByRole('button', { name: `Connect to ${host}` }).click(),
    ]);
    await popup.locator('input[name="login"]').fill('355');
    await popup.locator('input[name="password"]').fill('any');
    await popup.locator('button[type="submit"]').click();
    await popup.locator('button[type="submit"]').click(); // the sandbox's consent: "Continue"
    await popup.waitForEvent('close'); // connected.js hands the answer over and closes it
    await page.getByRole('heading', { name: 'What will be stored' }).waitFor({ timeout: 60_000 });
    // The one document on another host is not fetched: the page may reach the listed provider only.
    expect(await phoneProblems(page), 'the plan fits a phone').toEqual([
      `the CSP refused connect-src ${sandbox.files.url}/dummy.pdf`,
    ]);
    await page.getByText(/could not be brought in/).waitFor();
    await page.getByText(/which this browser may not reach; the Medkey command line can bring it/).waitFor();
    expect(sandbox.files.withAuthorization).toEqual([]);
    const store = page.getByRole('button', { name: /^Encrypt and store [\d,]+ records$/ });
    const count = Number((await store.textContent())!.replace(/\D/g, ''));
    expect(count).toBeGreaterThan(400);
    await store.click();
    await page.getByText(`${count.toLocaleString('en-US')} records added`).waitFor({ timeout: 120_000 });
    // Her name from the provider's Patient record now heads the app, and her records are listed
    // by when they happened, a clinical note among them with its text.
    await page.locator('header .account', { hasText: 'Dustin31 Ritchie586' }).waitFor();
    await page.getByLabel('Search').fill('Viral sinusitis');
    await page
      .getByRole('button', { name: /Viral sinusitis/ })
      .first()
      .click();
    await page
      .getByText(/Viral sinusitis/)
      .first()
      .waitFor();
    // A clinical note the provider serves as a file (its Binary, fetched with her token) opens as text.
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Records' }).click();
    await page.getByLabel('Search').fill('Discharge summary');
    await page
      .getByRole('button', { name: /Discharge summary/ })
      .first()
      .click();
    await page.getByRole('button', { name: 'Show the attached file' }).click();
    await page.locator('pre.note-text', { hasText: 'Chief Complaint' }).waitFor();
    // Each record carries where it came from, sealed so that only she opens it: the next sync
    // knows it again by server, type and id.
    const { vault, key, address } = await herVault();
    const ids = (await vault.listRecords()).map((r) => r.record_id);
    expect(ids.length).toBe(count);
    // Every one of them, those stored with a file included.
    const { records } = await vault.fetchRecords(ids);
    for (const record of records) {
      expect(record.origin, `${record.record.resource_type} has its origin`).toBeTruthy();
      const origin = await openOrigin(key, record.record.record_id, address, base64.decode(record.origin!));
      expect(origin.source?.server).toBe(sandbox.fhirBase);
      expect(origin.source?.resourceType).toBe(record.record.resource_type);
      expect(origin.source?.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(await phoneProblems(page), 'a record fits a phone').toEqual([
      `the CSP refused connect-src ${sandbox.files.url}/dummy.pdf`,
    ]);
  }, 240_000);

  it('syncs only what changed: two new results are two records, a changed condition its version 2', async () => {
    const patient = sandbox.patients[0]!;
    const host = new URL(sandbox.fhirBase).host;
    // The provider adds two results and corrects a condition, as an EHR does between visits.
    const result = (value: number) => ({
      resourceType: 'Observation' as const,
      status: 'final' as const,
      category: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] },
      ],
      code: {
        coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma' }],
      },
      subject: { reference: `Patient/${patient}` },
      effectiveDateTime: '2026-12-01T09:00:00Z',
      valueQuantity: { value, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    });
    await sandbox.put(patient, result(101));
    await sandbox.put(patient, result(97));
    const condition = (await sandbox.ofType(patient, 'Condition'))[0]! as { id: string; note?: unknown };
    await sandbox.put(patient, { ...condition, note: [{ text: 'Corrected at the follow-up visit.' }] } as never);

    const before = await herVault();
    const beforeIds = new Set((await before.vault.listRecords()).map((r) => r.record_id));
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Records' }).click();
    await page.getByRole('button', { name: 'Add records' }).click();
    await page.getByRole('button', { name: `Sync now with ${host}` }).click();
    await page.getByRole('heading', { name: 'What will be stored' }).waitFor({ timeout: 60_000 });
    await page.getByText('Changed at your provider since you stored it: kept as its new version.').waitFor();
    await page.getByRole('button', { name: 'Encrypt and store 3 records' }).click();
    await page.getByText('3 records added').waitFor({ timeout: 60_000 });

    const after = await before.vault.listRecords();
    const added = after.filter((r) => !beforeIds.has(r.record_id));
    expect(added.map((r) => r.resource_type)).toEqual(['Observation', 'Observation']);
    const changed = after.filter((r) => r.version > 1);
    expect(changed.map((r) => r.resource_type)).toEqual(['Condition']);
    const origin = await openOrigin(
      before.key,
      changed[0]!.record_id,
      before.address,
      base64.decode((await before.vault.fetchRecord(changed[0]!.record_id)).origin!),
    );
    expect(origin.source?.id, 'the version replaced the record pulled before').toBe(condition.id);

    // Nothing changed since: the next sync stores nothing and says so.
    await page.getByRole('button', { name: 'Add records' }).click();
    await page.getByRole('button', { name: `Sync now with ${host}` }).click();
    await page.getByText(`Nothing new from ${host}`).waitFor({ timeout: 60_000 });
    expect((await before.vault.listRecords()).length).toBe(after.length);
  }, 180_000);

  it('syncs from another device with the sealed connection, and the vault holds nothing of it in the clear', async () => {
    const patient = sandbox.patients[0]!;
    const host = new URL(sandbox.fhirBase).host;
    const { vault } = await herVault();
    const kept = (await vault.connections()).connections;
    expect(kept).toHaveLength(1);
    const sealed = new TextDecoder('latin1').decode(base64.decode(kept[0]!.sealed));
    for (const word of [host, 'refresh', patient, sandbox.fhirBase]) expect(sealed).not.toContain(word);

    await sandbox.put(patient, {
      resourceType: 'Immunization',
      status: 'completed',
      vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '141', display: 'Influenza, seasonal' }] },
      patient: { reference: `Patient/${patient}` },
      occurrenceDateTime: '2026-12-02T10:00:00Z',
    } as never);
    const count = (await vault.listRecords()).length;
    // A clean browser: nothing of the first one's but her wallet.
    const context = await patientContext(browser, stack, stack.keys.patient, { width: 1280, height: 900 }, [
      sandbox.url,
      sandbox.files.url,
    ]);
    const other = await context.newPage();
    await other.goto(`http://${stack.siweDomain}/`);
    await other.getByRole('button', { name: 'Test Wallet' }).click();
    await other.getByRole('heading', { name: 'Your records' }).waitFor({ timeout: 60_000 });
    await other.getByRole('button', { name: 'Add records' }).click();
    await other.getByRole('button', { name: `Sync now with ${host}` }).click();
    await other.getByRole('heading', { name: 'What will be stored' }).waitFor({ timeout: 60_000 });
    await other.getByRole('button', { name: 'Encrypt and store 1 record' }).click();
    await other.getByText('1 record added').waitFor({ timeout: 60_000 });
    expect((await vault.listRecords()).length).toBe(count + 1);
    await context.close();
  }, 180_000);

  it('asks her to reconnect when the provider refuses the refresh token, and disconnects', async () => {
    const host = new URL(sandbox.fhirBase).host;
    sandbox.expireRefreshTokens();
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Records' }).click();
    await page.getByRole('button', { name: 'Add records' }).click();
    await page.getByRole('button', { name: `Sync now with ${host}` }).click();
    await page.getByRole('alert').getByText(`${host} no longer accepts Medkey’s sign-in. Reconnect to it`).waitFor();
    await page.getByRole('button', { name: `Reconnect to ${host}` }).waitFor();
    // Another device reads the same state from the vault: the connection needs her.
    const { vault } = await herVault();
    await page.getByRole('button', { name: `Disconnect ${host}` }).click();
    await page.getByText(`Disconnected from ${host}`).waitFor();
    expect((await vault.connections()).connections).toEqual([]);
    await expect(page.getByRole('button', { name: `Reconnect to ${host}` }).count()).resolves.toBe(0);
  }, 60_000);

  it('says in words when this browser may not reach a provider, with the command line as the way through', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Records' }).click();
    await page.getByRole('button', { name: 'Add records' }).click();
    // Not one the server lists: the page may not connect to it (its CSP), as with a server without CORS.
    await page.getByLabel(/Your provider’s FHIR address/).fill(`${sandbox.files.url}/fhir`);
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      page.getByRole('button', { name: 'Connect', exact: true }).click(),
    ]);
    await page
      .getByRole('alert')
      .getByText(/could not reach that provider/)
      .waitFor();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Medkey command line');
    expect(popup.isClosed(), 'the sign-in window closes when there is nothing to sign in to').toBe(true);
  }, 60_000);
});
