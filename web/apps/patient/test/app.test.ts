// The patient app in Debian's headless Chromium (playwright-core) against a real anvil and
// vault (medkey dev serving the built app). The page talks to a wallet injected the way an
// extension injects one (EIP-6963); it signs in this test's Node process, so its key never
// enters the page.
//
// The journeys are sequential on purpose: they are one patient's story with one browser page,
// each starting where the one before left her (signed in, with the records, grants and links
// the earlier ones made), as a real person's first weeks would go. They run in file order
// (`describe.sequential`); run the file, not one journey alone. What each service does on its
// own, in any order, is tested without a browser in test/services/.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VaultClient, VaultSession, Wallet, consentRegistryAbi, createShareLink } from '@medkey/client';
import { createPublicClient, http } from 'viem';
import {
  announceWallet,
  axeViolations,
  phoneProblems,
  recordCspRefusals,
  chromiumLaunchOptions,
  medkeyCli,
  startDevStack,
  testWallet,
  type DevStack,
} from '@medkey/client/testing';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { privateKeyToAccount } from 'viem/accounts';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import jsQR from 'jsqr';
import { bloodPressure, labReads, patientContext, strangerSees } from './journeys.ts';
import { PNG } from 'pngjs';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const screenshots = process.env.MEDKEY_WRITE_SCREENSHOTS
  ? join(appDir, 'screenshots')
  : join(tmpdir(), 'medkey-screenshots');
mkdirSync(screenshots, { recursive: true });

let stack: DevStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;

/** Announces the test wallet over EIP-6963; its requests are answered in Node. */
const injectWallet = (ctx: BrowserContext, answer: (method: string, params: unknown) => Promise<unknown>) =>
  announceWallet(ctx, 'Test Wallet', answer);

