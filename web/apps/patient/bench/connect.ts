// `npx tsx bench/connect.ts [runs]` in web/apps/patient (after `npm run build`): US Core patient
// 355's first pull through "Connect a provider", in Debian's headless Chromium against a real
// medkey dev listing the SMART sandbox. Each run is a new stack and a new patient: from the click
// on Connect to the plan on screen (discovery, sign-in at the sandbox's pages, the pull, the
// plan), then from "Encrypt and store" to every record stored. Sign-in typing is part of it.
// Then "Sync now" with nothing changed at the provider: from the click to "Nothing new" (the
// refresh, every search from the cursor, the sealed connection replaced).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumLaunchOptions, startDevStack } from '@medkey/client/testing';
import { startSandbox } from '@medkey/smart-sandbox';
import { chromium } from 'playwright-core';
import { patientContext } from '../test/journeys.ts';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[2] ?? 3);
const results: { records: number; connectToPlanMs: number; storeMs: number; noChangeSyncMs: number }[] = [];

for (let run = 0; run < runs; run++) {
  const sandbox = await startSandbox({ redirectUris: [] });
  const stack = await startDevStack({ webRoot: join(appDir, 'dist'), smartEndpoints: [sandbox.fhirBase] });
  const browser = await chromium.launch(chromiumLaunchOptions());
  try {
    sandbox.allowRedirect(`http://${stack.siweDomain}/connected.html`);
    const context = await patientContext(browser, stack, stack.keys.patient, { width: 1024, height: 900 }, [
      sandbox.url,
      sandbox.files.url,
    ]);
    const page = await context.newPage();
    await page.goto(`http://${stack.siweDomain}/`);
    await page.getByRole('button', { name: 'Test Wallet' }).click();
    await page.getByRole('button', { name: 'Create my encryption key' }).click();
    await page.getByRole('button', { name: 'Add records' }).click();
    const started = Date.now();
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      page.getByRole('button', { name: `Connect to ${new URL(sandbox.fhirBase).host}` }).click(),
    ]);
    await popup.locator('input[name="login"]').fill('355');
    await popup.locator('input[name="password"]').fill('any');
    await popup.locator('button[type="submit"]').click();
    await popup.locator('button[type="submit"]').click();
    const store = page.getByRole('button', { name: /^Encrypt and store [\d,]+ records$/ });
    await store.waitFor({ timeout: 60_000 });
    const planned = Date.now();
    const records = Number((await store.textContent())!.replace(/\D/g, ''));
    await store.click();
    await page.getByText(`${records.toLocaleString('en-US')} records added`).waitFor({ timeout: 120_000 });
    const stored = Date.now();
    await page.getByRole('button', { name: 'Add records' }).click();
    const host = new URL(sandbox.fhirBase).host;
    const sync = page.getByRole('button', { name: `Sync now with ${host}` });
    await sync.waitFor();
    const syncStarted = Date.now();
    await sync.click();
    await page.getByText(`Nothing new from ${host}`).waitFor({ timeout: 60_000 });
    results.push({
      records,
      connectToPlanMs: planned - started,
      storeMs: stored - planned,
      noChangeSyncMs: Date.now() - syncStarted,
    });
  } finally {
    await browser.close();
    await stack.stop();
    await sandbox.stop();
  }
}
console.log(JSON.stringify({ runs: results }, null, 2));
