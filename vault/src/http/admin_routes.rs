//! `/v1/admin/…`: the registrar's side of the directory. Only accounts that hold a registry role
//! on chain (as the vault's mirror of the role events shows) get anything; every call let through
//! is in the audit log, and a caller without a role is logged once per window
//! (`crate::stranger_refusals`). The registrar's decisions that matter happen on chain
//! from its own wallet; the vault only keeps the words (decline and registry reasons) and lists
//! what the chain committed to.

use alloy::primitives::{Address, B256, keccak256};
use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use medkey_protocol::api::{AdminRoles, ApplicationView, DeclineApplicationBody, RegistryReason, RegistryReasonBody};
use serde::Deserialize;
use utoipa::IntoParams;

use super::application_routes::view;
use super::auth::Caller;
use super::ids;
use super::json::{ApiJson, ApiQuery};
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::{ApiError, AppState};
use crate::audit_log::stamped;
use crate::directory::ApplicationStatus;
use medkey_protocol::clock::now_ms;

/// The registry's roles, by the name the API gives them.
const ROLES: [(&str, &str); 4] =
    [("admin", ""), ("registrar", "REGISTRAR_ROLE"), ("pauser", "PAUSER_ROLE"), ("operator", "OPERATOR_ROLE")];

fn role_hash(constant: &str) -> B256 {
    // OpenZeppelin's DEFAULT_ADMIN_ROLE is zero; the others are keccak256 of their name.
    if constant.is_empty() { B256::ZERO } else { keccak256(constant.as_bytes()) }
}

/// The API's name of a role hash, or the hash when it is none of the registry's.
pub(super) fn role_name(role: B256) -> String {
    ROLES
        .iter()
        .find(|(_, constant)| role_hash(constant) == role)
        .map_or_else(|| role.to_string(), |(n, _)| (*n).to_owned())
}

/// The registry roles `account` holds at the mirror's latest block, by API name.
async fn held_roles(state: &AppState, account: Address) -> Result<Vec<&'static str>, ApiError> {
    state.gate.mirror().catch_up().await?;
    let mut held = Vec::new();
    for (name, constant) in ROLES {
        if state.mirror.has_role(state.chain_id, role_hash(constant), account).await? {
            held.push(name);
        }
    }
    Ok(held)
}

/// The signed-in caller if it holds one of `roles`; otherwise the refusal, logged.
async fn caller_holding(
    parts: &mut Parts,
    state: &AppState,
    roles: &[&str],
    code: &'static str,
    message: &'static str,
) -> Result<Address, ApiError> {
    let caller = Caller::from_request_parts(parts, state).await?;
    if held_roles(state, caller.address).await?.iter().any(|held| roles.contains(held)) {
        return Ok(caller.address);
    }
    // No role, no standing: in the operator's log once per caller and window, not on every call.
    if state.stranger_refusals.first_in_window(caller.address, code) {
        let refused = crate::audit_log::AuditEntry {
            outcome: code.into(),
            ..stamped(&format!("admin_{}", method_label(&parts.method)), caller.address)
        };
        state.audit.append(&refused).await?;
    }
    Err(ApiError::forbidden(code, message))
}

/// The method in an entry's kind: the standard ones by name, any other as `other` (anyone can
/// make one up).
fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "get",
        "POST" => "post",
        "PUT" => "put",
        "DELETE" => "delete",
        "PATCH" => "patch",
        _ => "other",
    }
}

/// A signed-in account that holds REGISTRAR_ROLE at the mirror's latest block.
pub struct Registrar(pub Address);

impl FromRequestParts<AppState> for Registrar {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let message =
            "this account does not hold the registry's registrar role, so the registrar's pages are closed to it";
        Ok(Self(caller_holding(parts, state, &["registrar"], "not_registrar", message).await?))
    }
}

/// A signed-in account that holds any registry role.
pub struct RoleHolder(pub Address);

impl FromRequestParts<AppState> for RoleHolder {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let all = ["admin", "registrar", "pauser", "operator"];
        let message = "this account holds no role in the registry, so the console's pages are closed to it";
        Ok(Self(caller_holding(parts, state, &all, "no_registry_role", message).await?))
    }
}

/// A signed-in account that holds the operator's or the admin's role.
pub struct Operator(pub Address);

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let message = "only the registry's operator or admin may retry webhook deliveries";
        Ok(Self(caller_holding(parts, state, &["operator", "admin"], "not_operator", message).await?))
    }
}