beforeAll(async () => {
  stack = await startDevStack({ webRoot: join(appDir, 'dist') });
  browser = await chromium.launch(chromiumLaunchOptions());
  // Her wallet, and a page that may reach this vault and the dev chain only.
  context = await patientContext(browser, stack, stack.keys.clinic, { width: 375, height: 800 });
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe.sequential('the patient app', () => {
  let sharedIds: string[] = [];
  const appUrl = () => `http://${stack.siweDomain}/`;
  const observation = bloodPressure;

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
    expect(await phoneProblems(page), 'fits a phone').toEqual([]);
    await page.getByRole('button', { name: 'Create my encryption key' }).click();
    await page.getByRole('heading', { name: 'Your records' }).waitFor();
    await expect(page.getByText('Your encryption key is ready').isVisible()).resolves.toBe(true);
  });

  const exactObservation = JSON.stringify(observation).replace('"value":118,', '"value":118.0,');

  it('adds a FHIR file after showing what will be stored, and shows it readably', async () => {
    await page.getByRole('button', { name: 'Add records' }).click();
    // Written as a device would: `118.0`, whose digits FHIR says are significant (JSON.parse would drop them).
    await page
      .getByLabel('FHIR or C-CDA file')
      .setInputFiles({ name: 'bp.json', mimeType: 'application/json', buffer: Buffer.from(exactObservation) });
    await page.getByRole('combobox', { name: 'Category of Blood pressure panel' }).waitFor();
    expect(await page.getByRole('combobox', { name: 'Category of Blood pressure panel' }).inputValue()).toBe('vitals');
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Encrypt and store 1 record' }).click();
    await page.getByText('1 record added').waitFor();
    await page.getByRole('button', { name: /Blood pressure panel/ }).waitFor();
    await page.screenshot({ path: join(screenshots, 'records.png'), fullPage: true });
    expect(await phoneProblems(page), 'fits a phone').toEqual([]);
    await page.getByRole('button', { name: /Blood pressure panel/ }).click();
    await page.getByText('118/76 mmHg').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'record.png'), fullPage: true });
  });

  it('refuses a file that is not FHIR, saying what to do', async () => {
    await page.getByRole('button', { name: 'Back to your records' }).click();
    await page.getByRole('button', { name: 'Add records' }).click();
    await page
      .getByLabel('FHIR or C-CDA file')
      .setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{oops') });
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'is not valid JSON. Choose a FHIR JSON file.',
    );
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

  it('shares vital signs with the lab after saying what the signature means; the lab opens the record', async () => {
    const lab = privateKeyToAccount(stack.keys.lab);
    await page.getByRole('button', { name: 'Back to your records' }).click();
    await page.getByRole('button', { name: 'Sharing', exact: true }).click();
    await page.getByRole('button', { name: 'Share with a provider' }).click();
    await page.getByLabel('Provider’s address').fill('0x1234');
    await page.getByRole('button', { name: 'Check on the registry' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('That is not a provider address');
    await page.getByLabel('Provider’s address').fill(lab.address);
    await page.getByRole('button', { name: 'Check on the registry' }).click();
    await page.getByText(`${lab.address} is a registered provider.`).waitFor();
    await page.getByLabel('Vital signs').check();
    expect(await page.getByLabel('Mental health').isChecked()).toBe(false);
    await page.getByText(`Northside Lab (${lab.address}) can read your vital signs until`).waitFor();
    await page.getByText('nobody can see the records themselves').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'share.png'), fullPage: true });
    expect(await phoneProblems(page), 'fits a phone').toEqual([]);
    await page.getByRole('button', { name: 'Sign and share' }).click();
    await page.getByText('Shared. 1 existing record can now be opened by the provider.').waitFor();
    await page.getByText('Active · until').waitFor();

    const labSide = await labReads(stack);
    expect(labSide.released).toBe(1);
    expect(labSide.resource).toEqual(observation);
    sharedIds = labSide.ids;
  });

  it('stops sharing in one step, and the lab is refused at once', async () => {
    await page.getByRole('button', { name: /Stop sharing with/ }).click();
    await page.getByText('Sharing stopped.').waitFor();
    await page.getByText('Stopped · until').waitFor();
    const after = await labReads(stack, sharedIds);
    expect(after).toMatchObject({ released: 0, refused: 'no_live_grant' });
  });

  it('shares records by a link and QR code that a stranger opens in a clean browser, until she stops it', async () => {
    await page.getByRole('button', { name: 'Sharing', exact: true }).click();
    await page.getByRole('button', { name: 'Share by link or QR code' }).click();
    await page.getByLabel(/Name of the link/).fill('For my new dentist');
    await page.getByRole('checkbox', { name: 'Vital signs' }).check();
    await page.getByLabel(/^Passcode/).fill('tulip-42');
    await page.getByRole('button', { name: 'Make the link' }).click();
    await page.getByRole('heading', { name: '“For my new dentist” is ready' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'share-link.png'), fullPage: true });
    expect(await phoneProblems(page), 'fits a phone').toEqual([]);
    // The QR code, read back as a phone camera would: the viewer URL with the link in its fragment.
    const qr = await page.getByAltText('QR code of the link').getAttribute('src');
    const png = PNG.sync.read(Buffer.from(qr!.split(',')[1]!, 'base64'));
    const scanned = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)!.data;
    expect(scanned).toBe(await page.getByLabel('Link to open in a browser').inputValue());
    expect(scanned).toMatch(new RegExp(`^${appUrl()}view/#shlink:/`));
    // Nothing of the link (its key) is kept by the page.
    const stored = await page.evaluate('JSON.stringify(Object.assign({}, localStorage, sessionStorage))');
    expect(stored).not.toContain('shlink');

    const stranger = await browser.newContext({ viewport: { width: 375, height: 800 } });
    await recordCspRefusals(stranger);
    const view = await stranger.newPage();
    await view.goto(scanned);
    await view.getByRole('heading', { name: /Someone shared health records with you: “For my new dentist”/ }).waitFor();
    await view.getByLabel(/Your name/).fill('Dr. Ruiz, Smile Dental');
    await view.getByLabel(/^Passcode/).fill('tulip-00');
    await view.getByRole('button', { name: 'Open the records' }).click();
    await view.getByText(/That passcode is not right. 9 tries are left/).waitFor();
    await view.getByLabel(/^Passcode/).fill('tulip-42');
    await view.getByRole('button', { name: 'Open the records' }).click();
    await view.getByText('118/76 mmHg').waitFor();
    expect(await axeViolations(view)).toEqual([]);
    expect(await phoneProblems(view), 'fits a phone').toEqual([]);

    // She sees each use by the name given, then stops the link; the stranger is refused at once.
    await page.getByRole('button', { name: 'Back to sharing' }).click();
    await page.getByRole('button', { name: 'Share by link or QR code' }).click();
    await page.getByText(/“Dr. Ruiz, Smile Dental” gave a wrong passcode/).waitFor();
    await page.getByText(/“Dr. Ruiz, Smile Dental” opened it/).waitFor();
    await page.getByRole('button', { name: 'Stop this link' }).click();
    await page.getByRole('button', { name: 'Stop it', exact: true }).click(); // it asks first
    await page.getByText('Link stopped. Nobody can open it from now on.').waitFor();
    await page.getByText('Stopped by you').waitFor();
    const again = await stranger.newPage();
    await again.goto(scanned);
    await again.getByLabel(/Your name/).fill('Dr. Ruiz, Smile Dental');
    await again.getByLabel(/^Passcode/).fill('tulip-42');
    await again.getByRole('button', { name: 'Open the records' }).click();
    await again.getByText('The person who shared this link has stopped sharing it.').waitFor();
    await stranger.close();
  });

  it('opens a link whose records hold objects where FHIR has text, showing what it can and saying what it cannot', async () => {
    // Written outside the apps, as anyone who makes a link may write it.
    const wallet = await Wallet.connect(
      testWallet(privateKeyToAccount(stack.keys.clinic), { rpcUrl: stack.rpcUrl, chainId: stack.chainId }),
    );
    const vault = new VaultClient(`http://${stack.siweDomain}`);
    await VaultSession.signIn(vault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: { note: 'x' } },
            valueString: { note: 'y' },
          },
        },
        { resource: 'not a resource at all' },
        { resource: observation },
      ],
    };
    const created = await createShareLink(vault, JSON.stringify(bundle), { label: 'Odd records' });
    const stranger = await browser.newContext({ viewport: { width: 375, height: 800 } });
    await recordCspRefusals(stranger);
    const view = await stranger.newPage();
    await view.goto(created.viewerUrl);
    await view.getByLabel(/Your name/).fill('A careful receiver');
    await view.getByRole('button', { name: 'Open the records' }).click();
    await view.getByText('118/76 mmHg').waitFor();
    await view.getByRole('article', { name: 'Measurement or test result' }).first().waitFor();
    await view.getByText(/This record could not be shown — open it as FHIR JSON/).waitFor();
    await stranger.close();
  });

  it('makes an emergency card after she reviews it, which a stranger scans and reads, and she sees it opened', async () => {
    await page.getByRole('button', { name: 'Back to sharing' }).click();
    await page.getByRole('button', { name: 'Emergency card' }).click();
    await page.getByLabel('Your name').fill('Ana María López');
    await page.getByLabel('Blood group (optional; taken from your records if one says it)').fill('O negative');
    await page.getByLabel('Name', { exact: true }).fill('Lucía López');
    await page.getByLabel('Who they are to you').fill('sister');
    await page.getByLabel('Phone').fill('+34 600 000 000');
    await page.getByRole('button', { name: 'Review what the card shows' }).click();
    await page.getByRole('heading', { name: 'Check your summary' }).waitFor();
    for (const section of ['Allergies and intolerances', 'Medications', 'Problems'])
      await page.getByRole('heading', { name: section }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('checkbox', { name: 'My allergies' }).uncheck();
    await page.getByRole('button', { name: 'Make my emergency card' }).click();
    await page.getByRole('heading', { name: 'Medical emergency: scan for my health summary' }).waitFor();
    await page.getByText('Ana María López').first().waitFor();
    await page.getByText(/Blood group O negative/).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'emergency-card.png'), fullPage: true });
    expect(await phoneProblems(page), 'fits a phone').toEqual([]);
    expect(await page.getByText(/Allergies:/).count(), 'she chose not to show her allergies').toBe(0);
    const lockScreen = await page
      .getByRole('link', { name: 'Save as a phone lock-screen picture' })
      .getAttribute('href');
    const picture = PNG.sync.read(Buffer.from(lockScreen!.split(',')[1]!, 'base64'));
    expect([picture.width, picture.height]).toEqual([1080, 1920]);
    const qr = await page.getByAltText('QR code of the emergency card').getAttribute('src');
    const png = PNG.sync.read(Buffer.from(qr!.split(',')[1]!, 'base64'));
    const scanned = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)!.data;
    expect(
      jsQR(new Uint8ClampedArray(picture.data), picture.width, picture.height)!.data,
      'the lock-screen picture scans too',
    ).toBe(scanned);
    writeFileSync(join(screenshots, 'lock-screen.png'), PNG.sync.write(picture));

    const stranger = await browser.newContext({ viewport: { width: 375, height: 800 } });
    await recordCspRefusals(stranger);
    const view = await stranger.newPage();
    await view.goto(scanned);
    // A responder opens it at once, no name needed: who she is first, her sister a tap away.
    expect(await view.getByLabel(/^Passcode/).count(), 'no passcode asked').toBe(0);
    await view.getByRole('button', { name: 'Open the emergency card' }).click();
    await view.getByRole('heading', { name: 'Ana María López' }).first().waitFor();
    expect(await view.getByRole('link', { name: 'Call +34 600 000 000' }).getAttribute('href')).toBe(
      'tel:+34600000000',
    );
    await stranger.close();

    await page.getByRole('button', { name: 'Back to sharing' }).click();
    await page.getByRole('button', { name: 'Share by link or QR code' }).click();
    await page.getByText(/Emergency card.*\(emergency card\)/).waitFor();
    await page.getByText(/“An emergency responder \(no name given\)” opened it/).waitFor();
  });

  it('shows the activity checked in the browser, and flags a log the vault tampered with', async () => {
    await page.getByRole('button', { name: 'Activity', exact: true }).click();
    await page.getByText(/Checked in this browser: this list is the vault’s signed log/).waitFor();
    await page
      .getByText(/opened a record/)
      .first()
      .waitFor();
    await page
      .getByText(/was refused a record/)
      .first()
      .waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'activity.png'), fullPage: true });
    expect(await phoneProblems(page), 'fits a phone').toEqual([]);
    await page.route('**/v1/audit/entries**', async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.entries[0].entry.outcome = 'ok_but_edited';
      await route.fulfill({ response, json: body });
    });
    await page.getByRole('button', { name: 'Check again' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'An activity entry the vault showed is not in its signed log',
    );
    await page.unroute('**/v1/audit/entries**');
    await page.getByRole('button', { name: 'Records', exact: true }).click();
  });

  it('filters and searches the timeline, and downloads everything as one FHIR file', async () => {
    await page.getByLabel('Search').fill('pressure');
    expect(await page.locator('.timeline li').count()).toBe(1);
    await page.getByLabel('Category').selectOption('allergies');
    expect(await page.locator('.timeline li').count()).toBe(0);
    await page.getByLabel('Category').selectOption('');
    await page.getByLabel('Search').fill('');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download all as a FHIR file' }).click(),
    ]);
    const text = readFileSync((await download.path())!, 'utf8');
    const bundle = JSON.parse(text);
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry.map((e: { resource: unknown }) => e.resource)).toEqual([observation]);
    expect(text, 'the decimal as the file wrote it').toContain(exactObservation);
  });

  it("answers a provider's access request with the wizard filled in from it", async () => {
    const wallet = await Wallet.connect(
      testWallet(privateKeyToAccount(stack.keys.lab), { rpcUrl: stack.rpcUrl, chainId: stack.chainId }),
    );
    const labVault = new VaultClient(stack.vaultUrl);
    await VaultSession.signIn(labVault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
    const patient = privateKeyToAccount(stack.keys.clinic).address;
    const asked = await labVault.api.POST('/v1/access-requests', {
      body: {
        patient,
        categories: ['vitals'],
        purpose: 'TREAT',
        duration_secs: 14 * 86_400,
        note: 'For your check-up on Thursday',
      },
    });
    expect(asked.response.status).toBe(201);
    await page.getByRole('button', { name: 'Sharing', exact: true }).click();
    await page.getByText('For your check-up on Thursday').waitFor();
    await page.getByRole('button', { name: 'Review and approve' }).click();
    await page.getByText('Filled in from the provider’s request').waitFor();
    await page.getByText(`${wallet.address} is a registered provider.`).waitFor();
    expect(await page.getByLabel('Vital signs').isChecked()).toBe(true);
    expect(await page.getByLabel('14 days (as asked)').isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Sign and share' }).click();
    await page.getByText('Shared. 1 existing record').waitFor();
    const answered = await labVault.accessRequests();
    expect(answered[0]).toMatchObject({ status: 'approved' });
    expect((await labReads(stack)).released).toBe(1);
    await page.getByRole('button', { name: 'Records', exact: true }).click();
  });

  it('reads a C-CDA document as portals export it, converted to FHIR in the page', async () => {
    await page.getByRole('button', { name: 'Add records' }).click();
    const ccd = readFileSync(join(appDir, 'test/fixtures/ccd.xml'));
    await page.getByLabel('FHIR or C-CDA file').setInputFiles({ name: 'ccd.xml', mimeType: 'text/xml', buffer: ccd });
    await page.getByRole('combobox', { name: 'Category of Penicillin G' }).waitFor();
    expect(await page.getByRole('combobox', { name: 'Category of Penicillin G' }).inputValue()).toBe('allergies');
    expect(await page.locator('tbody tr').count()).toBe(3); // the Composition, the Patient, the allergy
    await page.getByRole('button', { name: 'Back to your records' }).click();
  });

  let followingLink = '';

  it('makes a link that follows her vital signs as they change', async () => {
    await page.getByRole('button', { name: 'Sharing', exact: true }).click();
    await page.getByRole('button', { name: 'Share by link or QR code' }).click();
    await page.getByLabel(/Name of the link/).fill('For my GP abroad');
    await page.getByRole('checkbox', { name: 'Vital signs' }).check();
    await page.getByRole('checkbox', { name: /Keep it up to date/ }).check();
    await page.getByRole('button', { name: 'Make the link' }).click();
    await page.getByRole('heading', { name: '“For my GP abroad” is ready' }).waitFor();
    await page.getByText(/kept up to date/).waitFor();
    followingLink = await page.getByLabel('Link to open in a browser').inputValue();
    expect(await strangerSees(browser, followingLink, '118/76 mmHg')).toBe(true);
    await page.getByRole('button', { name: 'Records', exact: true }).click();
  });

  it('turns what she notes herself into a record, refusing impossible values in words', async () => {
    await page.getByRole('button', { name: 'Add records' }).click();
    await page.getByLabel('What').selectOption('weight');
    await page.getByLabel('Weight (kg)').fill('6150');
    await page.getByRole('button', { name: 'Add to the list' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'The weight in kilograms must be a number from 0.5 to 500.',
    );
    await page.getByLabel('Weight (kg)').fill('61,5');
    await page.getByRole('button', { name: 'Add to the list' }).click();
    expect(await page.getByRole('combobox', { name: 'Category of Body weight' }).inputValue()).toBe('vitals');
    await page.getByRole('button', { name: 'Encrypt and store 1 record' }).click();
    await page.getByText('1 record added').waitFor();
    // The link that follows her vital signs now carries the new record too.
    await page.getByText(/1 link that follows these records updated/).waitFor();
    await page.getByRole('button', { name: /Body weight/ }).click();
    await page.getByText('61.5 kg').waitFor();
    await page.getByRole('button', { name: 'Back to your records' }).click();
    expect(await strangerSees(browser, followingLink, '61.5 kg')).toBe(true);
  });

  it('attaches an image with progress, encrypted here, and shows it again decrypted', async () => {
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAYAAAC56t6BAAAAEUlEQVR4nGP4z8DwH4QZMBgAoXkL9U3EmgcAAAAASUVORK5CYII=',
      'base64',
    );
    await page.getByRole('button', { name: 'Add records' }).click();
    await page
      .getByLabel('Or attach a document (PDF or image)')
      .setInputFiles({ name: 'rash.png', mimeType: 'image/png', buffer: png });
    await page.getByText('rash.png added, encrypted in this browser.').waitFor();
    await page.getByRole('button', { name: /rash\.png/ }).click();
    await page.getByRole('button', { name: 'Show the attached file' }).click();
    const image = page.getByRole('img', { name: 'rash.png' });
    await image.waitFor();
    expect(await image.getAttribute('src')).toMatch(/^blob:/);
    expect(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([2, 3]);
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Back to your records' }).click();
    // A PDF is shown in a frame whose source is the decrypted file, in memory only.
    const pdf = Buffer.from(
      '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj ' +
        '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
    );
    await page.getByRole('button', { name: 'Add records' }).click();
    await page
      .getByLabel('Or attach a document (PDF or image)')
      .setInputFiles({ name: 'letter.pdf', mimeType: 'application/pdf', buffer: pdf });
    await page.getByText('letter.pdf added, encrypted in this browser.').waitFor();
    await page.getByRole('button', { name: /letter\.pdf/ }).click();
    await page.getByRole('button', { name: 'Show the attached file' }).click();
    const frame = page.locator('iframe[title="letter.pdf"]');
    await frame.waitFor();
    const source = (await frame.getAttribute('src'))!;
    expect(source).toMatch(/^blob:/);
    await page.getByRole('button', { name: 'Back to your records' }).click();
    expect(await page.locator('iframe').count()).toBe(0); // and its object URL revoked (the page's CSP forbids fetching it to check)
    await page.getByRole('button', { name: 'Add records' }).click();
    await page
      .getByLabel('Or attach a document (PDF or image)')
      .setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await expect(page.getByRole('alert').textContent()).resolves.toContain('is not a PDF or an image');
    await page.getByRole('button', { name: 'Back to your records' }).click();
  });

  it('carries attached files in the FHIR download and brings them back from it', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download all as a FHIR file' }).click(),
    ]);
    const bundle = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    type Document = {
      resourceType: string;
      description?: string;
      content: { attachment: { title: string; data: string } }[];
    };
    const documents = (bundle.entry as { resource: Document }[])
      .map((e) => e.resource)
      .filter((r) => r.resourceType === 'DocumentReference');
    const rash = documents.find((d) => d.content[0]!.attachment.title === 'rash.png')!;
    const rashData = rash.content[0]!.attachment.data;
    expect(Buffer.from(rashData, 'base64').toString('base64')).toBe(rashData);
    expect(Buffer.from(rashData, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(documents.find((d) => d.content[0]!.attachment.title === 'letter.pdf')!.content[0]!.attachment.data).toMatch(
      /^JVBERi0xLjQ/,
    );

    // Back in, under another name: the plan says a file comes with it; the file opens again.
    rash.content[0]!.attachment.title = 'rash-again.png';
    rash.description = 'rash-again.png';
    const file = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: rash }] };
    await page.getByRole('button', { name: 'Add records' }).click();
    await page
      .getByLabel('FHIR or C-CDA file')
      .setInputFiles({ name: 'export.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(file)) });
    await page.getByText(/With an attached file: rash-again\.png \(\d+ bytes\)/).waitFor();
    await page.getByRole('button', { name: 'Encrypt and store 1 record' }).click();
    await page.getByText('1 record added, encrypted in this browser.').waitFor();
    await page.getByRole('button', { name: /rash-again\.png/ }).click();
    await page.getByRole('button', { name: 'Show the attached file' }).click();
    const image = page.getByRole('img', { name: 'rash-again.png' });
    await image.waitFor();
    expect(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([2, 3]);
    await page.getByRole('button', { name: 'Back to your records' }).click();

    // A Bundle entry that holds a request rather than a resource is refused by name, nothing stored.
    await page.getByRole('button', { name: 'Add records' }).click();
    const transaction = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: observation }, { request: { method: 'DELETE', url: 'Observation/1' } }],
    };
    await page.getByLabel('FHIR or C-CDA file').setInputFiles({
      name: 'tx.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(transaction)),
    });
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'Entry 2 of tx.json holds no resource (a DELETE Observation/1 request)',
    );
    await page.getByRole('button', { name: 'Back to your records' }).click();
  });

  it("lists a record's versions and opens an earlier one", async () => {
    const listed = JSON.parse(await medkeyCli(stack, stack.keys.clinic, ['records', '--json'])) as {
      record_id: string;
      resource_type: string;
    }[];
    const id = listed.find((r) => r.resource_type === 'Observation')!.record_id;
    const changed = {
      ...observation,
      component: [
        observation.component[0],
        { ...observation.component[1], valueQuantity: { value: 79, unit: 'mmHg' } },
      ],
    };
    const path = join(tmpdir(), `medkey-bp-${process.pid}.json`);
    writeFileSync(path, JSON.stringify(changed));
    await medkeyCli(stack, stack.keys.clinic, ['update', id, path]);
    rmSync(path, { force: true });
    await page.getByRole('button', { name: 'Activity', exact: true }).click();
    await page.getByRole('button', { name: 'Records', exact: true }).click();
    await page.getByRole('button', { name: /Blood pressure/ }).click();
    await page.getByText('118/79 mmHg').first().waitFor();
    const history = page.getByRole('region', { name: 'History' });
    await history.getByText(/Version 2, stored .* by you \(this is what you see above\)/).waitFor();
    await history.getByRole('button', { name: 'Show version 1' }).click();
    await history.getByText('Version 1, as it was').waitFor();
    await history.getByText('118/76 mmHg').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'record-history.png'), fullPage: true });
    expect(await phoneProblems(page), 'fits a phone').toEqual([]);
    await page.getByRole('button', { name: 'Back to your records' }).click();
  });

  it('dates records by when they happened, keeps undated ones apart, and names her from her own record', async () => {
    // An allergy that says nothing of when: undated, listed apart, never on top as "today".
    const allergy = {
      resourceType: 'AllergyIntolerance',
      code: { text: 'Latex' },
      patient: { reference: 'Patient/1' },
    };
    await page.getByRole('button', { name: 'Add records' }).click();
    await page.getByLabel('FHIR or C-CDA file').setInputFiles({
      name: 'latex.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(allergy)),
    });
    await page.getByRole('button', { name: 'Encrypt and store 1 record' }).click();
    await page.getByText('1 record added').waitFor();
    const undated = page.getByRole('list', { name: 'Undated records, newest added first' });
    await undated.getByRole('button', { name: /Latex/ }).waitFor();
    const today = await page.evaluate(() =>
      new Date().toLocaleDateString(undefined, { day: 'numeric', month: 'long', year: 'numeric' }),
    );
    expect(await undated.getByRole('button', { name: /Latex/ }).locator('.record-date').innerText()).toBe(
      `Undated · added ${today}`,
    );
    const dated = page.getByRole('list', { name: 'Your records, newest first' });
    expect(await dated.getByRole('button', { name: /Latex/ }).count()).toBe(0);
    // The blood pressure taken on 2 November 2026 shows that day, not the day it was added.
    const measured = await page.evaluate(() =>
      new Date('2026-11-02T09:30:00Z').toLocaleDateString(undefined, {
        day: 'numeric',
        month: 'long',
        year: 'numeric',
      }),
    );
    const bp = dated.getByRole('button', { name: /Blood pressure panel/ }).first();
    expect(await bp.locator('.record-date').innerText()).toBe(measured);
    // Her own Patient record names her: the header says who is signed in by name, not by address.
    const me = { resourceType: 'Patient', name: [{ use: 'official', given: ['Maria'], family: 'Gonzales' }] };
    await page.getByRole('button', { name: 'Add records' }).click();
    await page
      .getByLabel('FHIR or C-CDA file')
      .setInputFiles({ name: 'me.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(me)) });
    await page.getByRole('button', { name: 'Encrypt and store 1 record' }).click();
    await page.locator('header .account', { hasText: 'Maria Gonzales' }).waitFor();
    await undated.getByRole('button', { name: /Maria Gonzales/ }).waitFor();
  });

  it('downloads her checked activity as FHIR AuditEvents, and shows one person at a time', async () => {
    await page.getByRole('button', { name: 'Activity', exact: true }).click();
    await page.getByText(/Checked in this browser/).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download as FHIR AuditEvents' }).click(),
    ]);
    const bundle = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    type Event = {
      resourceType: string;
      type: { code: string };
      outcome: string;
      agent: { who: { identifier: { value: string } } }[];
    };
    const events = (bundle.entry as { resource: Event }[]).map((e) => e.resource);
    expect(events.every((e) => e.resourceType === 'AuditEvent')).toBe(true);
    const lab = privateKeyToAccount(stack.keys.lab).address;
    const labEvents = events.filter(
      (e) => e.agent[0]!.who.identifier.value === `did:pkh:eip155:${stack.chainId}:${lab}`,
    );
    expect(labEvents.map((e) => [e.type.code, e.outcome])).toEqual(
      expect.arrayContaining([
        ['key_released', '0'],
        ['key_denied', '4'],
      ]),
    );
    await page.getByLabel('Whose activity').selectOption(lab);
    const shown = await page.locator('.activity li').allTextContents();
    expect(shown.length).toBe(labEvents.length);
    const who = (await page.getByLabel('Whose activity').locator('option:checked').textContent())!;
    expect(shown.every((line) => line.includes(who))).toBe(true);
    expect(shown.some((line) => /opened a record.* for treatment, under grant 0x/.test(line))).toBe(true);
    await page.getByRole('button', { name: 'Records', exact: true }).click();
  });

  it('works with the keyboard alone: connect, create the key, add a record, open it', async () => {
    const keyboardOnly = await browser.newContext({ viewport: { width: 375, height: 800 } });
    try {
      // Another patient (anvil account 4), so this is a first visit too.
      const other = testWallet(
        privateKeyToAccount('0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a'),
        {
          rpcUrl: stack.rpcUrl,
          chainId: stack.chainId,
        },
      );
      await injectWallet(keyboardOnly, (method, params) => other.request({ method, params } as never));
      const kb = await keyboardOnly.newPage();
      await kb.goto(appUrl());
      /** Tabs forward until the focused element's text or label contains `name`, then presses `key`. */
      const tabTo = async (name: string, key = 'Enter') => {
        for (let i = 0; i < 80; i++) {
          await kb.keyboard.press('Tab');
          const focused = await kb.evaluate(() => {
            const el = document.activeElement as HTMLElement | null;
            return `${el?.textContent ?? ''} ${el?.getAttribute('aria-label') ?? ''} ${el?.id ?? ''}`;
          });
          if (focused.includes(name)) return kb.keyboard.press(key);
        }
        throw new Error(`no focusable element named ${name}`);
      };
      await kb.getByRole('button', { name: 'Test Wallet' }).waitFor();
      await tabTo('Test Wallet');
      await kb.getByRole('heading', { name: 'Welcome to Medkey' }).waitFor();
      await tabTo('Create my encryption key');
      await kb.getByRole('heading', { name: 'Your records' }).waitFor();
      await tabTo('Add records');
      await tabTo('self-kind', 'ArrowDown'); // "What": blood pressure → weight
      await tabTo('self-first', '6');
      await kb.keyboard.type('0');
      await tabTo('Add to the list');
      await tabTo('Encrypt and store 1 record');
      await kb.getByText('1 record added').waitFor();
      // The timeline is rebuilt once the record is stored: tab to it only when it is there.
      await kb.getByRole('button', { name: /Body weight/ }).waitFor();
      await tabTo('Body weight');
      await kb.getByText('60 kg').waitFor();
    } finally {
      await keyboardOnly.close();
    }
  });

  it('turns on a second factor with a QR code, asks for it at sign-in, and turns it off', async () => {
    await page.getByRole('button', { name: 'Account', exact: true }).click();
    await page.getByRole('button', { name: 'Turn on the second factor' }).click();
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
    expect(await page.getByRole('img', { name: 'QR code for your authenticator app' }).getAttribute('src')).toMatch(
      /^data:image\/png;base64,/,
    );
    expect(await axeViolations(page)).toEqual([]);
    const secret = (await page.getByTestId('totp-secret').textContent())!;
    const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' });
    await page.getByLabel('Six-digit code').fill(totp.generate());
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByText('Second factor on.').waitFor();
    const codes = await page.locator('.codes code').allTextContents();
    expect(codes.length).toBeGreaterThanOrEqual(8);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Test Wallet' }).click();
    await page.getByLabel('Six-digit code from your authenticator app (or a recovery code)').fill(codes[0]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Your records' }).waitFor();

    await page.getByRole('button', { name: 'Account', exact: true }).click();
    await page.getByText('On: signing in asks for a code').waitFor();
    await page.getByLabel('Code (or a recovery code) to turn it off').fill(codes[1]!);
    await page.getByRole('button', { name: 'Turn off the second factor' }).click();
    await page.getByText('Second factor off.').waitFor();
    await page.getByRole('button', { name: 'Records', exact: true }).click();
  });

  it('sets emergency access after saying what the transaction does, with keys wrapped ahead', async () => {
    const lab = privateKeyToAccount(stack.keys.lab).address;
    await page.getByRole('button', { name: 'Sharing', exact: true }).click();
    await page.getByText('Off: no provider can open your records in an emergency.').waitFor();
    await page
      .getByRole('group', { name: 'What a provider may open in an emergency' })
      .getByLabel('Vital signs')
      .check();
    await page.getByLabel('Providers you trust in an emergency (addresses, one per line)').fill(lab);
    await page
      .getByText(
        /Saving sends one transaction from your wallet, which pays a small network fee\. The providers you name can then open your vital signs for 4 hours/,
      )
      .waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Save emergency settings' }).click();
    await page.getByText(/Saved\. \d+ records? ready for the providers you named\./).waitFor();
    const patient = privateKeyToAccount(stack.keys.clinic).address;
    const chain = createPublicClient({ transport: http(stack.rpcUrl) });
    const mask = await chain.readContract({
      address: stack.registry,
      abi: consentRegistryAbi,
      functionName: 'emergencyCategories',
      args: [patient],
    });
    expect(mask).toBe(1 << 7); // vitals
    await page.getByRole('button', { name: 'Records', exact: true }).click();
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
