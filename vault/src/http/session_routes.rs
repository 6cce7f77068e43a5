//! `/v1/auth/*`: SIWE nonce and login, refresh, logout.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::json::ApiJson;
use super::state::now_ms;
use super::{ApiError, AppState};
use crate::identity::Session;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The EIP-4361 message, exactly as signed.
    message: String,
    /// 65-byte signature, 0x-prefixed hex.
    signature: String,
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

pub async fn nonce(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"nonce": state.identity.issue_nonce(now_ms()).await?})))
}

pub async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<SessionBody>, ApiError> {
    let signature = alloy::hex::decode(body.signature.trim())
        .map_err(|_| ApiError::bad_request("malformed_login", "the signature is not hex"))?;
    Ok(Json(state.identity.login(&body.message, &signature, now_ms()).await?.into()))
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
