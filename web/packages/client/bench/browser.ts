// `npm run bench:browser`: the workloads of bench/workload.ts in Debian's headless Chromium
// (playwright-core, /usr/bin/chromium), built by Vite. Also samples the resident memory of all
// of the browser's processes while they run, since typed arrays live outside the JS heap.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { chromiumLaunchOptions } from '../test/browser.ts';
import { thousandResources } from './node.ts';

const root = fileURLToPath(new URL('./browser/', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'medkey-bench-'));
await build({ root, logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });

const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
const server = createServer((req, res) => {
  const path = join(out, req.url === '/' ? 'index.html' : decodeURIComponent(req.url!.split('?')[0]!));
  try {
    const body = readFileSync(path);
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;

/** Resident memory (MB) of every process of this Chromium, from /proc. */
function browserRssMB(profile: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chromium') || !cmd.includes(profile)) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += rss ? Number(rss[1]) / 1024 : 0;
    } catch {
      // the process ended between listing and reading
    }
  }
  return total;
}

const profile = mkdtempSync(join(tmpdir(), 'medkey-chromium-'));
const browser = await chromium.launchPersistentContext(profile, chromiumLaunchOptions());
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  const megabytes = Number(process.argv[2] ?? 100);
  /** Runs one phase in the page, sampling the browser's memory; [result, peak MB above idle]. */
  const phase = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
    const idle = browserRssMB(profile);
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, browserRssMB(profile))), 50);
    const out = await run();
    clearInterval(sampler);
    return [out, peak - idle];
  };
  const [encryptMBps, encryptExtraRssMB] = await phase(() =>
    page.evaluate((mb) => window.medkey.encryptOnly(mb), megabytes),
  );
  const [pipelineMBps, pipelineExtraRssMB] = await phase(() =>
    page.evaluate((mb) => window.medkey.encryptThenDecrypt(mb), megabytes),
  );
  const [smallMBps, smallExtraRssMB] = await phase(() =>
    page.evaluate((mb) => window.medkey.encryptThenDecrypt(mb), megabytes / 4),
  );
  const decryptMBps = await page.evaluate((mb) => window.medkey.decryptOnly(mb), megabytes);
  const records = await page.evaluate((resources) => window.medkey.recordsWorkload(resources), thousandResources());
  const version = execFileSync(process.env.CHROMIUM ?? '/usr/bin/chromium', ['--version'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .toString()
    .trim();
  console.log(
    JSON.stringify(
      {
        runtime: version,
        stream: { megabytes, encryptMBps, decryptMBps, pipelineMBps, encryptExtraRssMB, pipelineExtraRssMB },
        flat: { megabytes: megabytes / 4, pipelineMBps: smallMBps, pipelineExtraRssMB: smallExtraRssMB },
        records,
      },
      null,
      2,
    ),
  );
} finally {
  await browser.close();
  server.close();
  rmSync(out, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}
