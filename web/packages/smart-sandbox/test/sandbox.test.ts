// The sandbox behaves as SMART App Launch asks of an EHR: discovery and metadata open to any
// origin, the token endpoint and the API to registered origins only, no API without a token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.ts';

const APP = 'http://127.0.0.1:9';
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ redirectUris: [`${APP}/connected.html`] });
}, 60_000);
afterAll(() => sandbox?.stop());

const allowed = async (url: string, origin: string, method = 'GET') =>
  (await fetch(url, { method, headers: { origin } })).headers.get('access-control-allow-origin');

describe('the SMART sandbox', () => {
  it('opens discovery and metadata to any origin, and names only PKCE S256', async () => {
    expect(await allowed(`${sandbox.fhirBase}/.well-known/smart-configuration`, 'http://elsewhere.test')).toBe('*');
    expect(await allowed(`${sandbox.fhirBase}/metadata`, 'http://elsewhere.test')).toBe('*');
    const config = (await (await fetch(`${sandbox.fhirBase}/.well-known/smart-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(config.code_challenge_methods_supported).toEqual(['S256']);
    expect(config.capabilities).toContain('launch-standalone');
  });

  it('lets only the registered app’s origin call the API and the token endpoint from a browser', async () => {
    expect(await allowed(`${sandbox.fhirBase}/Patient/355`, APP, 'OPTIONS')).toBe(APP);
    expect(await allowed(`${sandbox.fhirBase}/Patient/355`, 'http://elsewhere.test', 'OPTIONS')).toBeNull();
    // A preflight cannot name the client, so the token endpoint decides on the request itself.
    const token = (origin: string) =>
      fetch(`${sandbox.url}/token`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: sandbox.clientId, refresh_token: 'none' }),
      }).then((r) => r.headers.get('access-control-allow-origin'));
    expect(await token(APP)).toBe(APP);
    expect(await token('http://elsewhere.test')).toBeNull();
  });

  it('answers nothing without a token, and serves both patients’ data', async () => {
    const response = await fetch(`${sandbox.fhirBase}/Condition?patient=355`);
    expect(response.status).toBe(401);
    expect(sandbox.patients).toEqual(['355', '85']);
  });
});
