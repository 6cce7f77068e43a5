// `medkey connect add` run as a person would, for the CLI's test and benchmark: the sign-in
// address it prints is handed to `signIn` (a headless browser fills the provider's pages), and the
// provider's answer reaches the command's loopback port.
import { spawn } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { medkeyBinary, medkeyCliEnv, repoRoot, type DevStack } from './devStack.ts';

export function cliConnectAdd(
  stack: DevStack,
  fhirBase: string,
  clientId: string,
  signIn: (url: string) => Promise<void>,
): Promise<{ out: string; err: string }> {
  const child = spawn(
    medkeyBinary(),
    ['connect', 'add', fhirBase, '--client-id', clientId, '--no-browser', '--yes', '--json'],
    { cwd: repoRoot, env: medkeyCliEnv(stack, stack.keys.patient), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let signing: Promise<void> | undefined;
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    err += d;
    const url = /^\s+(http\S+)$/m.exec(err)?.[1];
    if (url && !signing) signing = signIn(url);
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      void (signing ?? Promise.resolve()).then(() =>
        code === 0 ? resolve({ out, err }) : reject(new Error(`medkey connect add → ${code}\n${err}`)),
      );
    }),
  );
}

/** Signs patient `login` in at the SMART sandbox's own pages, in a fresh context of `browser`. */
export async function sandboxSignIn(browser: Browser, url: string, login: string): Promise<string> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click(); // consent: "Continue"
  await page.getByText('Medkey has the provider').waitFor();
  const landed = page.url();
  await context.close();
  return landed;
}
