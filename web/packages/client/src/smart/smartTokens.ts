// The tokens of a connection after the launch: a new access token from the refresh token (a
// rotated refresh token replacing the old one), and the refresh token revoked at disconnect.
import * as oauth from 'oauth4webapi';
import { authServerOf, requestOptions, sessionFrom, type SmartSession } from './smartLaunch.ts';
import { SmartError } from './smartServer.ts';

/** A new access token from the refresh token; a rotated refresh token replaces the old one. */
export async function refreshSession(session: SmartSession, fetcher: typeof fetch = fetch): Promise<SmartSession> {
  if (!session.refreshToken)
    throw new SmartError('token', 'Your sign-in at this provider has expired. Reconnect to it.');
  const as = authServerOf(session.server);
  const client: oauth.Client = { client_id: session.clientId };
  try {
    const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), session.refreshToken, {
      ...requestOptions(session.server),
      [oauth.customFetch]: fetcher,
    });
    const tokens = await oauth.processRefreshTokenResponse(as, client, response);
    const next = sessionFrom(session.server, session.clientId, tokens, session.patient);
    return next.refreshToken ? next : { ...next, ...(session.refreshToken && { refreshToken: session.refreshToken }) };
  } catch {
    throw new SmartError('token', 'This provider no longer accepts Medkey’s sign-in. Reconnect to it.');
  }
}

/**
 * Tells the provider to forget the refresh token (RFC 7009), where it has a revocation endpoint.
 * Returns whether it was revoked; a provider without the endpoint, or one that cannot be reached,
 * answers false and the caller says so (the token is deleted here either way).
 */
export async function revokeRefreshToken(session: SmartSession, fetcher: typeof fetch = fetch): Promise<boolean> {
  if (!session.refreshToken || !session.server.revocationEndpoint) return false;
  const as = authServerOf(session.server);
  try {
    const response = await oauth.revocationRequest(
      as,
      { client_id: session.clientId },
      oauth.None(),
      session.refreshToken,
      {
        ...requestOptions(session.server),
        [oauth.customFetch]: fetcher,
        additionalParameters: { token_type_hint: 'refresh_token' },
      },
    );
    await oauth.processRevocationResponse(response);
    return true;
  } catch {
    return false;
  }
}
