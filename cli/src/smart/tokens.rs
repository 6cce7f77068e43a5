//! The OAuth side of a connection, on the `oauth2` crate: the client as a SMART server describes
//! it, the token response with SMART's `patient` beside the token, a refresh (a rotated refresh
//! token replaces the old one) and a revocation (RFC 7009).

use anyhow::Context;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, ClientId, EndpointMaybeSet, EndpointNotSet, EndpointSet, ExtraTokenFields, RefreshToken, RevocationUrl,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::server::{SmartServer, is_loopback};

/// What a SMART token response adds: the patient the token is for, and the ID token.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SmartFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
impl ExtraTokenFields for SmartFields {}

pub type SmartTokens = StandardTokenResponse<SmartFields, BasicTokenType>;

pub type SmartClient = oauth2::Client<
    BasicErrorResponse,
    SmartTokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointSet,
>;

/// Tokens for her records at one server (kept in memory; the refresh token is sealed before it
/// leaves this machine).
#[derive(Clone, Debug)]
pub struct Session {
    pub server: SmartServer,
    pub client_id: String,
    pub patient: String,
    pub access_token: String,
    /// When the access token stops working.
    pub expires_at: std::time::Instant,
    pub refresh_token: Option<String>,
    pub scope: String,
}

pub fn client(server: &SmartServer, client_id: &str) -> anyhow::Result<SmartClient> {
    let revocation = server.revocation_endpoint.clone().map(RevocationUrl::new).transpose()?;
    Ok(oauth2::Client::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(AuthUrl::new(server.authorization_endpoint.clone())?)
        .set_token_uri(TokenUrl::new(server.token_endpoint.clone())?)
        .set_revocation_url_option(revocation))
}

/// The HTTP client the OAuth calls go through: never following redirects (a token endpoint that
/// redirects is refused), plain HTTP only to loopback.
pub fn oauth_http(server: &SmartServer) -> anyhow::Result<reqwest::Client> {
    let token = url::Url::parse(&server.token_endpoint)?;
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .https_only(!is_loopback(&token))
        .build()?)
}

/// A session from a token response, for `patient`.
pub fn session_from(server: &SmartServer, client_id: &str, tokens: &SmartTokens, patient: String) -> Session {
    let lifetime = tokens.expires_in().unwrap_or(std::time::Duration::from_secs(300));
    Session {
        server: server.clone(),
        client_id: client_id.to_owned(),
        patient,
        access_token: tokens.access_token().secret().clone(),
        expires_at: std::time::Instant::now() + lifetime,
        refresh_token: tokens.refresh_token().map(|t| t.secret().clone()),
        scope: tokens.scopes().map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")).unwrap_or_default(),
    }
}

/// A refused refresh token: the connection needs her to sign in again.
#[derive(Debug, thiserror::Error)]
#[error("{host} no longer accepts Medkey's sign-in; reconnect to it (medkey connect add {fhir_base})")]
pub struct ReconnectNeeded {
    pub host: String,
    pub fhir_base: String,
}

/// A new access token from the refresh token; a rotated refresh token replaces the old one.
pub async fn refresh(session: &Session) -> anyhow::Result<Session> {
    let refused = || {
        let host = url::Url::parse(&session.server.fhir_base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        anyhow::Error::new(ReconnectNeeded { host, fhir_base: session.server.fhir_base.clone() })
    };
    let Some(refresh_token) = &session.refresh_token else { return Err(refused()) };
    let http = oauth_http(&session.server)?;
    let tokens = client(&session.server, &session.client_id)?
        .exchange_refresh_token(&RefreshToken::new(refresh_token.clone()))
        .request_async(&|request| send(&http, request))
        .await
        .map_err(|_| refused())?;
    let mut next = session_from(&session.server, &session.client_id, &tokens, session.patient.clone());
    if next.refresh_token.is_none() {
        next.refresh_token = session.refresh_token.clone();
    }
    Ok(next)
}

/// Asks the provider to forget the refresh token; `Ok(false)` when it offers no way to.
pub async fn revoke(session: &Session) -> anyhow::Result<bool> {
    let Some(refresh_token) = &session.refresh_token else { return Ok(false) };
    if session.server.revocation_endpoint.is_none() {
        return Ok(false);
    }
    let http = oauth_http(&session.server)?;
    client(&session.server, &session.client_id)?
        .revoke_token(StandardRevocableToken::RefreshToken(RefreshToken::new(refresh_token.clone())))
        .context("the provider's revocation address")?
        .request_async(&|request| send(&http, request))
        .await
        .map_err(|err| anyhow::anyhow!("the provider did not revoke the token: {err}"))?;
    Ok(true)
}

/// One OAuth request through reqwest (the `oauth2` crate's HTTP interface).
pub async fn send(http: &reqwest::Client, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let mut builder = http.request(parts.method, parts.uri.to_string()).body(body);
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await?;
    let mut answer = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    Ok(answer.body(response.bytes().await?.to_vec())?)
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Reqwest(#[from] reqwest::Error),
    #[error(transparent)]
    Http(#[from] oauth2::http::Error),
}
