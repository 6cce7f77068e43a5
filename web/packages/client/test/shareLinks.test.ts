// SMART Health Links against the real `medkey dev` vault, proven by someone else's code: a
// receiver written from the specification alone in Python with jwcrypto (scripts/shl_receive.py)
// decodes the link, asks for the manifest with a recipient and passcode, fetches and decrypts the
// file. Wrong passcode, revoked, a file that does not match its link, and a link for another
// vault are refused, each in words.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  VaultClient,
  VaultSession,
  Wallet,
  buildPatientSummary,
  createShareLink,
  refreshShareLink,
  decodeShareLink,
  encryptShareFile,
  openShareLink,
  type CreatedShareLink,
  type FhirResource,
} from '../src/index.ts';
import { repoRoot, startDevStack, type DevStack } from './devStack.ts';
import { testWallet } from './testWallet.ts';

let stack: DevStack;
let vault: VaultClient;

const bundle = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    {
      resource: {
        resourceType: 'AllergyIntolerance',
        code: { text: 'Penicillin' },
        patient: { display: 'Ana' },
        criticality: 'high',
      },
    },
    {
      resource: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'Blood group' },
        valueString: 'O negative',
      },
    },
  ],
};
// Written as a lab would: the decimal keeps its digits through the link.
const bundleText = JSON.stringify(bundle)
  .replace('"Blood group"}', '"Blood group"},"valueQuantity":{"value":4.50}')
  .replace(',"valueString":"O negative"', '');

/** Runs the independent receiver: [exit code, stdout, stderr]. */
function receive(link: string, recipient: string, passcode?: string): Promise<[number, string, string]> {
  const python = join(repoRoot, 'tools/py/bin/python');
  const args = [
    join(repoRoot, 'scripts/shl_receive.py'),
    link,
    '--recipient',
    recipient,
    ...(passcode ? ['--passcode', passcode] : []),
  ];
  return new Promise((resolve) => {
    execFile(python, args, (error, stdout, stderr) =>
      resolve([error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr]),
    );
  });
}

