// Connecting to a provider as Medkey's apps do, against the SMART sandbox (oidc-provider in
// front of Medplum's FHIR router, seeded with US Core patients 355 and 85): discovery, a
// standalone patient launch through the sandbox's real sign-in pages (in Chromium), the pull,
// and the refusals that keep her records safe.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '@medkey/smart-sandbox';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  discoverSmart,
  finishLaunch,
  pullRecords,
  refreshSession,
  SmartError,
  startLaunch,
  type PendingLaunch,
} from '../src/index.ts';
import { chromiumLaunchOptions } from './browser.ts';

const REDIRECT = 'http://127.0.0.1:9/connected.html';
let sandbox: Sandbox;
let browser: Browser;

beforeAll(async () => {
  sandbox = await startSandbox({ redirectUris: [REDIRECT] });
  browser = await chromium.launch(chromiumLaunchOptions());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sandbox?.stop();
});

/** Signs in at the sandbox as `login` and gives consent; returns the address it sends her back to. */
async function signIn(launch: PendingLaunch, login: string): Promise<string> {
  const context = await browser.newContext();
  const page = await context.newPage();
  let back: string | undefined;
  await page.route(`${REDIRECT}**`, (route) => {
    back = route.request().url();
    return route.fulfill({ status: 200, body: 'back in Medkey' });
  });
  await page.goto(launch.authorizeUrl);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click(); // consent: "Continue"
  await page.waitForURL(`${REDIRECT}**`);
  await context.close();
  return back!;
}

const bundle355 = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../smart-sandbox/data/uscore_bundle_patient_355.json', import.meta.url)),
    'utf8',
  ),
) as { entry: { resource: { resourceType: string } }[] };

