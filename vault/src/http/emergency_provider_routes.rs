//! `/v1/account/emergency-providers`: the providers a patient chose for break-glass access. The
//! list only tells the patient's own clients whom to wrap emergency categories for; access
//! itself is still decided on chain (opt-in categories, a 4-hour emergency grant).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use medkey_protocol::api::{EmergencyProviders, ProvidersBody};

use super::auth::Caller;
use super::ids;
use super::json::ApiJson;
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::{ApiError, AppState};
use medkey_protocol::clock::now_ms;

/// More would be a sign of misuse: break-glass is for a few named emergency providers.
const MAX_PROVIDERS: usize = 50;

/// The caller's break-glass providers.
#[utoipa::path(
    get,
    path = "/v1/account/emergency-providers",
    tag = "sharing",
    operation_id = "list_emergency_providers",
    responses(
        (status = 200, description = "The caller's break-glass providers", body = EmergencyProviders),
        Unauthorized,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<EmergencyProviders>, ApiError> {
    Ok(Json(EmergencyProviders { providers: state.emergency_providers.list(caller.address).await? }))
}

/// Replaces the caller's break-glass providers.
#[utoipa::path(
    put,
    path = "/v1/account/emergency-providers",
    tag = "sharing",
    operation_id = "set_emergency_providers",
    request_body = ProvidersBody,
    responses(
        (status = 204, description = "Replaced"),
        (status = 400, description = "invalid_address / invalid_providers (more than 50, or repeated) / \
            malformed_json / invalid_body", body = ErrorBody),
        Unauthorized,
        JsonBodyRefusals,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ProvidersBody>,
) -> Result<StatusCode, ApiError> {
    if body.providers.len() > MAX_PROVIDERS {
        return Err(ApiError::bad_request("invalid_providers", format!("at most {MAX_PROVIDERS} providers")));
    }
    let providers = body.providers.iter().map(|p| ids::address(p)).collect::<Result<Vec<_>, _>>()?;
    if providers.iter().collect::<BTreeSet<_>>().len() != providers.len() {
        return Err(ApiError::bad_request("invalid_providers", "a provider is named twice"));
    }
    state.emergency_providers.replace(caller.address, &providers, now_ms()).await?;
    state.audit.append(&crate::audit_log::stamped("emergency_providers_set", caller.address)).await?;
    Ok(StatusCode::NO_CONTENT)
}
