//! `/v1/auth/*`: SIWE nonce and login, refresh, logout.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use medkey_protocol::api::{LoginBody, Nonce, RefreshBody, SessionBody};

use super::client_ip::ClientIp;
use super::json::ApiJson;
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals};
use super::{ApiError, AppState};
use crate::audit_log::AuditEntry;
use crate::identity::{LoginError, MfaError, SecondFactor, Session};
use medkey_protocol::clock::now_ms;

pub fn second_factor(totp: Option<String>, recovery_code: Option<String>) -> Result<Option<SecondFactor>, ApiError> {
    match (totp, recovery_code) {
        (Some(_), Some(_)) => Err(ApiError::bad_request("malformed_mfa", "send `totp` or `recovery_code`, not both")),
        (Some(code), None) => Ok(Some(SecondFactor::Totp(code))),
        (None, Some(code)) => Ok(Some(SecondFactor::RecoveryCode(code))),
        (None, None) => Ok(None),
    }
}

impl From<Session> for SessionBody {
    fn from(s: Session) -> Self {
        Self {
            address: s.address,
            access_token: s.access_token,
            access_expires_at: s.access_expires_at,
            refresh_token: s.refresh_token,
            refresh_expires_at_ms: s.refresh_expires_at_ms,
        }
    }
}

/// A single-use SIWE nonce for the message to sign (valid 5 minutes unless configured otherwise).
#[utoipa::path(
    get,
    path = "/v1/auth/nonce",
    tag = "auth",
    responses(
        (status = 200, description = "A fresh nonce", body = Nonce),
        (status = 429, description = "rate_limited: too many sign-in requests from this IP", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
        (status = 503, description = "limits_unavailable / nonces_unavailable: the shared store is not answering",
            body = ErrorBody),
    ),
)]
pub async fn nonce(State(state): State<AppState>, ClientIp(ip): ClientIp) -> Result<Json<Nonce>, ApiError> {
    state.limits.login_attempt(ip).await?;
    let nonce = state.identity.issue_nonce(now_ms()).await?;
    Ok(Json(Nonce { nonce, uri: state.identity.origin().to_owned() }))
}

/// Signs in with a signed EIP-4361 (SIWE) message, plus a second factor if the account has one.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in: an access token and a refresh token", body = SessionBody),
        (status = 400, description = "malformed_login / malformed_mfa (both `totp` and `recovery_code`) / \
            mfa_not_enabled (a second factor sent for an account without one) / malformed_json / invalid_body",
            body = ErrorBody),
        (status = 401, description = "wrong_domain / wrong_uri / wrong_chain / login_expired / bad_signature / nonce_rejected / \
            mfa_required (send `totp` or `recovery_code` with the same signed message) / invalid_mfa_code",
            body = ErrorBody),
        JsonBodyRefusals,
        (status = 429, description = "rate_limited (per IP) / locked_out (too many failed sign-ins for this address \
            from this IP)", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
        (status = 503, description = "limits_unavailable / nonces_unavailable", body = ErrorBody),
    ),
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<SessionBody>, ApiError> {
    state.limits.login_attempt(ip).await?;
    let signature = alloy::hex::decode(body.signature.trim())
        .map_err(|_| ApiError::bad_request("malformed_login", "the signature is not hex"))?;
    // The claimed address, for the lockout; `login` parses and checks everything again.
    let claimed = body.message.parse::<siwe::Message>().ok().map(|m| alloy::primitives::Address::from(m.address));
    if let Some(address) = claimed {
        state.limits.login_allowed(address, ip).await?;
    }
    let factor = second_factor(body.totp, body.recovery_code)?;
    let result = state.identity.login(&body.message, &signature, factor.as_ref(), now_ms()).await;
    if let Some(address) = claimed
        && !matches!(result, Err(LoginError::Database(_) | LoginError::NoncesUnavailable(_) | LoginError::MfaRequired))
    {
        state.limits.login_result(address, ip, result.is_ok()).await?;
    }
    log_login(&state, claimed, &result).await?;
    Ok(Json(result?.into()))
}

/// Sign-ins go into the audit log: each success, and each wrong second factor after a valid
/// wallet signature (someone holds the account's key). Other failures prove nothing about who
/// sent them, so logging them would let anyone fill a patient's history.
async fn log_login(
    state: &AppState,
    claimed: Option<alloy::primitives::Address>,
    result: &Result<Session, LoginError>,
) -> Result<(), ApiError> {
    let entry = match (result, claimed) {
        (Ok(session), _) => crate::audit_log::stamped("login", session.address),
        (Err(LoginError::Mfa(err @ MfaError::InvalidCode)), Some(address)) => {
            AuditEntry { outcome: err.code().into(), ..crate::audit_log::stamped("login", address) }
        }
        _ => return Ok(()),
    };
    Ok(state.audit.append(&entry).await?)
}

/// Rotates a refresh token. Reusing a spent one ends its whole session family.
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new access token and refresh token", body = SessionBody),
        (status = 400, description = "malformed_json / invalid_body", body = ErrorBody),
        (status = 401, description = "invalid_refresh_token / refresh_token_reused (the session family is now \
            closed)", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
    ),
)]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<SessionBody>, ApiError> {
    Ok(Json(state.identity.refresh(&body.refresh_token, now_ms()).await?.into()))
}

/// Ends the session: its refresh token and every access token of its family stop working.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "malformed_json / invalid_body", body = ErrorBody),
        (status = 401, description = "invalid_refresh_token", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
    ),
)]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    state.identity.logout(&body.refresh_token, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
