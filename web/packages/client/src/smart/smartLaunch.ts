// A standalone patient launch (SMART App Launch 2.x) as a public client, on oauth4webapi: PKCE
// S256, a state and a nonce checked on the way back, the ID token's issuer, audience and nonce
// checked, and its fhirUser matched with the patient the token is for. Nothing here is stored:
// the pending launch stays in the page's memory while the sign-in window is open.
import * as oauth from 'oauth4webapi';
import { isLoopback, SmartError, scopesFor, type SmartServer } from './smartServer.ts';

export interface PendingLaunch {
  server: SmartServer;
  clientId: string;
  redirectUri: string;
  state: string;
  nonce: string;
  verifier: string;
  /** Where to send her to sign in. */
  authorizeUrl: string;
}

/** What a completed launch gives: tokens for her records at this server (kept in memory only). */
export interface SmartSession {
  server: SmartServer;
  clientId: string;
  patient: string;
  accessToken: string;
  /** When the access token stops working (ms since the epoch). */
  expiresAt: number;
  refreshToken?: string;
  scope: string;
}

/** The server as oauth4webapi takes it (the launch and the refresh alike). */
export const authServerOf = (server: SmartServer): oauth.AuthorizationServer => ({
  issuer: server.issuer,
  authorization_endpoint: server.authorizationEndpoint,
  token_endpoint: server.tokenEndpoint,
  ...(server.revocationEndpoint && { revocation_endpoint: server.revocationEndpoint }),
});

/** Plain HTTP is allowed for a loopback server only (a sandbox); oauth4webapi refuses it otherwise. */
export const requestOptions = (server: SmartServer) =>
  isLoopback(server.tokenEndpoint) ? { [oauth.allowInsecureRequests]: true } : {};

export async function startLaunch(server: SmartServer, clientId: string, redirectUri: string): Promise<PendingLaunch> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(server.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: scopesFor(server),
    state,
    nonce,
    aud: server.fhirBase,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  return { server, clientId, redirectUri, state, nonce, verifier, authorizeUrl: url.toString() };
}

/** Completes the launch from the address the sign-in window came back to. */
export async function finishLaunch(
  pending: PendingLaunch,
  callbackUrl: string,
  fetcher: typeof fetch = fetch,
): Promise<SmartSession> {
  const as = authServerOf(pending.server);
  const client: oauth.Client = { client_id: pending.clientId };
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client, new URL(callbackUrl), pending.state);
  } catch (e) {
    if (e instanceof oauth.AuthorizationResponseError)
      throw new SmartError('refused', `The provider did not let Medkey in: ${e.error_description ?? e.error}.`);
    throw new SmartError(
      'state_mismatch',
      'The answer from the sign-in window was not for this request, so it was ignored. Try connecting again.',
    );
  }
  const options = { ...requestOptions(pending.server), [oauth.customFetch]: fetcher };
  let tokens: oauth.TokenEndpointResponse;
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      pending.redirectUri,
      pending.verifier,
      options,
    );
    tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: pending.nonce,
      requireIdToken: true,
    });
  } catch (e) {
    if (e instanceof TypeError)
      throw new SmartError(
        'unreachable',
        'This browser could not finish signing in: the provider does not let web apps exchange tokens (no CORS). Connect with the Medkey command line instead.',
      );
    throw new SmartError(
      'id_token',
      `The provider’s answer could not be trusted, so nothing was used: ${(e as Error).message}`,
    );
  }
  const patient = typeof tokens.patient === 'string' ? tokens.patient : undefined;
  if (!patient)
    throw new SmartError(
      'wrong_patient',
      'The provider did not say whose records these are, so Medkey will not read them.',
    );
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  const fhirUser = typeof claims?.fhirUser === 'string' ? claims.fhirUser : undefined;
  // The signed-in person must be the patient the token is for (not, say, a relative's record).
  if (!fhirUser || !/(^|\/)Patient\/[^/]+$/.test(fhirUser) || fhirUser.split('/').pop() !== patient)
    throw new SmartError(
      'wrong_patient',
      'The account that signed in is not the patient this access is for, so Medkey will not read these records.',
    );
  return sessionFrom(pending.server, pending.clientId, tokens, patient);
}

export function sessionFrom(
  server: SmartServer,
  clientId: string,
  tokens: oauth.TokenEndpointResponse,
  patient: string,
): SmartSession {
  return {
    server,
    clientId,
    patient,
    accessToken: tokens.access_token,
    expiresAt: Date.now() + (tokens.expires_in ?? 300) * 1000,
    ...(tokens.refresh_token && { refreshToken: tokens.refresh_token }),
    scope: tokens.scope ?? '',
  };
}
