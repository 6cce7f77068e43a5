//! `/v1/account/identity-sharing`: whether the providers she shares with see who she is (her own
//! Patient record). Shown by default; hidden from a provider on her word. The release itself is
//! decided and logged in `crate::release` like any other (see `crate::identity_sharing`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use medkey_protocol::api::{IdentitySharing, IdentityShownBody};

use super::auth::Caller;
use super::ids;
use super::json::ApiJson;
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::{ApiError, AppState};
use crate::audit_log::{AuditEntry, stamped};
use medkey_protocol::clock::now_ms;

/// The providers the caller hid who she is from.
#[utoipa::path(
    get,
    path = "/v1/account/identity-sharing",
    tag = "sharing",
    operation_id = "get_identity_sharing",
    responses(
        (status = 200, description = "The providers she hid who she is from", body = IdentitySharing),
        Unauthorized,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn get(State(state): State<AppState>, caller: Caller) -> Result<Json<IdentitySharing>, ApiError> {
    Ok(Json(IdentitySharing { hidden_from: state.identity_sharing.hidden_from(caller.address).await? }))
}

/// Shows or hides who the caller is from one provider; logged in her audit log.
#[utoipa::path(
    put,
    path = "/v1/account/identity-sharing/{provider}",
    tag = "sharing",
    operation_id = "set_identity_sharing",
    params(("provider" = String, Path, description = "The provider's address (0x-prefixed hex)")),
    request_body = IdentityShownBody,
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "invalid_address / invalid_request (her own address) / malformed_json / \
            invalid_body", body = ErrorBody),
        Unauthorized,
        JsonBodyRefusals,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn set(
    State(state): State<AppState>,
    caller: Caller,
    Path(provider): Path<String>,
    ApiJson(body): ApiJson<IdentityShownBody>,
) -> Result<StatusCode, ApiError> {
    let provider = ids::address(provider.trim())?;
    if provider == caller.address {
        return Err(ApiError::bad_request("invalid_request", "you always see who you are"));
    }
    state.identity_sharing.set(caller.address, provider, !body.shown, now_ms()).await?;
    let kind = if body.shown { "identity_shown" } else { "identity_hidden" };
    let entry = AuditEntry { patient: Some(caller.address), ..stamped(kind, caller.address) };
    state.audit.append(&entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
