// The patient app in Debian's headless Chromium (playwright-core) against a real anvil and
// vault (medkey dev serving the built app). The page talks to a wallet injected the way an
// extension injects one (EIP-6963); it signs in this test's Node process, so its key never
// enters the page.

import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevStack, testWallet, type DevStack } from '@medkey/client/testing';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const screenshots = process.env.MEDKEY_WRITE_SCREENSHOTS ? join(appDir, 'screenshots') : join(tmpdir(), 'medkey-screenshots');
mkdirSync(screenshots, { recursive: true });

let stack: DevStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;

/** Announces a wallet over EIP-6963 whose every request is answered by `answer` in Node. */
async function injectWallet(ctx: BrowserContext, answer: (method: string, params: unknown) => Promise<unknown>) {
  await ctx.exposeBinding('__medkeyTestWallet', async (_source, method: string, params: unknown) => answer(method, params));
  await ctx.addInitScript(() => {
    const provider = {
      request: ({ method, params }: { method: string; params?: unknown }) =>
        (window as unknown as { __medkeyTestWallet: (m: string, p: unknown) => Promise<unknown> }).__medkeyTestWallet(method, params),
      on: () => undefined,
      removeListener: () => undefined,
    };
    const announce = () =>
      window.dispatchEvent(
        new CustomEvent('eip6963:announceProvider', {
          detail: Object.freeze({ info: { uuid: 'medkey-test-wallet', name: 'Test Wallet', icon: 'data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg"/>', rdns: 'test.medkey' }, provider }),
        }),
      );
    window.addEventListener('eip6963:requestProvider', announce);
  });
}

async function axeViolations(p: Page): Promise<string[]> {
  await p.evaluate(axeSource); // through the debugger protocol, which the page's CSP does not govern
  const result = await p.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string; help: string }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`);
}

beforeAll(async () => {
  stack = await startDevStack({ webRoot: join(appDir, 'dist') });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const wallet = testWallet(privateKeyToAccount(stack.keys.clinic), { rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await injectWallet(context, (method, params) => wallet.request({ method, params } as never));
  // The page may reach this vault and the dev chain only.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    const allowed = [new URL(stack.vaultUrl).host, `localhost:${new URL(stack.vaultUrl).port}`, new URL(stack.rpcUrl).host, `localhost:${new URL(stack.rpcUrl).port}`];
    return allowed.includes(url.host) || url.protocol === 'data:' ? route.continue() : route.abort();
  });
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('the patient app', () => {
  const appUrl = () => `http://${stack.siweDomain}/`;
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' }] },
    effectiveDateTime: '2026-11-02T09:30:00Z',
    component: [
      { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 118, unit: 'mmHg' } },
      { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 76, unit: 'mmHg' } },
    ],
  };

  it('is served by the vault with a strict Content-Security-Policy', async () => {
    const response = await page.goto(appUrl());
    const csp = response!.headers()['content-security-policy']!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response!.headers()['x-content-type-options']).toBe('nosniff');
  });

  it('connects the wallet, explains the signatures, and creates her key on a first visit', async () => {
    await page.getByRole('button', { name: 'Test Wallet' }).click();
    await page.getByRole('heading', { name: 'Welcome to Medkey' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'welcome.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create my encryption key' }).click();
    await page.getByRole('heading', { name: 'Your records' }).waitFor();
    await expect(page.getByText('Your encryption key is ready').isVisible()).resolves.toBe(true);
  });

  it('adds a FHIR file after showing what will be stored, and shows it readably', async () => {
    await page.getByRole('button', { name: 'Add records' }).click();
    await page.getByLabel('FHIR file').setInputFiles({ name: 'bp.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(observation)) });
    await page.getByRole('combobox', { name: 'Category of Blood pressure panel' }).waitFor();
    expect(await page.getByRole('combobox', { name: 'Category of Blood pressure panel' }).inputValue()).toBe('vitals');
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Encrypt and store 1 record' }).click();
    await page.getByText('1 record added').waitFor();
    await page.screenshot({ path: join(screenshots, 'records.png'), fullPage: true });
    await page.getByRole('button', { name: /Blood pressure panel/ }).click();
    await page.getByText('118/76 mmHg').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'record.png'), fullPage: true });
  });

  it('refuses a file that is not FHIR, saying what to do', async () => {
    await page.getByRole('button', { name: 'Back to your records' }).click();
    await page.getByRole('button', { name: 'Add records' }).click();
    await page.getByLabel('FHIR file').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{oops') });
    await expect(page.getByRole('alert').textContent()).resolves.toContain('is not valid JSON. Choose a FHIR JSON file.');
  });

  it('keeps nothing decrypted or secret in any browser storage', async () => {
    const stored = await page.evaluate(async () => ({
      local: Object.keys(localStorage).length,
      session: Object.keys(sessionStorage).length,
      cookies: document.cookie,
      databases: (await indexedDB.databases()).length,
      caches: (await caches.keys()).length,
    }));
    expect(stored).toEqual({ local: 0, session: 0, cookies: '', databases: 0, caches: 0 });
    expect((await context.cookies()).length).toBe(0);
  });

  it('offers its clearly labelled dev wallet on a local chain, which works without any extension', async () => {
    const plain = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    try {
      const devPage = await plain.newPage();
      await devPage.goto(appUrl());
      await devPage.getByText('Its keys are public: never use it for real records.').waitFor();
      await devPage.getByRole('button', { name: 'Dev wallet (local test chain only)' }).click();
      await devPage.getByRole('heading', { name: 'Welcome to Medkey' }).waitFor();
    } finally {
      await plain.close();
    }
  });

  it('locks itself when idle, forgetting her key and records', async () => {
    await page.goto(`${appUrl()}?lock-after=2`);
    await page.getByRole('button', { name: 'Test Wallet' }).click();
    await page.getByRole('heading', { name: 'Your records' }).waitFor();
    await page.getByText('Blood pressure panel').waitFor();
    await page.getByText('Medkey locked itself').waitFor({ timeout: 10_000 });
    expect(await page.getByText('Blood pressure panel').count()).toBe(0);
    await page.screenshot({ path: join(screenshots, 'connect.png'), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
  });
});
