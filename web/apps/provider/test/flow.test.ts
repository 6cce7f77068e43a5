// The provider app and the admin console in Debian's headless Chromium (playwright-core),
// against a real anvil and vault (medkey dev serving all three apps), each person with a wallet
// of their own injected the way an extension injects one (EIP-6963; keys stay in this process):
// a provider applies → the registrar approves from the console with its wallet → a patient finds
// the provider by name and shares → the provider reads the record in its app → asks for more →
// the patient approves → a suspension with its reason shows in both apps. Also: a directory entry
// the vault edited is flagged, an account without a role gets nothing from the console, and axe
// finds no serious or critical violation on any screen.

import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VaultClient, VaultSession, Wallet } from '@medkey/client';
import {
  announceWallet,
  axeViolations,
  chromiumLaunchOptions,
  medkeyCli,
  phoneProblems,
  recordCspRefusals,
  startDevStack,
  testWallet,
  unsteadyAccount,
  type DevStack,
} from '@medkey/client/testing';
import { Secret, TOTP } from 'otpauth';
import { chromium, type Browser, type Page } from 'playwright-core';
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const webDir = fileURLToPath(new URL('../../', import.meta.url));
const screenshots = process.env.MEDKEY_WRITE_SCREENSHOTS
  ? join(webDir, 'provider/screenshots')
  : join(tmpdir(), 'medkey-screenshots');
mkdirSync(screenshots, { recursive: true });
/** anvil's account 4: not registered when `medkey dev` starts. */
const NEWCOMER: Hex = '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a';
const REASON = 'Licence under review by the state board';
/** A 1×1 PNG: her photo, inline in her Patient record. */
const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
/** anvil's account 6: a wallet whose signatures differ every time it signs. */
const UNSTEADY: Hex = '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e';

let stack: DevStack;
let browser: Browser;

