// `npx tsx bench/connectCli.ts [runs]` in web/packages/client (after `cargo build --bins`): US Core
// patient 355's first pull with `medkey connect add` (debug build) against the SMART sandbox and
// a real medkey dev, then a `medkey connect sync` with nothing changed. Each run is a new stack.
// The first figure runs from the command's start to its exit: discovery, the sign-in in headless
// Chromium (typing included), the pull, sealing and storing every record; the second is the
// whole `sync` process, the session with the vault included.
import { CLI_CLIENT_ID, startSandbox } from '@medkey/smart-sandbox';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../test/browser.ts';
import { cliConnectAdd, sandboxSignIn } from '../test/cliConnectAdd.ts';
import { medkeyCli, startDevStack } from '../test/devStack.ts';

const runs = Number(process.argv[2] ?? 3);
const results: { records: number; firstPullMs: number; noChangeSyncMs: number }[] = [];

for (let run = 0; run < runs; run++) {
  const sandbox = await startSandbox({ redirectUris: [] });
  const stack = await startDevStack();
  const browser = await chromium.launch(chromiumLaunchOptions());
  try {
    const started = Date.now();
    const { out } = await cliConnectAdd(stack, sandbox.fhirBase, CLI_CLIENT_ID, async (url) => {
      await sandboxSignIn(browser, url, '355');
    });
    const firstPullMs = Date.now() - started;
    const syncStarted = Date.now();
    const sync = JSON.parse(await medkeyCli(stack, stack.keys.patient, ['connect', 'sync', '--json'])) as {
      added: number;
    };
    if (sync.added !== 0) throw new Error('a sync with nothing changed stored records');
    results.push({
      records: (JSON.parse(out) as { added: number }).added,
      firstPullMs,
      noChangeSyncMs: Date.now() - syncStarted,
    });
  } finally {
    await browser.close();
    await stack.stop();
    await sandbox.stop();
  }
}
console.log(JSON.stringify({ runs: results }, null, 2));
