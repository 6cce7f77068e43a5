// `npx tsx bench/chart.ts [records] [runs]` in web/apps/provider (after `npm run build` in web/):
// the provider app in Debian's headless Chromium against a real `medkey dev`, where the patient
// shared her lab results with the demo clinic and holds N of them (default 1,000: three tests
// measured over years, with values and ranges). Times, in the page, from "Open the chart" to
// the chart on screen (every record released in batches, decrypted, summarised and rendered),
// `runs` times (default 5), and the longest task the page ran meanwhile.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  VaultClient,
  VaultSession,
  Wallet,
  deriveAndPublishKey,
  sealNewRecord,
  wrapAll,
  type Reader,
  type Schemas,
} from '@medkey/client';
import { announceWallet, chromiumLaunchOptions, medkeyCli, startDevStack, testWallet } from '@medkey/client/testing';
import { chromium } from 'playwright-core';
import { hexToBytes, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const webDir = fileURLToPath(new URL('../../', import.meta.url));
const count = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 5);

const TESTS = [
  ['2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma', 'mg/dL', 120, 260, 200],
  ['2571-8', 'Triglyceride [Mass/volume] in Serum or Plasma', 'mg/dL', 50, 300, 150],
  ['2345-7', 'Glucose [Mass/volume] in Serum or Plasma', 'mg/dL', 60, 160, 99],
] as const;

function result(i: number) {
  const [code, display, unit, low, high, top] = TESTS[i % TESTS.length]!;
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] },
    ],
    code: { coding: [{ system: 'http://loinc.org', code, display }], text: display },
    effectiveDateTime: new Date(Date.UTC(2010, 0, 1) + i * 86_400_000 * 3).toISOString(),
    valueQuantity: { value: low + ((i * 7) % (high - low)), unit, system: 'http://unitsofmeasure.org', code: unit },
    referenceRange: [{ high: { value: top, unit, system: 'http://unitsofmeasure.org', code: unit } }],
  };
}

const stack = await startDevStack({ webRoot: join(webDir, 'patient/dist') });
try {
  const clinic = privateKeyToAccount(stack.keys.clinic).address;
  const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  await medkeyCli(stack, stack.keys.patient, [
    'grant',
    '--provider',
    clinic,
    '--categories',
    'lab_results',
    '--until',
    until,
  ]);

  // Her records, sealed for her and for the clinic (its key as the vault names it for the first one).
  const me = privateKeyToAccount(stack.keys.patient);
  const wallet = await Wallet.connect(testWallet(me, { rpcUrl: stack.rpcUrl, chainId: stack.chainId }));
  const vault = new VaultClient(stack.vaultUrl);
  const session = await VaultSession.signIn(vault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
  const keys = await deriveAndPublishKey(session, wallet, stack.chainId);
  const readers: Reader[] = [{ address: me.address, publicKey: keys.publicKey }];
  const seal = (i: number) =>
    sealNewRecord({ owner: me.address, resource: result(i), category: 'lab_results', readers: [...readers] });
  const first = await seal(0);
  const created: Schemas['RecordsCreated'] = await vault.createRecords([first.body]);
  const needing = created.records[0]!.providers_needing_keys[0]!;
  readers.push({ address: needing.provider as Hex, publicKey: hexToBytes(needing.encryption_key as Hex) });
  await vault.addKeys(first.body.record_id, 1, {
    wrapped_keys: await wrapAll(first.dataKey, first.binding, readers.slice(1)),
  });
  for (let i = 1; i < count; i += 250) {
    const batch = await Promise.all(Array.from({ length: Math.min(250, count - i) }, (_, j) => seal(i + j)));
    await vault.createRecords(batch.map((s) => s.body));
  }

  const browser = await chromium.launch(chromiumLaunchOptions());
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const provider = testWallet(privateKeyToAccount(stack.keys.clinic), {
      rpcUrl: stack.rpcUrl,
      chainId: stack.chainId,
    });
    await announceWallet(context, 'Bench Wallet', (method, params) => provider.request({ method, params } as never));
    const page = await context.newPage();
    await page.goto(`http://${stack.siweDomain}/provider/`);
    await page.getByRole('button', { name: 'Bench Wallet' }).click();
    await page.getByRole('heading', { name: 'My patients' }).waitFor();
    const times: number[] = [];
    const longest: number[] = [];
    for (let run = 0; run < runs; run++) {
      await page.getByRole('button', { name: /Open (the patient’s|.*’s) records/ }).click();
      const open = page.getByRole('button', { name: `Open the chart (${count} records)` });
      await open.waitFor({ timeout: 60_000 });
      // Timed inside the page (a string, so no bundler helper leaks in): click → the summary's
      // results table in the DOM, with the longest task seen meanwhile.
      const measured = (await page.evaluate(`new Promise((resolve) => {
        let longest = 0;
        const tasks = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) longest = Math.max(longest, e.duration);
        });
        tasks.observe({ type: 'longtask' });
        const t = performance.now();
        const seen = new MutationObserver(() => {
          if ([...document.querySelectorAll('caption')].some((c) => c.textContent.startsWith('Recent results'))) {
            seen.disconnect();
            const ms = performance.now() - t;
            setTimeout(() => { tasks.disconnect(); resolve({ ms, longest }); }, 50);
          }
        });
        seen.observe(document.body, { childList: true, subtree: true });
        [...document.querySelectorAll('button')].find((b) => b.textContent.startsWith('Open the chart')).click();
      })`)) as { ms: number; longest: number };
      times.push(Math.round(measured.ms));
      longest.push(Math.round(measured.longest));
      await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'My patients' }).click();
      await page.getByRole('heading', { name: 'My patients' }).waitFor();
    }
    console.log(JSON.stringify({ records: count, chartMs: times, longestTaskMs: longest }, null, 2));
  } finally {
    await browser.close();
  }
} finally {
  await stack.stop();
}