/** A page of its own for one person, with that person's wallet. */
async function personPage(key: Hex): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  const wallet = testWallet(privateKeyToAccount(key), { rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await announceWallet(context, 'Test Wallet', (method, params) => wallet.request({ method, params } as never));
  await recordCspRefusals(context);
  return context.newPage();
}

/** The screen on a 375 px phone: it must fit (phoneProblems), and is photographed; then back to a desk. */
async function onAPhone(page: Page, shot: string): Promise<void> {
  await page.setViewportSize({ width: 375, height: 800 });
  await page.waitForFunction(() => window.innerWidth === 375);
  expect(await phoneProblems(page), `${shot} fits a phone`).toEqual([]);
  await page.screenshot({ path: join(screenshots, `${shot}-phone.png`) }); // the screen a phone shows
  await page.setViewportSize({ width: 1024, height: 900 });
}

const url = (path: string) => `http://${stack.siweDomain}${path}`;

beforeAll(async () => {
  stack = await startDevStack({ webRoot: join(webDir, 'patient/dist') });
  browser = await chromium.launch(chromiumLaunchOptions());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('the provider app and the admin console', () => {
  let provider: Page;
  let admin: Page;
  let patient: Page;
  const providerAddress = privateKeyToAccount(NEWCOMER).address;

  it('a new provider applies with a profile its wallet signs', async () => {
    provider = await personPage(NEWCOMER);
    await provider.goto(url('/provider/'));
    await provider.getByRole('button', { name: 'Test Wallet' }).click();
    await provider.getByRole('heading', { name: 'Register as a provider' }).waitFor();
    expect(await axeViolations(provider)).toEqual([]);
    await onAPhone(provider, 'apply');
    await provider.getByLabel('Name patients will see').fill('Dr. Ana Reyes');
    await provider.getByLabel('Practice, clinic or hospital').fill('Harbor Heart Clinic');
    await provider.getByLabel('NPI (National Provider Identifier)').fill('1234567890');
    await provider.getByLabel('Specialty').selectOption('207RC0000X');
    await provider.getByLabel('City').fill('Portland');
    await provider.getByLabel('Phone (international, e.g. +1 555 010 0199)').fill('+1 503 555 0100');
    await provider.getByRole('button', { name: 'Sign and apply' }).click();
    await expect(provider.getByRole('alert').textContent()).resolves.toContain('That NPI is not valid');
    await provider.getByLabel('NPI (National Provider Identifier)').fill('1234567893');
    await provider.getByRole('button', { name: 'Sign and apply' }).click();
    await provider.getByText('Your application was sent.').waitFor();
    await provider.getByText('Dr. Ana Reyes — Waiting for the registry’s review').waitFor();
  });

  it('refuses to apply with a wallet that does not sign the same way twice, saying why', async () => {
    const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
    const wallet = testWallet(unsteadyAccount(UNSTEADY), { rpcUrl: stack.rpcUrl, chainId: stack.chainId });
    await announceWallet(context, 'Test Wallet', (method, params) => wallet.request({ method, params } as never));
    const unsteady = await context.newPage();
    await unsteady.goto(url('/provider/'));
    await unsteady.getByRole('button', { name: 'Test Wallet' }).click();
    await unsteady.getByRole('heading', { name: 'Register as a provider' }).waitFor();
    await unsteady.getByLabel('Name patients will see').fill('Dr. Lee Unsteady');
    await unsteady.getByLabel('Practice, clinic or hospital').fill('Unsteady Clinic');
    await unsteady.getByLabel('NPI (National Provider Identifier)').fill('1245319599');
    await unsteady.getByLabel('Specialty').selectOption('207RC0000X');
    await unsteady.getByLabel('City').fill('Portland');
    await unsteady.getByLabel('Phone (international, e.g. +1 555 010 0199)').fill('+1 503 555 0101');
    await unsteady.getByRole('button', { name: 'Sign and apply' }).click();
    await unsteady.getByText(/signed the same text twice with different results/).waitFor();
    await context.close();
  });

  it('gives an account without a registry role nothing in the console', async () => {
    patient = await personPage(stack.keys.patient);
    await patient.goto(url('/admin/'));
    await patient.getByRole('button', { name: 'Test Wallet' }).click();
    await patient.getByText('This account holds no role in the registry').waitFor();
    expect(await patient.getByRole('heading', { name: 'Applications' }).count()).toBe(0);
  });

  it('the registrar approves it from the console with its own wallet', async () => {
    admin = await personPage(stack.keys.admin);
    await admin.goto(url('/admin/'));
    await admin.getByRole('button', { name: 'Test Wallet' }).click();
    await admin.getByRole('heading', { name: 'Applications' }).waitFor();
    await admin.getByRole('heading', { name: 'Dr. Ana Reyes' }).waitFor();
    await admin.getByText('1234567893 (its check digit is valid').waitFor();
    expect(await axeViolations(admin)).toEqual([]);
    await admin.getByRole('button', { name: 'Approve Dr. Ana Reyes' }).click();
    await admin.getByText('Dr. Ana Reyes is registered and listed in the directory.').waitFor();
    await admin.getByText('No application is waiting.').waitFor();
  });

  it('a patient finds the provider by name and shares a record with it', async () => {
    await patient.goto(url('/'));
    await patient.getByRole('button', { name: 'Test Wallet' }).click();
    await patient.getByRole('button', { name: 'Create my encryption key' }).click();
    await patient.getByRole('heading', { name: 'Your records' }).waitFor();
    const result = {
      resourceType: 'Observation',
      status: 'final',
      category: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '2093-3', display: 'Cholesterol' }] },
      valueQuantity: { value: 182, unit: 'mg/dL' },
    };
    // Her own Patient record says who she is: a provider she shares anything with sees it.
    const me = {
      resourceType: 'Patient',
      name: [{ given: ['Maria'], family: 'Example' }],
      birthDate: '1980-04-12',
      photo: [{ contentType: 'image/png', data: PIXEL }],
    };
    const file = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: result }, { resource: me }] };
    await patient.getByRole('button', { name: 'Add records' }).click();
    await patient
      .getByLabel('FHIR or C-CDA file')
      .setInputFiles({ name: 'chol.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(file)) });
    await patient.getByRole('button', { name: 'Encrypt and store 2 records' }).click();
    await patient.getByText('2 records added').waitFor();
    await patient.getByRole('button', { name: 'Sharing', exact: true }).click();
    await patient.getByRole('button', { name: 'Share with a provider' }).click();
    await patient.getByLabel('Find your provider by name, practice, city or NPI').fill('reyes');
    await patient.getByRole('button', { name: 'Search the directory' }).click();
    await patient.getByRole('button', { name: 'Choose Dr. Ana Reyes' }).click();
    await patient.getByText(`${providerAddress} is a registered provider.`).waitFor();
    await patient.getByLabel('Lab results').check();
    await patient.getByText(`Dr. Ana Reyes (${providerAddress}) can read your lab results until`).waitFor();
    await patient.getByText(/also sees who you are \(your name and date of birth/).waitFor();
    expect(await axeViolations(patient)).toEqual([]);
    await patient.getByRole('button', { name: 'Sign and share' }).click();
    await patient.getByText('Shared. 2 existing records can now be opened by the provider.').waitFor();
    await patient.getByRole('button', { name: 'Stop sharing with Dr. Ana Reyes' }).waitFor();
  });

  it('the provider sees the patient and reads the record, decrypted in its browser', async () => {
    await provider.reload();
    await provider.getByRole('button', { name: 'Test Wallet' }).click();
    await provider.getByText('Listed in the directory as Dr. Ana Reyes').waitFor();
    await provider.getByRole('heading', { name: 'My patients' }).waitFor();
    await provider.getByText('Lab results — for treatment, until').waitFor();
    expect(await axeViolations(provider)).toEqual([]);
    await provider.getByRole('button', { name: /Open (the patient’s|Maria Example’s) records/ }).click();
    // Who she is, from her own Patient record, released under the lab-results grant.
    await provider.getByRole('heading', { name: 'Maria Example', level: 1 }).waitFor();
    await provider.getByText(/^Born (12 April|April 12,) 1980$/).waitFor();
    // Her photo heads the screen (and shows in her details).
    await provider.getByRole('img', { name: 'Photo of Maria Example' }).first().waitFor();
    await provider.getByRole('button', { name: /Open measurement or test result/ }).click();
    await provider.getByText('182 mg/dL').waitFor();
    expect(await axeViolations(provider)).toEqual([]);
  });

  it('adds a record to her file under a write grant, sealed for her and for itself', async () => {
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await medkeyCli(stack, stack.keys.patient, [
      'grant',
      '--provider',
      providerAddress,
      '--categories',
      'vitals',
      '--until',
      until,
      '--write',
    ]);
    // A reload comes back to the patient it was on (her address is in the page's address).
    expect(new URL(provider.url()).hash).toMatch(/^#\/patient\/0x[0-9a-fA-F]{40}$/);
    await provider.reload();
    await provider.getByRole('button', { name: 'Test Wallet' }).click();
    await provider.getByRole('heading', { name: 'Maria Example', level: 1 }).waitFor();
    await provider.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'My patients' }).click();
    await provider.getByText('Vital signs — for treatment, until').waitFor();
    await provider.goBack();
    await provider.getByRole('heading', { name: 'Maria Example', level: 1 }).waitFor();
    const weight = {
      resourceType: 'Observation',
      status: 'final',
      category: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] },
      valueQuantity: { value: 71.5, unit: 'kg' },
    };
    await provider.getByLabel('Or paste the FHIR resource').fill(JSON.stringify(weight));
    await provider
      .getByLabel('Attach a file (optional: a PDF or an image)')
      .setInputFiles({ name: 'scale.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 weight') });
    expect(await axeViolations(provider)).toEqual([]);
    await provider.getByRole('button', { name: 'Encrypt and add to the patient’s records' }).click();
    await provider
      .getByText('Added to the patient’s records with scale.pdf. The patient can read it, and so can you.')
      .waitFor();
    await provider.getByRole('button', { name: /Open measurement or test result \(Vital signs/ }).click();
    await provider.getByText('71.5 kg').waitFor();
  });

  it('keeps the provider app and the patient app alive when a record holds objects where FHIR has text', async () => {
    // What an outside probe wrote under a write grant: React error #31 blanked every app.
    const hostile = {
      resourceType: 'Observation',
      status: { odd: true },
      category: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] },
      ],
      code: { text: { note: 'x' } },
      valueString: { note: 'y' },
      effectiveDateTime: { when: 'now' },
      referenceRange: [{ text: ['not', 'text'] }],
    };
    await provider.getByLabel('Or paste the FHIR resource').fill(JSON.stringify(hostile));
    await provider.getByRole('button', { name: 'Encrypt and add to the patient’s records' }).click();
    await provider.getByText('Added to the patient’s records. The patient can read it, and so can you.').waitFor();
    // Her records as listed again after the add: the weight and the odd record, both closed.
    const closed = provider.getByRole('button', { name: /Open measurement or test result \(Vital signs/ });
    await expect.poll(() => closed.count(), { timeout: 15_000 }).toBe(2);
    await closed.first().click();
    await expect.poll(() => closed.count(), { timeout: 15_000 }).toBe(1);
    await closed.first().click();
    await expect.poll(() => closed.count(), { timeout: 15_000 }).toBe(0);
    await provider.getByText('71.5 kg').waitFor();
    await provider.getByRole('heading', { name: 'Maria Example', level: 1 }).waitFor();
    expect(await provider.getByRole('article', { name: 'Measurement or test result' }).count()).toBe(1);

    // A reload brings her back to the screen she was on (sharing); her records are a click away.
    await patient.reload();
    await patient.getByRole('button', { name: 'Test Wallet' }).click();
    await patient.getByRole('heading', { name: 'Who can read your records' }).waitFor();
    await patient.getByRole('button', { name: 'Records', exact: true }).click();
    await patient.getByRole('heading', { name: 'Your records' }).waitFor();
    await patient.getByRole('button', { name: /Body weight/ }).waitFor();
    await patient.getByRole('button', { name: /Measurement or test result\s*Measurement or test result/ }).click();
    await patient.getByRole('article', { name: 'Measurement or test result' }).waitFor();
    await patient.getByRole('button', { name: 'Back to your records' }).click();
    await patient.getByRole('button', { name: /Cholesterol/ }).waitFor();
  });

  it('opens her whole chart in one release, each record logged, with values and a summary', async () => {
    const patientSession = async () => {
      const wallet = await Wallet.connect(
        testWallet(privateKeyToAccount(stack.keys.patient), { rpcUrl: stack.rpcUrl, chainId: stack.chainId }),
      );
      const vault = new VaultClient(stack.vaultUrl);
      await VaultSession.signIn(vault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
      return vault;
    };
    const released = async () =>
      (await (await patientSession()).auditEntries()).entries.filter(
        (e) => e.entry.kind === 'key_released' && e.entry.actor.toLowerCase() === providerAddress.toLowerCase(),
      ).length;
    const before = await released();
    await provider.reload();
    await provider.getByRole('button', { name: 'Test Wallet' }).click();
    await provider.getByRole('heading', { name: 'Maria Example', level: 1 }).waitFor();
    await provider.getByRole('button', { name: 'Open the chart (4 records)' }).click();
    await provider.getByRole('table', { name: 'Recent results' }).waitFor();
    expect(await provider.getByRole('row', { name: /Cholesterol 182 mg\/dL/ }).count()).toBe(1);
    await provider.getByRole('table', { name: 'Vital signs, latest reading' }).waitFor();
    expect(await provider.getByRole('row', { name: /Body weight \(1 reading\) 71\.5 kg/ }).count()).toBe(1);
    await provider.getByRole('region', { name: 'Allergies' }).getByText('No allergies').waitFor();
    // The odd record is in its group, unshowable on its own; the chart stays.
    await provider.getByRole('region', { name: 'Measurement or test result' }).waitFor();
    expect(await released()).toBe(before + 4); // who she is on opening, then the other three at once
    expect(await axeViolations(provider)).toEqual([]);
    await provider.screenshot({ path: join(screenshots, 'chart.png'), fullPage: true });
    await onAPhone(provider, 'chart');
  });

  it('asks for more, and the patient sees the request by name and approves it', async () => {
    const patientAddress = privateKeyToAccount(stack.keys.patient).address;
    await provider.getByRole('button', { name: 'Request access' }).click();
    await provider.getByLabel('Patient’s address').fill(patientAddress);
    await provider.getByLabel('Vaccinations').check();
    await provider.getByLabel('A note for the patient (optional)').fill('Before your cardiology visit');
    expect(await axeViolations(provider)).toEqual([]);
    await provider.getByRole('button', { name: 'Send the request' }).click();
    await provider.getByText('Your request was sent.').waitFor();

    await patient.getByRole('button', { name: 'Records', exact: true }).click();
    await patient.getByRole('button', { name: 'Sharing', exact: true }).click();
    await patient.getByText('Before your cardiology visit').waitFor();
    await patient.getByText(/Dr\. Ana Reyes.*asks to read your vaccinations/).waitFor();
    await patient.getByRole('button', { name: 'Review and approve' }).click();
    // She shares her vaccinations, but no longer who she is: the vault refuses it from now on.
    await patient.getByLabel(/Let them see your name and date of birth/).uncheck();
    await patient.getByText(/will not see who you are/).waitFor();
    await patient.getByRole('button', { name: 'Sign and share' }).click();
    await patient.getByText(/Shared\./).waitFor();
    expect(await patient.getByText('Before your cardiology visit').count(), 'the answered request left the list').toBe(
      0,
    );
    // The provider's list shows the new grant without signing in again (it asks the vault every 15 s).
    await provider.getByText(/Vaccinations — for treatment, until/).waitFor({ timeout: 45_000 });
    await provider.reload();
    await provider.getByRole('button', { name: 'Test Wallet' }).click();
    await provider.getByRole('button', { name: /Open (the patient’s|Maria Example’s) records/ }).click();
    await provider.getByRole('heading', { name: 'Patient', exact: true, level: 1 }).waitFor();
    expect(await provider.getByText('Maria Example').count()).toBe(0);
  });

  it('shows the provider its own access history, checked against the signed log', async () => {
    const patientAddress = privateKeyToAccount(stack.keys.patient).address;
    await provider.getByRole('button', { name: 'My access history' }).click();
    await provider.getByText(/Checked in this browser: this list is the vault’s signed log/).waitFor();
    await provider.getByText(`you opened a record of ${patientAddress}`, { exact: false }).first().waitFor();
    expect(await axeViolations(provider)).toEqual([]);
  });

  it('asks for an explicit confirmation before break-glass access, and says when a patient has not allowed it', async () => {
    const patientAddress = privateKeyToAccount(stack.keys.patient).address;
    await provider.getByRole('button', { name: 'Emergency access' }).click();
    await provider.getByLabel('Patient’s address').fill(patientAddress);
    await provider
      .getByLabel('Why you need it now (at least 10 characters)')
      .fill('Unconscious on arrival, checking allergies');
    const open = provider.getByRole('button', { name: 'Open emergency access' });
    expect(await open.isDisabled()).toBe(true);
    await provider.getByLabel(/I understand: this is recorded publicly on the blockchain/).check();
    expect(await axeViolations(provider)).toEqual([]);
    await open.click();
    await expect(provider.getByRole('alert').textContent()).resolves.toContain(
      'This patient has not allowed emergency access',
    );
  });

  it('flags a directory entry the vault edited instead of believing it', async () => {
    await patient.route('**/v1/directory?**', async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      for (const entry of body.providers) entry.profile.display_name = 'Dr. Someone Else';
      await route.fulfill({ response, json: body });
    });
    await patient.getByRole('button', { name: 'Share with a provider' }).click();
    await patient.getByLabel('Find your provider by name, practice, city or NPI').fill('reyes');
    await patient.getByRole('button', { name: 'Search the directory' }).click();
    await patient
      .getByText('its directory entry could not be verified: the provider did not sign this profile')
      .waitFor();
    expect(await patient.getByRole('button', { name: /Choose/ }).count()).toBe(0);
    await patient.unroute('**/v1/directory?**');
  });

  it('shows the registry, the audit log, the mirror, the relayer and the role holders', async () => {
    await admin.getByRole('button', { name: 'Registry', exact: true }).click();
    await admin.getByText('Running: new grants are accepted. Revocations always work, paused or not.').waitFor();
    await admin.getByText(/entries now\./).waitFor();
    await admin.getByText(/Fresh: keys are released\./).waitFor();
    await admin.getByText(/pays for gasless grants; balance .* ETH/).waitFor();
    await admin.getByRole('cell', { name: 'Registrar (providers)' }).first().waitFor();
    expect(await axeViolations(admin)).toEqual([]);
    await onAPhone(admin, 'console-registry');
    // The console's screens have addresses too: a reload signs in again and comes back here.
    await admin.reload();
    await admin.getByRole('button', { name: 'Test Wallet' }).click();
    await admin.getByText(/Fresh: keys are released\./).waitFor();
    await admin.goBack();
    await admin.getByRole('heading', { name: 'Applications' }).waitFor();
  });

  it('a suspension shows with its reason and date in both apps', async () => {
    await admin.getByRole('button', { name: 'Providers', exact: true }).click();
    await admin.getByLabel('Search by name, organisation, city or NPI').fill('reyes');
    await admin.getByRole('heading', { name: 'Dr. Ana Reyes' }).waitFor();
    expect(await axeViolations(admin)).toEqual([]);
    await admin.getByLabel(`Reason (public: the provider and its patients see it)`).fill(REASON);
    await admin.getByRole('button', { name: 'Suspend Dr. Ana Reyes' }).click();
    await admin.getByText('Suspended. Its grants are paused; patients see why.').waitFor();
    await admin.getByRole('button', { name: 'History of Dr. Ana Reyes' }).click();
    await admin
      .getByRole('list', { name: 'History of Dr. Ana Reyes' })
      .getByText(new RegExp(`Suspended on .*: ${REASON}`))
      .waitFor();

    await provider.reload();
    await provider.getByRole('button', { name: 'Test Wallet' }).click();
    await provider.getByText(new RegExp(`Suspended by the registry on .*: ${REASON}`)).waitFor();
    await provider.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'My patients' }).click();
    await provider.getByText('Paused: you are suspended', { exact: false }).first().waitFor();

    await patient.getByRole('button', { name: 'Records', exact: true }).click();
    await patient.getByRole('button', { name: 'Sharing', exact: true }).click();
    await patient
      .getByText(new RegExp(`Suspended by the registry on .*: ${REASON}`))
      .first()
      .waitFor();
  });

  it('asks a provider with a second factor for its code at sign-in', async () => {
    const wallet = await Wallet.connect(
      testWallet(privateKeyToAccount(NEWCOMER), { rpcUrl: stack.rpcUrl, chainId: stack.chainId }),
    );
    const vault = new VaultClient(stack.vaultUrl);
    await VaultSession.signIn(vault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
    const setup = await vault.mfaSetup();
    const totp = new TOTP({ secret: Secret.fromBase32(setup.secret), digits: 6, period: 30, algorithm: 'SHA1' });
    const { recovery_codes: codes } = await vault.mfaEnable(totp.generate());
    await provider.reload();
    await provider.getByRole('button', { name: 'Test Wallet' }).click();
    await provider.getByLabel('Six-digit code from your authenticator app (or a recovery code)').fill(codes[0]!);
    expect(await axeViolations(provider)).toEqual([]);
    await provider.getByRole('button', { name: 'Sign in' }).click();
    await provider.getByRole('heading', { name: 'My patients' }).waitFor();
  });
});