/// The registry roles the caller holds (the console shows only what they allow).
#[utoipa::path(
    get,
    path = "/v1/admin/roles",
    tag = "admin",
    responses((status = 200, description = "Possibly none", body = AdminRoles), Unauthorized, Internal),
    security(("bearer" = [])),
)]
pub async fn roles(State(state): State<AppState>, caller: Caller) -> Result<Json<AdminRoles>, ApiError> {
    let held = held_roles(&state, caller.address).await?;
    Ok(Json(AdminRoles { address: caller.address.to_string(), roles: held.into_iter().map(str::to_owned).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApplicationsQuery {
    /// `pending` (default), `approved` or `declined`.
    #[serde(default)]
    status: Option<String>,
}

/// Applications in one state, oldest first (at most 500).
#[utoipa::path(
    get,
    path = "/v1/admin/applications",
    tag = "admin",
    params(ApplicationsQuery),
    responses(
        (status = 200, description = "Oldest first", body = Vec<ApplicationView>),
        (status = 400, description = "invalid_status", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "not_registrar", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn applications(
    State(state): State<AppState>,
    Registrar(registrar): Registrar,
    ApiQuery(query): ApiQuery<ApplicationsQuery>,
) -> Result<Json<Vec<ApplicationView>>, ApiError> {
    let status = query.status.as_deref().unwrap_or("pending");
    let status = ApplicationStatus::parse(status)
        .ok_or_else(|| ApiError::bad_request("invalid_status", "status is pending, approved or declined"))?;
    state.audit.append(&stamped("admin_applications_read", registrar)).await?;
    super::directory_routes::caught_up(&state).await?;
    let mut views = Vec::new();
    for application in state.directory.applications(status, 500).await? {
        views.push(view(&state, application).await?);
    }
    Ok(Json(views))
}

/// Declines a pending application with a reason the applicant sees.
#[utoipa::path(
    post,
    path = "/v1/admin/applications/{id}/decline",
    tag = "admin",
    params(("id" = String, Path, description = "The application id (32 hex digits)")),
    request_body = DeclineApplicationBody,
    responses(
        (status = 200, description = "Declined", body = ApplicationView),
        (status = 400, description = "invalid_application_id / invalid_reason / malformed_json / invalid_body",
            body = ErrorBody),
        Unauthorized,
        (status = 403, description = "not_registrar", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "not_pending: approved or declined already", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn decline(
    State(state): State<AppState>,
    Registrar(registrar): Registrar,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeclineApplicationBody>,
) -> Result<Json<ApplicationView>, ApiError> {
    let id = application_id(&id)?;
    let reason = reason_text(&body.reason)?;
    if !state.directory.decline(id, reason, now_ms()).await? {
        state.directory.application(id).await?.ok_or_else(|| ApiError::not_found("no such application"))?;
        return Err(not_pending());
    }
    state.audit.append(&stamped("application_declined", registrar)).await?;
    let application =
        state.directory.application(id).await?.ok_or_else(|| ApiError::not_found("no such application"))?;
    Ok(Json(view(&state, application).await?))
}

/// Lists an application the registrar approved on chain: the registry must hold its profile hash
/// (`registerProvider` or `updateProviderProfile` mined, as the mirror shows).
#[utoipa::path(
    post,
    path = "/v1/admin/applications/{id}/confirm",
    tag = "admin",
    params(("id" = String, Path, description = "The application id (32 hex digits)")),
    responses(
        (status = 200, description = "Approved and listed", body = ApplicationView),
        (status = 400, description = "invalid_application_id", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "not_registrar", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "not_on_chain: the registry does not hold this profile's hash (yet) / \
            not_pending: declined already", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn confirm(
    State(state): State<AppState>,
    Registrar(registrar): Registrar,
    Path(id): Path<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    let id = application_id(&id)?;
    let application =
        state.directory.application(id).await?.ok_or_else(|| ApiError::not_found("no such application"))?;
    if application.status == ApplicationStatus::Declined {
        return Err(not_pending());
    }
    let on_chain = state.mirror.provider(state.chain_id, application.profile.provider).await?;
    if on_chain.as_ref().is_none_or(|p| p.profile_hash != application.profile_hash) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_on_chain",
            format!(
                "the registry does not hold this profile yet: send {} with profile hash {}, wait until it is mined, \
                 then confirm again",
                if on_chain.is_some() { "updateProviderProfile" } else { "registerProvider" },
                alloy::hex::encode_prefixed(application.profile_hash)
            ),
        ));
    }
    state.directory.refresh(&state.mirror, state.chain_id, application.profile.provider, now_ms()).await?;
    state.audit.append(&stamped("application_confirmed", registrar)).await?;
    let application =
        state.directory.application(id).await?.ok_or_else(|| ApiError::not_found("no such application"))?;
    Ok(Json(view(&state, application).await?))
}

/// Keeps the words of a suspension or reinstatement; send the returned hash on chain with it.
#[utoipa::path(
    post,
    path = "/v1/admin/reasons",
    tag = "admin",
    request_body = RegistryReasonBody,
    responses(
        (status = 200, description = "Stored (the same words twice give the same hash)", body = RegistryReason),
        (status = 400, description = "invalid_reason / malformed_json / invalid_body", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "not_registrar", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn add_reason(
    State(state): State<AppState>,
    Registrar(registrar): Registrar,
    ApiJson(body): ApiJson<RegistryReasonBody>,
) -> Result<Json<RegistryReason>, ApiError> {
    let reason = reason_text(&body.reason)?;
    let hash = state.directory.add_reason(reason, registrar, now_ms()).await?;
    state.audit.append(&stamped("registry_reason_recorded", registrar)).await?;
    Ok(Json(RegistryReason { reason_hash: hash.to_string(), reason: reason.to_owned() }))
}

fn application_id(text: &str) -> Result<[u8; 16], ApiError> {
    ids::record_id(text)
        .map(|id| id.into_bytes())
        .map_err(|_| ApiError::bad_request("invalid_application_id", "an application id is 32 hex digits"))
}

fn reason_text(reason: &str) -> Result<&str, ApiError> {
    let trimmed = reason.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 500 || trimmed.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_reason",
            "a reason is 1 to 500 characters on one line, with no control characters",
        ));
    }
    Ok(trimmed)
}

fn not_pending() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "not_pending", "this application was decided already")
}
