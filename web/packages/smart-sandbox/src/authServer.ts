// The sandbox's authorization server: oidc-provider (a certified OpenID Provider) configured as
// SMART App Launch asks of an EHR for a standalone patient launch. Public clients only, PKCE
// (oidc-provider accepts S256 alone), refresh tokens rotated on each use, `fhirUser` in the ID
// token and `patient` beside the access token. Its login and consent pages are oidc-provider's
// development interactions: a test patient signs in with her id (e.g. "355") and any password.
import Provider, { type Configuration } from 'oidc-provider';

/** The client id of Medkey's command line at the sandbox. */
export const CLI_CLIENT_ID = 'medkey-cli';

export const SCOPES = ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/*.rs', 'patient/*.read'];

export interface AuthOptions {
  issuer: string;
  fhirBase: string;
  clientId: string;
  redirectUris: string[];
  patients: () => string[];
  /** Seconds an access token lives (short, to test a token expiring mid-sync). */
  accessTokenSeconds?: number;
  /** Refresh tokens handed out, and those since refused (as an EHR does when one expires). */
  refreshTokens: { issued: Set<string>; refused: Set<string> };
}

export function authServer(options: AuthOptions): Provider {
  const configuration: Configuration = {
    clients: [
      {
        client_id: options.clientId,
        token_endpoint_auth_method: 'none',
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      // The command line (`medkey connect`): a native app on a loopback redirect, any port (RFC 8252).
      {
        client_id: CLI_CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    scopes: SCOPES,
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    // The ID token carries fhirUser itself (SMART reads it there, not from userinfo).
    conformIdTokenClaims: false,
    extraParams: ['aud', 'launch'],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
    ttl: { AccessToken: options.accessTokenSeconds ?? 3600 },
    cookies: { keys: ['medkey-sandbox-only'] },
    async findAccount(_ctx, id) {
      if (!options.patients().includes(id)) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, fhirUser: `${options.fhirBase}/Patient/${id}` }),
      };
    },
  };
  const provider = new Provider(options.issuer, configuration);
  // A refused refresh token is one the refresh grant cannot find: it answers invalid_grant.
  const refreshTokens = provider.RefreshToken;
  const find = refreshTokens.find.bind(refreshTokens);
  refreshTokens.find = (async (value: string, opts?: object) =>
    options.refreshTokens.refused.has(value) ? undefined : find(value, opts)) as typeof refreshTokens.find;

  provider.use(async (ctx, next) => {
    // OpenID Connect keeps offline_access only with prompt=consent; SMART servers grant it on the
    // scope alone, so the sandbox asks for consent itself when a client wants a refresh token.
    if (ctx.path === '/auth' && ctx.method === 'GET') {
      const scope = String(ctx.query.scope ?? '').split(' ');
      if (scope.includes('offline_access') && !ctx.query.prompt) ctx.query = { ...ctx.query, prompt: 'consent' };
    }
    await next();
    // SMART's launch context: the patient the token is for, beside the token.
    if (ctx.oidc?.route === 'token' && ctx.status === 200) {
      const body = ctx.body as { access_token?: string } & Record<string, unknown>;
      const token = body.access_token ? await provider.AccessToken.find(body.access_token) : undefined;
      if (token?.accountId) ctx.body = { ...body, patient: token.accountId };
      if (typeof body.refresh_token === 'string') options.refreshTokens.issued.add(body.refresh_token);
    }
  });
  return provider;
}

/** The patient and scope an access token was issued for, or undefined if unknown or expired. */
export async function grantOf(
  provider: Provider,
  token: string,
): Promise<{ patient: string; scope: string } | undefined> {
  const found = await provider.AccessToken.find(token);
  if (!found || found.isExpired || !found.accountId) return undefined;
  return { patient: found.accountId, scope: found.scope ?? '' };
}
