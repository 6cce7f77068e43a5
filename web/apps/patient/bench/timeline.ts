// `npm run bench` in web/apps/patient: the patient app in Debian's headless Chromium against a
// real medkey dev holding 1,000 of her records (the official FHIR examples, cycled): time from
// the wallet click to the rendered timeline, time to open one record, and the size of the
// JavaScript the first page loads (gzip).

import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  VaultClient,
  VaultSession,
  Wallet,
  deriveAndPublishKey,
  inferCategory,
  sealNewRecord,
} from '@medkey/client';
import { announceWallet, chromiumLaunchOptions, repoRoot, startDevStack, testWallet } from '@medkey/client/testing';
import { chromium } from 'playwright-core';
import { privateKeyToAccount } from 'viem/accounts';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const count = Number(process.argv[2] ?? 1000);
const fixtures = join(repoRoot, 'tests/fixtures/fhir-r4');
const examples = readdirSync(fixtures)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(fixtures, f), 'utf8')) as { resourceType: string });

const stack = await startDevStack({ webRoot: join(appDir, 'dist') });
try {
  const account = privateKeyToAccount(stack.keys.clinic);
  const provider = testWallet(account, { rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  const wallet = await Wallet.connect(provider);
  const vault = new VaultClient(stack.vaultUrl);
  const session = await VaultSession.signIn(vault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
  const keys = await deriveAndPublishKey(session, wallet, stack.chainId);
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, async (_, j) => {
        const resource = examples[(i + j) % examples.length]!;
        const sealed = await sealNewRecord({
          owner: account.address,
          resource,
          category: inferCategory(resource) ?? 'documents',
          readers: [{ address: account.address, publicKey: keys.publicKey }],
        });
        await vault.createRecord(sealed.body);
      }),
    );
  }

  const browser = await chromium.launch(chromiumLaunchOptions());
  try {
    const context = await browser.newContext();
    await announceWallet(context, 'Bench Wallet', (method, params) => provider.request({ method, params } as never));
    const page = await context.newPage();
    const scripts: number[] = [];
    page.on('response', async (response) => {
      if (response.url().endsWith('.js')) scripts.push(gzipSync(await response.body()).length);
    });
    await page.goto(`http://${stack.siweDomain}/`);
    await page.getByRole('button', { name: 'Bench Wallet' }).waitFor().catch(async (err) => {
      console.error(await page.content());
      throw err;
    });
    const t0 = performance.now();
    await page.getByRole('button', { name: 'Bench Wallet' }).click();
    await page.locator('.timeline li').nth(count - 1).waitFor({ timeout: 120_000 });
    const timelineMs = performance.now() - t0;
    // Timed inside the page (a string: see above), from the click to the record's view in the DOM.
    const openMs = (await page.evaluate(`new Promise((resolve) => {
      const t = performance.now();
      const seen = new MutationObserver(() => {
        if (document.querySelector('article.resource')) { seen.disconnect(); resolve(performance.now() - t); }
      });
      seen.observe(document.body, { childList: true, subtree: true });
      document.querySelector('.record-link').click();
    })`)) as number;
    console.log(
      JSON.stringify(
        {
          records: count,
          walletClickToTimelineMs: Math.round(timelineMs),
          openOneRecordMs: Math.round(openMs),
          firstPageJsGzipKB: Math.round(scripts.reduce((a, b) => a + b, 0) / 1024),
        },
        null,
        2,
      ),
    );
  } finally {
    await browser.close();
  }
} finally {
  await stack.stop();
}
