// A provider's FHIR server as SMART App Launch describes it: discovered from its
// `.well-known/smart-configuration`, and refused, with the reason in words, when it cannot give a
// patient's app what Medkey needs (a public client with PKCE S256, a patient launch).

/** Why connecting to a provider failed, in words for her. */
export class SmartError extends Error {
  constructor(
    readonly code:
      | 'unreachable'
      | 'not_smart'
      | 'no_pkce_s256'
      | 'no_patient_launch'
      | 'state_mismatch'
      | 'refused'
      | 'id_token'
      | 'wrong_patient'
      | 'token',
    message: string,
  ) {
    super(message);
    this.name = 'SmartError';
  }
}

export interface SmartServer {
  /** The FHIR base URL, without a trailing slash. */
  fhirBase: string;
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint?: string;
  scopesSupported: string[];
  capabilities: string[];
}

const isUrl = (v: unknown): v is string => typeof v === 'string' && URL.canParse(v);

/** A loopback server (a sandbox, a test) may speak plain HTTP; anything else must be HTTPS. */
export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

/** Reads and checks a server's SMART configuration. `fetch` is the browser's (or Node's). */
export async function discoverSmart(fhirBase: string, fetcher: typeof fetch = fetch): Promise<SmartServer> {
  const base = fhirBase.trim().replace(/\/+$/, '');
  if (!isUrl(base) || !/^https?:$/.test(new URL(base).protocol))
    throw new SmartError(
      'not_smart',
      'That is not a web address. It starts with https:// and ends with the FHIR path, e.g. https://fhir.example.org/api/FHIR/R4.',
    );
  if (new URL(base).protocol !== 'https:' && !isLoopback(base))
    throw new SmartError(
      'not_smart',
      'This provider’s address does not use https://, so your records would travel unprotected. Check the address.',
    );
  let answer: Response;
  try {
    answer = await fetcher(`${base}/.well-known/smart-configuration`, { headers: { accept: 'application/json' } });
  } catch {
    throw new SmartError(
      'unreachable',
      'This browser could not reach that provider. It may be offline, or it may not let web apps connect (no CORS). Check the address, or connect with the Medkey command line instead.',
    );
  }
  if (!answer.ok)
    throw new SmartError(
      'not_smart',
      `That address does not offer SMART on FHIR sign-in (it answered ${answer.status}). Check it with your provider.`,
    );
  const config = (await answer.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!config || !isUrl(config.authorization_endpoint) || !isUrl(config.token_endpoint))
    throw new SmartError('not_smart', 'That provider’s SMART configuration has no sign-in or token address.');
  const methods = Array.isArray(config.code_challenge_methods_supported) ? config.code_challenge_methods_supported : [];
  if (!methods.includes('S256'))
    throw new SmartError(
      'no_pkce_s256',
      'That provider does not offer the protected sign-in a public app needs (PKCE with S256), so Medkey will not connect to it.',
    );
  const capabilities = Array.isArray(config.capabilities)
    ? config.capabilities.filter((c): c is string => typeof c === 'string')
    : [];
  if (capabilities.length && !capabilities.includes('launch-standalone'))
    throw new SmartError('no_patient_launch', 'That provider does not let patients sign in from an app of their own.');
  return {
    fhirBase: base,
    issuer: typeof config.issuer === 'string' ? config.issuer : new URL(config.authorization_endpoint).origin,
    authorizationEndpoint: config.authorization_endpoint,
    tokenEndpoint: config.token_endpoint,
    ...(isUrl(config.revocation_endpoint) && { revocationEndpoint: config.revocation_endpoint }),
    scopesSupported: Array.isArray(config.scopes_supported)
      ? config.scopes_supported.filter((s): s is string => typeof s === 'string')
      : [],
    capabilities,
  };
}

/**
 * The scopes Medkey asks for: a patient launch with a refresh token, and read access to her
 * records, in SMART v2's granular form where the server advertises it, v1's otherwise.
 */
export function scopesFor(server: SmartServer): string {
  const read = server.scopesSupported.includes('patient/*.rs') ? 'patient/*.rs' : 'patient/*.read';
  return ['launch/patient', 'openid', 'fhirUser', 'offline_access', read].join(' ');
}