beforeAll(async () => {
  stack = await startDevStack();
  const wallet = await Wallet.connect(
    testWallet(privateKeyToAccount(stack.keys.patient), { rpcUrl: stack.rpcUrl, chainId: stack.chainId }),
  );
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
    expect(payload).toMatchObject({
      url: `${stack.vaultUrl}/shl/${shared.view.id}`,
      flag: 'P',
      label: 'For my new dentist',
      v: 1,
    });
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
    expect(received.files[0]!.contentType).toBe('application/fhir+json');
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

  it('with flag U hands its one file directly, to the independent receiver too', async () => {
    const direct = await createShareLink(vault, bundleText, { label: 'Direct', direct: true });
    expect(decodeShareLink(direct.link).flag).toBe('U');
    const { files } = await openShareLink(direct.link, 'Walk-in clinic');
    expect(files[0]!.content).toEqual(JSON.parse(bundleText));
    const [code, out, err] = await receive(direct.link, 'Walk-in clinic');
    expect(code, err).toBe(0);
    expect((JSON.parse(out) as { files: { content: unknown }[] }).files[0]!.content).toEqual(JSON.parse(bundleText));
    await expect(createShareLink(vault, bundleText, { label: 'x', direct: true, passcode: 'abcd' })).rejects.toThrow(
      /cannot have a passcode/,
    );
    // A link with a passcode is not direct: the vault says to ask for the manifest.
    const guarded = await fetch(`${stack.vaultUrl}/shl/${shared.view.id}?recipient=x`);
    expect(guarded.status).toBe(400);
    expect(((await guarded.json()) as { error: { code: string } }).error.code).toBe('not_direct');
    const [mine] = (await vault.shareLinks()).filter((l) => l.id === direct.view.id);
    expect(mine!.accesses.map((a) => a.recipient)).toEqual(['Walk-in clinic', 'Walk-in clinic']);
  });

  it('refuses a file that does not match its link', async () => {
    const secret = globalThis.crypto.getRandomValues(new Uint8Array(32));
    const live = await createShareLink(vault, bundleText, {
      label: 'Long-lived',
      longLived: { categories: ['allergies'], accountSecret: secret },
    });
    expect(decodeShareLink(live.link).flag).toBe('L');
    expect(live.view.categories).toEqual(['allergies']);
    // Her records changed: new files under the same link, which opens them (the key is derived again, not kept).
    const changed = bundleText.replace('Penicillin', 'Penicillin and latex');
    await refreshShareLink(vault, live.view.id, changed, secret);
    const { files } = await openShareLink(live.link, 'Clinic');
    expect(JSON.stringify(files[0]!.content)).toContain('Penicillin and latex');
    const otherKey = globalThis.crypto.getRandomValues(new Uint8Array(32));
    await vault.replaceShareLinkFiles(live.view.id, [
      { content_type: 'application/fhir+json;fhirVersion=4.0.1', jwe: await encryptShareFile(bundleText, otherKey) },
    ]);
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

describe('the emergency card', () => {
  const fixture = (name: string) =>
    JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/fhir-r4', name), 'utf8')) as FhirResource;

  it('is an IPS document with the required sections, that the FHIR validator accepts, and opens through its link', async () => {
    const resources = [
      'AllergyIntolerance-example.json',
      'MedicationRequest-medrx0302.json',
      'Condition-f201.json',
      'Immunization-example.json',
      'Observation-bloodgroup.json',
      'Observation-example.json',
    ].map(fixture);
    const summary = buildPatientSummary({
      resources,
      name: 'Ana María López',
      birthDate: '1984-03-09',
      contacts: [{ name: 'Lucía López', relationship: 'sister', phone: '+34 600 000 000' }],
    });
    const bundle = summary.bundle as unknown as {
      type: string;
      entry: {
        fullUrl: string;
        resource: FhirResource & {
          section?: { code: { coding: { code: string }[] }; entry?: { reference: string }[]; emptyReason?: unknown }[];
        };
      }[];
    };
    expect(bundle.type).toBe('document');
    const composition = bundle.entry[0]!.resource;
    expect(composition.resourceType).toBe('Composition');
    const codes = composition.section!.map((s) => s.code.coding[0]!.code);
    expect(codes).toEqual(['48765-2', '10160-0', '11450-4', '11369-6', '30954-2']);
    // Every reference in the document resolves inside it.
    const urls = new Set(bundle.entry.map((e) => e.fullUrl));
    const refs = JSON.stringify(bundle)
      .match(/"reference":"([^"]+)"/g)!
      .map((r) => r.slice(13, -1))
      .filter((r) => r.startsWith('urn:uuid:'));
    expect(refs.length).toBeGreaterThan(6);
    expect(refs.every((r) => urls.has(r))).toBe(true);
    expect(summary.header).toMatchObject({ name: 'Ana María López', allergies: ['Cashew nuts'] });
    expect(summary.header.bloodGroup).toBeTruthy();
    const dir = mkdtempSync(join(tmpdir(), 'medkey-ips-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'ips.json');
    writeFileSync(file, JSON.stringify(bundle));
    const report = await new Promise<[number, string]>((resolve) =>
      execFile(
        join(repoRoot, 'tools/py/bin/python'),
        [join(repoRoot, 'scripts/fhir_validate.py'), file],
        (error, stdout, stderr) => resolve([error ? 1 : 0, stdout + stderr]),
      ),
    );
    expect(report[0], report[1]).toBe(0);
    // No allergies recorded: the required section is still there, saying so.
    const empty = buildPatientSummary({ resources: [], name: 'Ana', contacts: [] });
    const emptySections = (empty.bundle as unknown as typeof bundle).entry[0]!.resource.section!;
    expect(emptySections.map((s) => Boolean(s.emptyReason))).toEqual([true, true, true]);

    const card = await createShareLink(vault, JSON.stringify(summary.bundle), {
      label: 'Emergency card',
      purpose: 'emergency',
    });
    const [code, out] = await receive(card.link, 'Emergency department, Hospital del Mar');
    expect(code).toBe(0);
    expect((JSON.parse(out) as { files: { content: unknown }[] }).files[0]!.content).toEqual(summary.bundle);
    expect((await vault.shareLinks()).find((l) => l.id === card.view.id)!.purpose).toBe('emergency');
  });
});
