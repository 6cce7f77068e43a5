//! `/v1/provider-applications`: a wallet applies to be listed (and registered) as a provider with
//! its signed profile, and follows its applications. The registrar decides in `admin_routes`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use medkey_protocol::api::{ApplicationBody, ApplicationView};

use super::auth::Caller;
use super::json::ApiJson;
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::{ApiError, AppState};
use crate::audit_log::stamped;
use crate::directory::{Application, ApplicationKind, ApplicationStatus, SubmitError};
use medkey_protocol::clock::now_ms;

/// Applies with a profile signed by the caller's wallet.
#[utoipa::path(
    post,
    path = "/v1/provider-applications",
    tag = "directory",
    request_body = ApplicationBody,
    responses(
        (status = 201, description = "Waiting for the registrar", body = ApplicationView),
        (status = 400, description = "invalid_profile (the message names the field) / invalid_signature / \
            key_mismatch (a registered provider's profile must carry the key the registry holds) / malformed_json / \
            invalid_body", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "not_your_profile: the profile names another wallet", body = ErrorBody),
        (status = 409, description = "application_pending: one of this wallet's applications is already waiting",
            body = ErrorBody),
        JsonBodyRefusals,
        Internal,
        (status = 503, description = "mirror_not_started: the vault does not know the registry yet", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ApplicationBody>,
) -> Result<(StatusCode, Json<ApplicationView>), ApiError> {
    let profile = body.profile;
    if profile.provider != caller.address {
        return Err(ApiError::forbidden(
            "not_your_profile",
            format!("the profile names {}, but you are signed in as {}", profile.provider, caller.address),
        ));
    }
    profile.validate().map_err(|err| ApiError::bad_request("invalid_profile", err.to_string()))?;
    let registry = registry(&state)?;
    let signature = alloy::hex::decode(&body.signature)
        .map_err(|_| ApiError::bad_request("invalid_signature", "the signature is not hex"))?;
    profile
        .verify_signature(&signature, state.chain_id, registry)
        .map_err(|err| ApiError::bad_request("invalid_signature", err.to_string()))?;
    let kind = match state.mirror.provider(state.chain_id, caller.address).await? {
        None => ApplicationKind::Register,
        Some(registered) if registered.encryption_key != profile.encryption_key => {
            return Err(ApiError::bad_request(
                "key_mismatch",
                "the profile's encryption key is not the one the registry holds for you: sign the profile with the \
                 registered key (or rotate the key on chain first)",
            ));
        }
        Some(_) => ApplicationKind::Update,
    };
    let application = Application {
        id: crate::access_requests::new_id(),
        kind,
        status: ApplicationStatus::Pending,
        profile_hash: profile.commitment(state.chain_id, registry),
        profile,
        signature,
        reason: None,
        submitted_at_ms: now_ms(),
        decided_at_ms: None,
    };
    match state.directory.submit(&application).await {
        Ok(()) => {}
        Err(SubmitError::AlreadyPending) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "application_pending",
                "you already have an application waiting for the registrar; wait for its answer",
            ));
        }
        Err(SubmitError::Database(err)) => return Err(err.into()),
    }
    // The registrar may have committed to this very profile already (it saw it elsewhere).
    state.directory.refresh(&state.mirror, state.chain_id, caller.address, now_ms()).await?;
    state.audit.append(&stamped("provider_applied", caller.address)).await?;
    Ok((StatusCode::CREATED, Json(view(&state, application).await?)))
}

/// The caller's applications, newest first, with the registrar's answers.
#[utoipa::path(
    get,
    path = "/v1/provider-applications/mine",
    tag = "directory",
    responses(
        (status = 200, description = "Newest first", body = Vec<ApplicationView>),
        Unauthorized,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn mine(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ApplicationView>>, ApiError> {
    // An approval the registrar sent on chain shows here even before it confirmed it to the vault.
    super::directory_routes::caught_up(&state).await?;
    let mut views = Vec::new();
    for application in state.directory.applications_of(caller.address).await? {
        views.push(view(&state, application).await?);
    }
    Ok(Json(views))
}

/// The registry this vault mirrors (profiles are signed in its EIP-712 domain).
pub(super) fn registry(state: &AppState) -> Result<alloy::primitives::Address, ApiError> {
    state.gate.mirror().checkpoint().map(|c| c.registry).ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "mirror_not_started",
            "the vault has not read the registry yet; try again in a moment",
        )
    })
}

pub(super) async fn view(state: &AppState, application: Application) -> Result<ApplicationView, ApiError> {
    let npi_also_listed_for = state
        .directory
        .npi_listed_for(&application.profile.npi, application.profile.provider)
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(ApplicationView {
        id: alloy::hex::encode(application.id),
        kind: application.kind.as_str().into(),
        status: application.status.as_str().into(),
        specialty: application.profile.specialty().map(str::to_owned),
        profile_hash: alloy::hex::encode_prefixed(application.profile_hash),
        signature: alloy::hex::encode_prefixed(&application.signature),
        profile: application.profile,
        reason: application.reason,
        submitted_at_ms: application.submitted_at_ms,
        decided_at_ms: application.decided_at_ms,
        npi_also_listed_for,
    })
}
