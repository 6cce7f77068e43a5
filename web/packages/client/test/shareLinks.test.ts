// SMART Health Links against the real `medkey dev` vault, proven by someone else's code: a
// receiver written from the specification alone in Python with jwcrypto (scripts/shl_receive.py)
// decodes the link, asks for the manifest with a recipient and passcode, fetches and decrypts the
// file. Wrong passcode, revoked, a file that does not match its link, and a link for another
// vault are refused, each in words.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultClient, VaultSession, Wallet, createShareLink, decodeShareLink, encryptShareFile, openShareLink, type CreatedShareLink } from '../src/index.ts';
import { repoRoot, startDevStack, type DevStack } from './devStack.ts';
import { testWallet } from './testWallet.ts';

let stack: DevStack;
let vault: VaultClient;

const bundle = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    { resource: { resourceType: 'AllergyIntolerance', code: { text: 'Penicillin' }, patient: { display: 'Ana' }, criticality: 'high' } },
    { resource: { resourceType: 'Observation', status: 'final', code: { text: 'Blood group' }, valueString: 'O negative' } },
  ],
};
// Written as a lab would: the decimal keeps its digits through the link.
const bundleText = JSON.stringify(bundle).replace('"Blood group"}', '"Blood group"},"valueQuantity":{"value":4.50}').replace(',"valueString":"O negative"', '');

/** Runs the independent receiver: [exit code, stdout, stderr]. */
function receive(link: string, recipient: string, passcode?: string): Promise<[number, string, string]> {
  const python = join(repoRoot, 'tools/py/bin/python');
  const args = [join(repoRoot, 'scripts/shl_receive.py'), link, '--recipient', recipient, ...(passcode ? ['--passcode', passcode] : [])];
  return new Promise((resolve) => {
    execFile(python, args, (error, stdout, stderr) => resolve([error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr]));
  });
}

beforeAll(async () => {
  stack = await startDevStack();
  const wallet = await Wallet.connect(testWallet(privateKeyToAccount(stack.keys.patient), { rpcUrl: stack.rpcUrl, chainId: stack.chainId }));
  vault = new VaultClient(stack.vaultUrl);
  await VaultSession.signIn(vault, wallet, { chainId: stack.chainId, domain: stack.siweDomain });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

describe('a SMART Health Link', () => {
  let shared: CreatedShareLink;

  it('is a shlink:/ payload naming the manifest, the key and the passcode flag', async () => {
    shared = await createShareLink(vault, bundleText, { label: 'For my new dentist', passcode: 'tulip-42' });
    expect(shared.link.startsWith('shlink:/')).toBe(true);
    expect(shared.viewerUrl).toBe(`${stack.vaultUrl}/view/#${shared.link}`);
    const payload = decodeShareLink(shared.viewerUrl);
    expect(payload).toMatchObject({ url: `${stack.vaultUrl}/shl/${shared.view.id}`, flag: 'P', label: 'For my new dentist', v: 1 });
    expect(payload.key).toHaveLength(43);
    expect(shared.view.state).toBe('active');
  });

  it('opens in a receiver written from the specification with another JWE library', async () => {
    const [wrong, , refusedText] = await receive(shared.link, 'Dr. Ruiz, Smile Dental', 'tulip-00');
    expect(wrong).toBe(3);
    expect(refusedText).toContain('401');
    expect(refusedText).toContain('"remainingAttempts":9');
    const [code, out, err] = await receive(shared.viewerUrl, 'Dr. Ruiz, Smile Dental', 'tulip-42');
    expect(code, err).toBe(0);
    const received = JSON.parse(out) as { files: { contentType: string; cty: string; content: unknown }[] };
    expect(received.files).toHaveLength(1);
    expect(received.files[0]!.contentType).toBe('application/fhir+json;fhirVersion=4.0.1');
    expect(received.files[0]!.cty).toBe('application/fhir+json');
    expect(received.files[0]!.content).toEqual(JSON.parse(bundleText));
  });

  it('opens with our own client too, and she sees every request by name', async () => {
    const { files } = await openShareLink(shared.link, 'School nurse', 'tulip-42');
    expect(files[0]!.content).toEqual(JSON.parse(bundleText));
    await expect(openShareLink(shared.link, 'School nurse', 'nope')).rejects.toThrow(/not right. 8 tries are left/);
    const [mine] = await vault.shareLinks();
    expect(mine!.accesses.map((a) => [a.recipient, a.outcome])).toEqual([
      ['Dr. Ruiz, Smile Dental', 'wrong_passcode'],
      ['Dr. Ruiz, Smile Dental', 'ok'],
      ['School nurse', 'ok'],
      ['School nurse', 'wrong_passcode'],
    ]);
  });

  it('refuses a file that does not match its link', async () => {
    const live = await createShareLink(vault, bundleText, { label: 'Long-lived', longLived: true });
    expect(decodeShareLink(live.link).flag).toBe('L');
    const otherKey = globalThis.crypto.getRandomValues(new Uint8Array(32));
    await vault.replaceShareLinkFiles(live.view.id, [{ content_type: 'application/fhir+json;fhirVersion=4.0.1', jwe: await encryptShareFile(bundleText, otherKey) }]);
    await expect(openShareLink(live.link, 'Clinic')).rejects.toThrow(/does not match its link/);
    const [code] = await receive(live.link, 'Clinic');
    expect(code).not.toBe(0);
  });

  it('stops working at once when she revokes it', async () => {
    await vault.revokeShareLink(shared.view.id);
    await expect(openShareLink(shared.link, 'Dr. Ruiz', 'tulip-42')).rejects.toThrow(/stopped sharing it/);
    const [code, , err] = await receive(shared.link, 'Dr. Ruiz', 'tulip-42');
    expect(code).toBe(3);
    expect(err).toContain('link_revoked');
  });

  it('refuses a link for another vault, and a damaged one, in words', async () => {
    const payload = decodeShareLink(shared.link);
    const elsewhere = `shlink:/${Buffer.from(JSON.stringify({ ...payload, url: 'http://127.0.0.1:9/shl/x' })).toString('base64url')}`;
    await expect(openShareLink(elsewhere, 'Dr. Ruiz', 'tulip-42')).rejects.toThrow();
    expect(() => decodeShareLink('shlink:/not-base64-json')).toThrow(/damaged/);
    expect(() => decodeShareLink('https://example.org/')).toThrow(/not a SMART Health Link/);
  });
});
