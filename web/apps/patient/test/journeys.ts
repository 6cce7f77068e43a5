// What the patient app's browser journeys share: the lab reading through the client library in
// Node, and a stranger opening a link in a clean browser.

import { VaultClient, VaultSession, Wallet, deriveEncryptionKey, openRecordContent } from '@medkey/client';
import { announceWallet, recordCspRefusals, testWallet, type DevStack } from '@medkey/client/testing';
import type { Hex } from 'viem';
import type { Browser, BrowserContext } from 'playwright-core';
import { privateKeyToAccount } from 'viem/accounts';

/**
 * The lab, through the client library in Node with its own wallet: the patient's records it may
 * see, and what asking for their keys gives it (`ids` to ask for records it can no longer list).
 */
export async function labReads(
  stack: DevStack,
  ids?: string[],
): Promise<{ ids: string[]; released: number; refused?: string; resource?: unknown }> {
  const wallet = await Wallet.connect(
    testWallet(privateKeyToAccount(stack.keys.lab), { rpcUrl: stack.rpcUrl, chainId: stack.chainId }),
  );
  const vault = new VaultClient(stack.vaultUrl);
  await VaultSession.signIn(vault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
  const keys = await deriveEncryptionKey(wallet);
  const patient = privateKeyToAccount(stack.keys.clinic).address;
  const asked = ids ?? (await vault.patientRecords(patient)).map((r) => r.record_id);
  const batch = await vault.releaseKeys(patient, { record_ids: asked });
  const first = batch.released[0];
  const refused = batch.refused[0]?.error.code;
  if (!first) return { ids: asked, released: 0, ...(refused ? { refused } : {}) };
  const opened = await openRecordContent(first.record, first.ciphertext, first.wrapped_key, keys.secret);
  return { ids: asked, released: batch.released.length, resource: opened.resource };
}

/** Whether a clean browser opening `link` sees `text` among the shared records. */
export async function strangerSees(browser: Browser, link: string, text: string): Promise<boolean> {
  const stranger = await browser.newContext();
  try {
    const view = await stranger.newPage();
    await view.goto(link);
    await view.getByLabel(/Your name/).fill('Dr. Okafor, Lagos');
    await view.getByRole('button', { name: 'Open the records' }).click();
    await view.getByRole('heading', { name: /Shared records/ }).waitFor();
    return (await view.getByText(text).count()) > 0;
  } finally {
    await stranger.close();
  }
}

/** Her blood pressure on 2 November 2026, as a device would send it. */
export const bloodPressure = {
  resourceType: 'Observation',
  status: 'final',
  category: [
    { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' }] },
  effectiveDateTime: '2026-11-02T09:30:00Z',
  component: [
    {
      code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
      valueQuantity: { value: 118, unit: 'mmHg' },
    },
    {
      code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
      valueQuantity: { value: 76, unit: 'mmHg' },
    },
  ],
};

/**
 * A browser context for one patient: `key`'s test wallet announced over EIP-6963 (it signs in
 * this Node process, so the key never enters the page) and the network limited to the stack.
 */
export async function patientContext(
  browser: Browser,
  stack: DevStack,
  key: Hex,
  viewport: { width: number; height: number },
  /** Other origins the page may reach (a provider's FHIR server in the connect journey). */
  alsoAllow: string[] = [],
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport });
  const wallet = testWallet(privateKeyToAccount(key), { rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await announceWallet(context, 'Test Wallet', (method, params) => wallet.request({ method, params } as never));
  await onlyTheStack(context, stack, alsoAllow);
  await recordCspRefusals(context);
  return context;
}

/** Lets `context`'s pages reach this stack's vault and chain only (by address or as localhost). */
export async function onlyTheStack(context: BrowserContext, stack: DevStack, alsoAllow: string[] = []): Promise<void> {
  const hosts = (url: string) => [new URL(url).host, `localhost:${new URL(url).port}`];
  const allowed = [...hosts(stack.vaultUrl), ...hosts(stack.rpcUrl), ...alsoAllow.map((url) => new URL(url).host)];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    return allowed.includes(url.host) || url.protocol === 'data:' ? route.continue() : route.abort();
  });
}
