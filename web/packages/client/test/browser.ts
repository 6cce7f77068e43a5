// Debian's Chromium, headless, as every browser test and benchmark here launches it, and a wallet
// announced to its pages over EIP-6963 whose requests are answered in Node (the key never enters
// the page).
import type { BrowserContext, LaunchOptions } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumLaunchOptions(): LaunchOptions {
  return { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS };
}

/**
 * Announces a wallet named `name` to every page of `context` (EIP-6963). A string script, not a
 * function: a transpiler's helpers (tsx adds some) do not exist in the page.
 */
export async function announceWallet(
  context: BrowserContext,
  name: string,
  answer: (method: string, params: unknown) => Promise<unknown>,
): Promise<void> {
  await context.exposeBinding('__medkeyTestWallet', async (_source, method: string, params: unknown) =>
    answer(method, params),
  );
  const info = {
    uuid: `test-${name}`,
    name,
    icon: 'data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg"/>',
    rdns: 'test.medkey',
  };
  await context.addInitScript(`
    const provider = {
      request: ({ method, params }) => window.__medkeyTestWallet(method, params),
      on: () => undefined,
      removeListener: () => undefined,
    };
    const detail = Object.freeze({ info: ${JSON.stringify(info)}, provider });
    window.addEventListener('eip6963:requestProvider', () =>
      window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail })));
  `);
}
