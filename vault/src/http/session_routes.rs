//! `/v1/auth/*`: SIWE nonce and login, refresh, logout.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::ClientIp;
use super::json::ApiJson;
use super::state::now_ms;
use super::{ApiError, AppState};
use crate::identity::{LoginError, SecondFactor, Session};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The EIP-4361 message, exactly as signed.
    message: String,
    /// 65-byte signature, 0x-prefixed hex.
    signature: String,
    /// The current TOTP code, for an account with a second factor.
    #[serde(default)]
    totp: Option<String>,
    /// Or one of its unused recovery codes.
    #[serde(default)]
    recovery_code: Option<String>,
}

/// At most one second factor per request.
pub fn second_factor(totp: Option<String>, recovery_code: Option<String>) -> Result<Option<SecondFactor>, ApiError> {
    match (totp, recovery_code) {
        (Some(_), Some(_)) => Err(ApiError::bad_request("malformed_mfa", "send `totp` or `recovery_code`, not both")),
        (Some(code), None) => Ok(Some(SecondFactor::Totp(code))),
        (None, Some(code)) => Ok(Some(SecondFactor::RecoveryCode(code))),
        (None, None) => Ok(None),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

#[derive(Serialize)]
pub struct SessionBody {
    address: String,
    access_token: String,
    access_expires_at: u64,
    refresh_token: String,
    refresh_expires_at_ms: u64,
}

impl From<Session> for SessionBody {
    fn from(s: Session) -> Self {
        Self {
            address: s.address.to_string(),
            access_token: s.access_token,
            access_expires_at: s.access_expires_at,
            refresh_token: s.refresh_token,
            refresh_expires_at_ms: s.refresh_expires_at_ms,
        }
    }
}

pub async fn nonce(State(state): State<AppState>, ClientIp(ip): ClientIp) -> Result<Json<Value>, ApiError> {
    state.limits.login_attempt(ip)?;
    Ok(Json(json!({"nonce": state.identity.issue_nonce(now_ms()).await?})))
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<SessionBody>, ApiError> {
    state.limits.login_attempt(ip)?;
    let signature = alloy::hex::decode(body.signature.trim())
        .map_err(|_| ApiError::bad_request("malformed_login", "the signature is not hex"))?;
    // The claimed address, for the lockout; `login` parses and checks everything again.
    let claimed = body.message.parse::<siwe::Message>().ok().map(|m| alloy::primitives::Address::from(m.address));
    if let Some(address) = claimed {
        state.limits.login_allowed(address, ip)?;
    }
    let factor = second_factor(body.totp, body.recovery_code)?;
    let result = state.identity.login(&body.message, &signature, factor.as_ref(), now_ms()).await;
    if let Some(address) = claimed
        && !matches!(result, Err(LoginError::Database(_) | LoginError::MfaRequired))
    {
        state.limits.login_result(address, ip, result.is_ok());
    }
    Ok(Json(result?.into()))
}

pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<SessionBody>, ApiError> {
    Ok(Json(state.identity.refresh(&body.refresh_token, now_ms()).await?.into()))
}

pub async fn logout(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    state.identity.logout(&body.refresh_token, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
