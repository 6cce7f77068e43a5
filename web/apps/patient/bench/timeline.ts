// `npm run bench` in web/apps/patient: the patient app in Debian's headless Chromium against a
// real medkey dev holding 1,000 of her records (the official FHIR examples, cycled): time from
// the wallet click to the rendered timeline, time to open one record, the size of the
// JavaScript the first page loads (gzip), and a 100 MB attachment encrypted and uploaded from the
// page with its JS heap sampled throughout (Chromium's own JSHeapUsedSize, over CDP).

import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VaultClient, VaultSession, Wallet, deriveAndPublishKey, inferCategory, sealNewRecord } from '@medkey/client';
import { announceWallet, chromiumLaunchOptions, repoRoot, startDevStack, testWallet } from '@medkey/client/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
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
    await page
      .getByRole('button', { name: 'Bench Wallet' })
      .waitFor()
      .catch(async (err) => {
        console.error(await page.content());
        throw err;
      });
    const t0 = performance.now();
    await page.getByRole('button', { name: 'Bench Wallet' }).click();
    // Every record is in a list once each list's rows say how many it holds (a long list renders
    // only the rows near the screen, each with its place in the list).
    await page.waitForFunction(
      (n) =>
        [...document.querySelectorAll('ol.timeline')]
          .map((ol) => Number(ol.querySelector('li')?.getAttribute('aria-setsize') ?? ol.children.length))
          .reduce((a, b) => a + b, 0) === n,
      count,
      { timeout: 120_000 },
    );
    const timelineMs = performance.now() - t0;
    // Timed inside the page (a string: see above), from the click to the record's view in the
    // DOM; ten times, a different row each time, back to the timeline in between.
    const opens: number[] = [];
    for (let i = 0; i < 10; i++) {
      opens.push(
        (await page.evaluate(`new Promise((resolve) => {
          const t = performance.now();
          const seen = new MutationObserver(() => {
            if (document.querySelector('article.resource')) { seen.disconnect(); resolve(performance.now() - t); }
          });
          seen.observe(document.body, { childList: true, subtree: true });
          document.querySelectorAll('.record-link')[${i}].click();
        })`)) as number,
      );
      await page.goBack();
      await page
        .locator('.record-link')
        .nth(i + 1)
        .waitFor();
    }
    const openMs = Math.max(...opens);
    const upload = await uploadLargeFile(page, context);
    console.log(
      JSON.stringify(
        {
          records: count,
          walletClickToTimelineMs: Math.round(timelineMs),
          openOneRecordMs: opens.map(Math.round),
          openOneRecordMaxMs: Math.round(openMs),
          firstPageJsGzipKB: Math.round(scripts.reduce((a, b) => a + b, 0) / 1024),
          upload,
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

/**
 * A 100 MB PDF-typed file attached through the page (read, encrypted in chunks into a Blob,
 * uploaded with progress), timed from the file's selection to the "added" notice, with the JS
 * heap sampled every 100 ms over CDP before, during and after.
 */
async function uploadLargeFile(page: Page, context: BrowserContext) {
  const mb = 100;
  const dir = mkdtempSync(join(tmpdir(), 'medkey-bench-'));
  const path = join(dir, 'scan.pdf');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < mb; i++) {
    chunk.fill(i % 251);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const heap = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'JSHeapUsedSize')!.value / 2 ** 20;
  };
  await cdp.send('HeapProfiler.collectGarbage');
  const before = await heap();
  const samples: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(await heap().catch(() => Number.NaN));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  let ms: number;
  try {
    await page.getByRole('button', { name: 'Add records' }).click();
    const t0 = performance.now();
    await page.getByLabel('Or attach a document (PDF or image)').setInputFiles(path);
    await page.getByText('scan.pdf added, encrypted in this browser.').waitFor({ timeout: 300_000 });
    ms = performance.now() - t0;
  } catch (err) {
    console.error(
      'the upload did not finish; the page said:',
      await page.locator('[role=alert], .busy, [role=status]').allTextContents(),
    );
    throw err;
  } finally {
    sampling = false;
    await sampler;
  }
  await cdp.send('HeapProfiler.collectGarbage');
  const after = await heap();
  rmSync(dir, { recursive: true });
  return {
    fileMB: mb,
    selectToStoredMs: Math.round(ms),
    throughputMBps: Math.round((mb / (ms / 1000)) * 10) / 10,
    jsHeapMB: {
      beforeGc: Math.round(before),
      peak: Math.round(Math.max(...samples)),
      afterGc: Math.round(after),
      samples: samples.length,
    },
  };
}
