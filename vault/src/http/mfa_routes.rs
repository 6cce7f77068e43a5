//! `/v1/auth/mfa`: enrol a TOTP second factor, see whether one is on, turn it off. Wrong codes
//! count toward the same per-(address, IP) lockout as failed sign-ins.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use medkey_protocol::api::{CodeBody, FactorBody, MfaStatus, RecoveryCodes, TotpSetup};

use super::auth::Caller;
use super::client_ip::ClientIp;
use super::json::ApiJson;
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::session_routes::second_factor;
use super::{ApiError, AppState};
use crate::audit_log::AuditEntry;
use crate::identity::MfaError;
use medkey_protocol::clock::now_ms;

/// Whether the account has a second factor, and whether this session used one.
#[utoipa::path(
    get,
    path = "/v1/auth/mfa",
    tag = "auth",
    operation_id = "mfa_status",
    responses(
        (status = 200, description = "The second factor's state", body = MfaStatus),
        Unauthorized,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn status(State(state): State<AppState>, caller: Caller) -> Result<Json<MfaStatus>, ApiError> {
    let enabled = state.identity.mfa_enabled(caller.address).await?;
    Ok(Json(MfaStatus { enabled, this_session: caller.mfa }))
}

/// A new TOTP secret, shown once; it is not required until `enable` sees a code from it.
#[utoipa::path(
    post,
    path = "/v1/auth/mfa/setup",
    tag = "auth",
    operation_id = "mfa_setup",
    responses(
        (status = 200, description = "A new pending TOTP secret (replaces a pending one)", body = TotpSetup),
        Unauthorized,
        (status = 409, description = "mfa_already_enabled: disable it first", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn setup(State(state): State<AppState>, caller: Caller) -> Result<Json<TotpSetup>, ApiError> {
    let enrollment = state.identity.begin_totp(caller.address, now_ms()).await?;
    Ok(Json(TotpSetup { secret: enrollment.secret_base32, otpauth_url: enrollment.otpauth_url }))
}

/// Turns the second factor on; answers with the recovery codes (shown once).
#[utoipa::path(
    post,
    path = "/v1/auth/mfa/enable",
    tag = "auth",
    operation_id = "mfa_enable",
    request_body = CodeBody,
    responses(
        (status = 200, description = "The factor is on: ten recovery codes, shown once", body = RecoveryCodes),
        (status = 400, description = "malformed_json / invalid_body", body = ErrorBody),
        (status = 401, description = "missing_token / invalid_token / token_expired / session_closed / \
            invalid_mfa_code (counts toward the sign-in lockout)", body = ErrorBody),
        (status = 409, description = "mfa_not_started (call setup first) / mfa_already_enabled", body = ErrorBody),
        JsonBodyRefusals,
        (status = 429, description = "locked_out: too many failed sign-ins or codes for this address from this IP",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
        (status = 503, description = "limits_unavailable", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    state.limits.login_allowed(caller.address, ip).await?;
    let result = state.identity.enable_totp(caller.address, &body.code, now_ms()).await;
    count_attempt(&state, &caller, ip, &result).await?;
    log_change(&state, "mfa_enabled", &caller, &result).await?;
    Ok(Json(RecoveryCodes { recovery_codes: result? }))
}

/// Turns the second factor off; needs a current code or a recovery code.
#[utoipa::path(
    post,
    path = "/v1/auth/mfa/disable",
    tag = "auth",
    operation_id = "mfa_disable",
    request_body = FactorBody,
    responses(
        (status = 204, description = "The factor is off and its recovery codes are void"),
        (status = 400, description = "malformed_mfa (send exactly one of `totp` and `recovery_code`) / \
            malformed_json / invalid_body", body = ErrorBody),
        (status = 401, description = "missing_token / invalid_token / token_expired / session_closed / \
            invalid_mfa_code (counts toward the sign-in lockout)", body = ErrorBody),
        (status = 409, description = "mfa_not_enabled", body = ErrorBody),
        JsonBodyRefusals,
        (status = 429, description = "locked_out: too many failed sign-ins or codes for this address from this IP",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
        (status = 503, description = "limits_unavailable", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<FactorBody>,
) -> Result<StatusCode, ApiError> {
    state.limits.login_allowed(caller.address, ip).await?;
    let factor = second_factor(body.totp, body.recovery_code)?
        .ok_or_else(|| ApiError::bad_request("malformed_mfa", "send `totp` or `recovery_code`"))?;
    let result = state.identity.disable_mfa(caller.address, &factor, now_ms()).await;
    count_attempt(&state, &caller, ip, &result).await?;
    log_change(&state, "mfa_disabled", &caller, &result).await?;
    result?;
    Ok(StatusCode::NO_CONTENT)
}

/// A second factor turned on or off, or a wrong code in the attempt, goes into the account's
/// audit history: the patient sees when its sign-in protection changed.
async fn log_change<T>(
    state: &AppState,
    kind: &str,
    caller: &Caller,
    result: &Result<T, MfaError>,
) -> Result<(), ApiError> {
    let outcome = match result {
        Ok(_) => "ok",
        Err(err @ MfaError::InvalidCode) => err.code(),
        Err(_) => return Ok(()),
    };
    let entry = AuditEntry { outcome: outcome.into(), ..crate::audit_log::stamped(kind, caller.address) };
    Ok(state.audit.append(&entry).await?)
}

async fn count_attempt<T>(
    state: &AppState,
    caller: &Caller,
    ip: std::net::IpAddr,
    result: &Result<T, MfaError>,
) -> Result<(), ApiError> {
    match result {
        Ok(_) => state.limits.login_result(caller.address, ip, true).await?,
        Err(MfaError::InvalidCode) => state.limits.login_result(caller.address, ip, false).await?,
        Err(_) => {}
    }
    Ok(())
}
