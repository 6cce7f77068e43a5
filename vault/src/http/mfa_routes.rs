//! `/v1/auth/mfa`: enrol a TOTP second factor, see whether one is on, turn it off. Wrong codes
//! count toward the same per-(address, IP) lockout as failed sign-ins.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{Caller, ClientIp};
use super::json::ApiJson;
use super::session_routes::second_factor;
use super::state::now_ms;
use super::{ApiError, AppState};
use crate::identity::MfaError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// A code from the authenticator app.
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorBody {
    #[serde(default)]
    totp: Option<String>,
    #[serde(default)]
    recovery_code: Option<String>,
}

pub async fn status(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let enabled = state.identity.mfa_enabled(caller.address).await?;
    Ok(Json(json!({"enabled": enabled, "this_session": caller.mfa})))
}

/// A new TOTP secret, shown once; it is not required until `enable` sees a code from it.
pub async fn setup(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let enrollment = state.identity.begin_totp(caller.address, now_ms()).await?;
    Ok(Json(json!({"secret": enrollment.secret_base32, "otpauth_url": enrollment.otpauth_url})))
}

/// Turns the second factor on; answers with the recovery codes (shown once).
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<Value>, ApiError> {
    state.limits.login_allowed(caller.address, ip)?;
    let result = state.identity.enable_totp(caller.address, &body.code, now_ms()).await;
    count_attempt(&state, &caller, ip, &result);
    Ok(Json(json!({"recovery_codes": result?})))
}

/// Turns the second factor off; needs a current code or a recovery code.
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<FactorBody>,
) -> Result<StatusCode, ApiError> {
    state.limits.login_allowed(caller.address, ip)?;
    let factor = second_factor(body.totp, body.recovery_code)?
        .ok_or_else(|| ApiError::bad_request("malformed_mfa", "send `totp` or `recovery_code`"))?;
    let result = state.identity.disable_mfa(caller.address, &factor, now_ms()).await;
    count_attempt(&state, &caller, ip, &result);
    result?;
    Ok(StatusCode::NO_CONTENT)
}

fn count_attempt<T>(state: &AppState, caller: &Caller, ip: std::net::IpAddr, result: &Result<T, MfaError>) {
    match result {
        Ok(_) => state.limits.login_result(caller.address, ip, true),
        Err(MfaError::InvalidCode) => state.limits.login_result(caller.address, ip, false),
        Err(_) => {}
    }
}
