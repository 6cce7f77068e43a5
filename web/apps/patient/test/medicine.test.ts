// A record that reads like medicine, in Debian's headless Chromium against a real anvil and
// vault: HL7's own CCD and the R4 lipid panel imported without guesswork, results with their
// values and flags, trends over time, and narratives shown only once sanitized. One patient's
// story, in file order (`describe.sequential`), apart from app.test.ts's patient.

import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  axeViolations,
  chromiumLaunchOptions,
  phoneProblems,
  startDevStack,
  type DevStack,
} from '@medkey/client/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientContext } from './journeys.ts';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string) => readFileSync(join(appDir, 'test/fixtures', name));
const screenshots = process.env.MEDKEY_WRITE_SCREENSHOTS
  ? join(appDir, 'screenshots')
  : join(tmpdir(), 'medkey-screenshots');
mkdirSync(screenshots, { recursive: true });

let stack: DevStack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stack = await startDevStack({ webRoot: join(appDir, 'dist') });
  browser = await chromium.launch(chromiumLaunchOptions());
  // The page may reach this vault and the dev chain only: a narrative's remote image would be refused here too.
  const context = await patientContext(browser, stack, stack.keys.patient, { width: 1024, height: 900 });
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe.sequential('a record that reads like medicine', () => {
  it('imports HL7’s CCD without asking her about practitioners or organizations', async () => {
    await page.goto(`http://${stack.siweDomain}/`);
    await page.getByRole('button', { name: 'Test Wallet' }).click();
    await page.getByRole('button', { name: 'Create my encryption key' }).click();
    await page.getByRole('heading', { name: 'Your records' }).waitFor();
    await page.getByRole('button', { name: 'Add records' }).click();
    await page
      .getByLabel('FHIR or C-CDA file')
      .setInputFiles({ name: 'ccd.xml', mimeType: 'text/xml', buffer: fixture('hl7-ccd.xml') });
    await page.getByRole('heading', { name: 'What will be stored' }).waitFor();
    await page.getByText(/^103 records: .*\. Medkey put \d+ with the records they belong to/).waitFor();
    expect(await page.getByText(/need your choice/).count()).toBe(0);
    expect(await page.getByRole('group', { name: 'Choose for all that need a choice' }).count()).toBe(0);
    // The converter's two invalid records (no code; a dateTime of 2001-30-31) are left out, said why.
    await page
      .getByText(/^2 records are not valid FHIR R4 and will be left out \(Observation\.code: Missing required property/)
      .waitFor();
    await page.screenshot({ path: join(screenshots, 'import-plan.png') });
    await page.getByRole('button', { name: 'Encrypt and store 103 records' }).click();
    await page.getByText('103 records added').waitFor({ timeout: 120_000 });
  });

  it('skips what is stored already when the file is added again, and stores the invalid ones when she says so', async () => {
    await page.getByRole('button', { name: 'Add records' }).click();
    await page
      .getByLabel('FHIR or C-CDA file')
      .setInputFiles({ name: 'ccd.xml', mimeType: 'text/xml', buffer: fixture('hl7-ccd.xml') });
    await page.getByText(/^103 records are stored already, with the same content, and will be skipped/).waitFor();
    expect(await page.getByRole('button', { name: 'Encrypt and store 0 records' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Store them as they are' }).click();
    await page.getByRole('button', { name: 'Encrypt and store 2 records' }).click();
    await page.getByText('2 records added').waitFor();
  });

  it('shows a lab report with its results, values, ranges and flags, and the value on its row', async () => {
    await page.getByRole('button', { name: 'Add records' }).click();
    await page
      .getByLabel('FHIR or C-CDA file')
      .setInputFiles({ name: 'lipids.json', mimeType: 'application/fhir+json', buffer: fixture('r4-lipids.json') });
    await page.getByText(/^5 records: Lab results 5\. Medkey put 4 with the records/).waitFor();
    await page.getByRole('button', { name: 'Encrypt and store 5 records' }).click();
    await page.getByText('5 records added').waitFor();
    const report = page.getByRole('button', { name: /Lipid Panel\s*4 results, 3 flagged/ });
    await report.click();
    const results = page.getByRole('table', { name: 'Results' });
    await results.waitFor();
    expect(
      await results
        .getByRole('row', { name: /Cholesterol 6\.3 mmol\/L ↑ up to 4\.5 mmol\/L Above the normal range/ })
        .count(),
    ).toBe(1);
    expect(
      await results.getByRole('row', { name: /Cholesterol in HDL 1\.3 mmol\/L ↓ at least 1\.5 mmol\/L Below/ }).count(),
    ).toBe(1);
    expect(await results.getByRole('row', { name: /Triglyceride 1\.3 mmol\/L up to 2 mmol\/L Within/ }).count()).toBe(
      1,
    );
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'lab-report.png'), fullPage: true });
    // Every screen has an address: Back returns to her records, Forward to the report.
    await page.goBack();
    await page.getByRole('heading', { name: 'Your records' }).waitFor();
    await page.goForward();
    await page.getByRole('table', { name: 'Results' }).waitFor();
    await page.getByRole('button', { name: 'Back to your records' }).click();
    await page.getByRole('button', { name: /LDL Chol\. \(Calc\)\s*4\.6 mmol\/L ↑/ }).waitFor();
  });

  it('draws each vital sign measured more than once over time, with its readings as a table', async () => {
    await page.getByRole('button', { name: 'Results', exact: true }).click();
    await page.getByRole('heading', { name: 'Vitals' }).waitFor();
    const height = page.getByRole('figure', { name: 'Body height over time' });
    await height.waitFor();
    expect(await height.locator('canvas').count()).toBeGreaterThan(0);
    expect(await height.getByRole('table', { name: 'Readings of Body height' }).getByRole('row').count()).toBe(3);
    const pressure = page.getByRole('figure', { name: /blood pressure over time/i });
    expect(await pressure.count()).toBeGreaterThan(0);
    expect(await axeViolations(page)).toEqual([]);
    await height.screenshot({ path: join(screenshots, 'trend.png') });
    // On a phone: the screen fits its width.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.screenshot({ path: join(screenshots, 'results-phone.png') });
    expect(await phoneProblems(page), 'fits a phone').toEqual([]);
    await page.setViewportSize({ width: 1024, height: 900 });
  });

  it('comes back to the same screen after a reload, once she signs in again', async () => {
    await page.reload();
    await page.getByRole('button', { name: 'Test Wallet' }).click();
    await page.getByRole('heading', { name: 'Results', level: 1 }).waitFor();
    expect(new URL(page.url()).hash).toBe('#/results');
  });

  it('shows a document’s sections with their narrative, sanitized', async () => {
    await page.getByRole('button', { name: 'Records', exact: true }).click();
    await page.getByLabel('Search', { exact: true }).fill('Summary of episode note');
    await page
      .getByRole('button', { name: /Summary of episode note/ })
      .first()
      .click();
    const section = page.getByRole('region', { name: 'ALLERGIES AND ADVERSE REACTIONS' });
    await section.waitFor();
    const narrative = section.locator('.narrative');
    expect(await narrative.count()).toBe(1);
    expect(await narrative.innerText()).toMatch(/Penicillin/i);
    expect(await page.locator('.narrative script, .narrative img, .narrative style, .narrative [style]').count()).toBe(
      0,
    );
  });
  it('stores a long file in a few batched calls and keeps a long timeline light to open', async () => {
    const entry = Array.from({ length: 300 }, (_, i) => ({
      resource: {
        resourceType: 'Observation',
        status: 'final',
        category: [
          { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] },
        ],
        code: { text: `Ferritin check ${i}` },
        effectiveDateTime: new Date(Date.UTC(1990, 0, 1) + i * 86_400_000).toISOString(),
        valueQuantity: { value: 40 + (i % 50), unit: 'ng/mL' },
      },
    }));
    const sent: string[] = [];
    const watch = (request: { method(): string; url(): string }) => {
      if (request.method() === 'POST' && /\/v1\/records(\/batch)?$/.test(request.url())) sent.push(request.url());
    };
    page.on('request', watch);
    await page.getByRole('button', { name: 'Records', exact: true }).click();
    await page.getByRole('button', { name: 'Add records' }).click();
    await page.getByLabel('FHIR or C-CDA file').setInputFiles({
      name: 'ferritin.json',
      mimeType: 'application/fhir+json',
      buffer: Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry })),
    });
    await page.getByRole('button', { name: 'Encrypt and store 300 records' }).click();
    await page.getByText('300 records added').waitFor({ timeout: 120_000 });
    page.off('request', watch);
    expect(sent.map((u) => new URL(u).pathname)).toEqual(['/v1/records/batch', '/v1/records/batch']);

    // Hundreds of records: only the rows near the screen are in the page, each saying where it sits.
    const timeline = page.getByRole('list', { name: 'Your records, newest first' });
    // (The timeline opens again after the notice: wait for it to hold the new records, unfiltered.)
    await page.getByLabel('Search', { exact: true }).fill('');
    const total = () => timeline.locator('li').first().getAttribute('aria-setsize').then(Number);
    await expect.poll(total, { timeout: 30_000 }).toBeGreaterThan(300);
    expect(await timeline.locator('li').count()).toBeLessThan(60);
    // The oldest result is at the list's end, reached by scrolling, and opens.
    await page.evaluate(`(() => {
      const list = document.querySelector('ol[aria-label="Your records, newest first"]');
      window.scrollTo(0, list.getBoundingClientRect().bottom + window.scrollY - window.innerHeight);
    })()`);
    await page.getByRole('button', { name: /Ferritin check 0\b/ }).click();
    await page.getByRole('article').getByText('40 ng/mL').first().waitFor();
    await page.goBack();
    await timeline.waitFor();
  });
});