describe('connecting to a provider (SMART App Launch)', () => {
  it('discovers the sandbox, signs patient 355 in, and pulls every record of hers', async () => {
    const server = await discoverSmart(sandbox.fhirBase);
    expect(server.issuer).toBe(sandbox.url);
    const launch = await startLaunch(server, sandbox.clientId, REDIRECT);
    const authorize = new URL(launch.authorizeUrl);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('scope')).toBe('launch/patient openid fhirUser offline_access patient/*.rs');
    expect(authorize.searchParams.get('aud')).toBe(sandbox.fhirBase);

    const session = await finishLaunch(launch, await signIn(launch, '355'));
    expect(session.patient).toBe('355');
    expect(session.refreshToken).toBeTruthy();

    const steps: string[] = [];
    const pulled = await pullRecords(session, { onProgress: (p) => steps.push(p.step) });
    expect(pulled.failures).toEqual([]);
    expect(steps).toContain('conditions');
    const count = (list: { resourceType: string }[], type: string) =>
      list.filter((r) => r.resourceType === type).length;
    const source = bundle355.entry.map((e) => e.resource);
    for (const type of [
      'Patient',
      'Observation',
      'Condition',
      'DiagnosticReport',
      'DocumentReference',
      'Encounter',
      'MedicationRequest',
      'Immunization',
    ])
      expect(count(pulled.resources, type), type).toBe(count(source, type));
    // Practitioners and organisations come because records name them; patient 85's never do.
    expect(count(pulled.resources, 'Practitioner')).toBeGreaterThan(0);
    expect(pulled.resources.some((r) => r.resourceType === 'Patient' && r.id !== '355')).toBe(false);
    // Every document's file is in hand: inline, from the server's Binary (with her token), or
    // from another host (without it).
    const files = pulled.resources
      .filter((r) => r.resourceType === 'DocumentReference')
      .flatMap((r) =>
        (r.content as { attachment: { url?: string; data?: string; _data?: unknown } }[]).map((c) => c.attachment),
      );
    // (US Core's test data has one attachment that says its data is absent: it stays so.)
    expect(files.filter((a) => !a._data).every((a) => typeof a.data === 'string' && a.data.length > 0)).toBe(true);
    expect(files.some((a) => a.url?.startsWith('Binary/'))).toBe(true);
    expect(files.some((a) => a.url?.startsWith(sandbox.files.url))).toBe(true);
    expect(sandbox.files.requests.length).toBeGreaterThan(0);
    expect(sandbox.files.withAuthorization, 'her token never goes to another host').toEqual([]);
  }, 60_000);

  it('refuses an answer that does not carry the state it sent', async () => {
    const server = await discoverSmart(sandbox.fhirBase);
    const launch = await startLaunch(server, sandbox.clientId, REDIRECT);
    const back = new URL(await signIn(launch, '355'));
    back.searchParams.set('state', 'someone-elses');
    await expect(finishLaunch(launch, back.toString())).rejects.toMatchObject({ code: 'state_mismatch' });
  }, 60_000);

  it('refuses a server that offers only plain PKCE, and an address that is not https', async () => {
    const plainOnly: typeof fetch = async () =>
      new Response(
        JSON.stringify({
          authorization_endpoint: 'https://ehr.example/auth',
          token_endpoint: 'https://ehr.example/token',
          code_challenge_methods_supported: ['plain'],
        }),
      );
    await expect(discoverSmart('https://ehr.example/fhir', plainOnly)).rejects.toMatchObject({ code: 'no_pkce_s256' });
    await expect(discoverSmart('http://ehr.example/fhir')).rejects.toBeInstanceOf(SmartError);
  });

  it("keeps a token to its own patient: the sandbox refuses another patient's records", async () => {
    const server = await discoverSmart(sandbox.fhirBase);
    const launch = await startLaunch(server, sandbox.clientId, REDIRECT);
    const session = await finishLaunch(launch, await signIn(launch, '85'));
    const other = await fetch(`${sandbox.fhirBase}/Condition?patient=355`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    });
    expect(other.status).toBe(403);
    const read = await fetch(`${sandbox.fhirBase}/Patient/355`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    });
    expect(read.status).toBe(404);
  }, 60_000);

  it('pulls again only what changed since the cursor, and leaves out what came unchanged', async () => {
    const server = await discoverSmart(sandbox.fhirBase);
    const launch = await startLaunch(server, sandbox.clientId, REDIRECT);
    const session = await finishLaunch(launch, await signIn(launch, '85'));
    const first = await pullRecords(session);
    expect(first.resources.length).toBeGreaterThan(50);
    expect(first.sources.size).toBe(first.resources.length);
    expect(first.cursor, 'the newest meta.lastUpdated the server gave').toMatch(/^\d{4}-\d\d-\d\dT/);
    const known = new Map([...first.sources].map(([key, source]) => [key, source.sha256]));

    const quiet = await pullRecords(first.session, { since: first.cursor!, known });
    expect(quiet.resources, 'nothing changed: nothing comes').toEqual([]);
    expect(quiet.cursor).toBe(first.cursor);

    const added = await sandbox.put('85', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Body temperature' },
      subject: { reference: 'Patient/85' },
      valueQuantity: { value: 37.9, unit: 'Cel' },
    } as never);
    const next = await pullRecords(quiet.session, { since: quiet.cursor!, known });
    expect(next.resources.map((r) => `${r.resourceType}/${r.id}`)).toEqual([`Observation/${added.id}`]);
    expect(Date.parse(next.cursor!)).toBeGreaterThan(Date.parse(first.cursor!));
    expect(next.sources.get(`Observation/${added.id}`)?.sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);

  it('de-duplicates a full pull from a server that keeps no dates', async () => {
    const undated = await startSandbox({ redirectUris: [REDIRECT], quirks: { noLastUpdated: true } });
    try {
      const server = await discoverSmart(undated.fhirBase);
      const launch = await startLaunch(server, undated.clientId, REDIRECT);
      const first = await pullRecords(await finishLaunch(launch, await signIn(launch, '85')));
      expect(first.cursor, 'no dates: no cursor, so the next sync is a full pull').toBeUndefined();
      const known = new Map([...first.sources].map(([key, source]) => [key, source.sha256]));
      const again = await pullRecords(first.session, { known });
      expect(again.resources).toEqual([]);
      // Each search's resources came again, unchanged; the doctors and clinics they name are not
      // fetched again, since nothing new names them.
      const context = ['Medication', 'Practitioner', 'PractitionerRole', 'Organization', 'Location'];
      expect(again.unchanged).toBe(first.resources.filter((r) => !context.includes(r.resourceType)).length);
    } finally {
      await undated.stop();
    }
  }, 60_000);

  it('renews an access token that expires mid-pull, takes the rotated refresh token, and says "reconnect" when one is refused', async () => {
    // Also as some EHRs are: Observations searched by category only, and no meta.lastUpdated.
    const brief = await startSandbox({
      redirectUris: [REDIRECT],
      accessTokenSeconds: 2,
      quirks: { observationNeedsCategory: true, noLastUpdated: true },
    });
    try {
      const server = await discoverSmart(brief.fhirBase);
      const launch = await startLaunch(server, brief.clientId, REDIRECT);
      const first = await finishLaunch(launch, await signIn(launch, '355'));
      // Wait for the server itself to refuse the access token.
      const refused = async () =>
        (await fetch(`${brief.fhirBase}/Patient/355`, { headers: { authorization: `Bearer ${first.accessToken}` } }))
          .status;
      for (let i = 0; i < 100 && (await refused()) !== 401; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await refused()).toBe(401);
      const pulled = await pullRecords(first);
      expect(pulled.failures).toEqual([]);
      expect(pulled.resources.length).toBeGreaterThan(400);
      const observations = pulled.resources.filter((r) => r.resourceType === 'Observation');
      expect(observations.length, 'every Observation, by category').toBe(140);
      expect(pulled.resources.some((r) => (r.meta as { lastUpdated?: string } | undefined)?.lastUpdated)).toBe(false);
      expect(pulled.session.accessToken).not.toBe(first.accessToken);
      expect(pulled.session.refreshToken).toBeTruthy();
      expect(pulled.session.refreshToken, 'a public client’s refresh token is rotated').not.toBe(first.refreshToken);
      // The old refresh token was used once already: the server refuses it, and she is told to reconnect.
      const stale = refreshSession(first);
      await expect(stale).rejects.toBeInstanceOf(SmartError);
      await expect(stale).rejects.toThrow(/Reconnect/);
    } finally {
      await brief.stop();
    }
  }, 60_000);

  describe('an ID token that does not add up', () => {
    const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    /** The token endpoint's answer, with an ID token whose claims the test chooses (its signature is not what is checked here). */
    const tokenAnswer =
      (claims: Record<string, unknown>, patient = '355'): typeof fetch =>
      async () =>
        new Response(
          JSON.stringify({
            access_token: 'at',
            token_type: 'Bearer',
            expires_in: 300,
            scope: 'launch/patient openid fhirUser patient/*.rs',
            patient,
            id_token: `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}.c2lnbmF0dXJl`,
          }),
          { headers: { 'content-type': 'application/json' } },
        );

    async function finishWith(claims: (launch: PendingLaunch) => Record<string, unknown>, patient?: string) {
      const server = await discoverSmart(sandbox.fhirBase);
      const launch = await startLaunch(server, sandbox.clientId, REDIRECT);
      const back = `${REDIRECT}?code=c&state=${launch.state}&iss=${encodeURIComponent(server.issuer)}`;
      return finishLaunch(launch, back, tokenAnswer(claims(launch), patient));
    }
    const now = () => Math.floor(Date.now() / 1000);
    const good = (launch: PendingLaunch) => ({
      iss: launch.server.issuer,
      aud: launch.clientId,
      sub: '355',
      nonce: launch.nonce,
      iat: now(),
      exp: now() + 300,
      fhirUser: `${launch.server.fhirBase}/Patient/355`,
    });

    it('is accepted when everything agrees (the control case)', async () => {
      await expect(finishWith(good)).resolves.toMatchObject({ patient: '355' });
    });

    it('is refused from another issuer', async () => {
      await expect(finishWith((l) => ({ ...good(l), iss: 'https://someone-else.example' }))).rejects.toMatchObject({
        code: 'id_token',
      });
    });

    it('is refused for another app (audience)', async () => {
      await expect(finishWith((l) => ({ ...good(l), aud: 'another-app' }))).rejects.toMatchObject({ code: 'id_token' });
    });

    it('is refused for a replayed sign-in (nonce)', async () => {
      await expect(finishWith((l) => ({ ...good(l), nonce: 'old' }))).rejects.toMatchObject({ code: 'id_token' });
    });

    it("is refused when the signed-in person is not the token's patient", async () => {
      await expect(finishWith(good, '85')).rejects.toMatchObject({ code: 'wrong_patient' });
      await expect(
        finishWith((l) => ({ ...good(l), fhirUser: `${l.server.fhirBase}/RelatedPerson/355` })),
      ).rejects.toMatchObject({ code: 'wrong_patient' });
    });
  });
});
