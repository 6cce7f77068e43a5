//! `/v1/grants`: a patient's grants as the chain has them (via the mirror), as JSON or as FHIR
//! R4 `Consent` resources in a `collection` Bundle.

use std::collections::HashSet;

use alloy::primitives::Address;
use axum::Json;
use axum::extract::State;
use medkey_indexer::model::{self, MirroredGrant};
use medkey_protocol::api::{FhirBundle, GrantListing, GrantRecord, GrantState, GrantView};
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::json::ApiQuery;
use super::openapi::{ErrorBody, Internal, Unauthorized};
use super::{ApiError, AppState};
use crate::consent_fhir;
use medkey_protocol::clock::now_ms;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsQuery {
    /// `json` (default) or `fhir`.
    format: Option<String>,
    /// `patient` (default: the grants the caller made) or `provider` (the grants made to it).
    #[serde(rename = "as")]
    role: Option<String>,
}

/// The caller's grants as the chain has them, as JSON or as FHIR R4 `Consent` resources.
#[utoipa::path(
    get,
    path = "/v1/grants",
    tag = "sharing",
    operation_id = "list_grants",
    params(
        ("format" = Option<String>, Query, description = "`json` (default) or `fhir`"),
        ("as" = Option<String>, Query, description = "`patient` (default): grants the caller made; `provider`: \
            grants made to the caller"),
    ),
    responses(
        (status = 200, description = "`json`: an array of `{grant, state, categories}`, `state` being pending, live, \
            expired, revoked or suspended (the provider suspended by the registry); `fhir`: a `collection` Bundle of R4 `Consent` resources", body = GrantListing),
        (status = 400, description = "invalid_query (format is neither json nor fhir, or as is neither patient nor provider)", body = ErrorBody),
        Unauthorized,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<GrantsQuery>,
) -> Result<Json<GrantListing>, ApiError> {
    let grants = match query.role.as_deref().unwrap_or("patient") {
        "patient" => state.mirror.grants_of_patient(state.chain_id, caller.address).await?,
        "provider" => state.mirror.grants_to_provider(state.chain_id, caller.address).await?,
        other => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("as must be patient or provider, not '{other}'"),
            ));
        }
    };
    // The gate's view is brought at least to the block these grants were read at: a grant shown
    // expired or revoked here is never released on an older view.
    state.gate.mirror().catch_up().await?;
    let now = now_ms() / 1_000;
    match query.format.as_deref().unwrap_or("json") {
        "json" => {
            let suspended = suspended_providers(&state, &grants).await?;
            Ok(Json(GrantListing::Grants(grants.iter().map(|g| view(g, now, &suspended)).collect())))
        }
        "fhir" => Ok(Json(GrantListing::Fhir(FhirBundle(json!({
            "resourceType": "Bundle",
            "type": "collection",
            "entry": grants
                .iter()
                .map(|g| json!({"resource": consent_fhir::consent(state.chain_id, g, now)}))
                .collect::<Vec<_>>(),
        }))))),
        other => Err(ApiError::bad_request("invalid_query", format!("format must be json or fhir, not '{other}'"))),
    }
}

/// The providers among `grants` that the registry has suspended (as the mirror has it).
async fn suspended_providers(state: &AppState, grants: &[MirroredGrant]) -> Result<HashSet<Address>, ApiError> {
    let providers: HashSet<Address> = grants.iter().map(|g| g.provider).collect();
    let mut suspended = HashSet::new();
    for provider in providers {
        let found = state.mirror.provider(state.chain_id, provider).await?;
        if found.is_some_and(|p| p.status == model::ProviderStatus::Suspended) {
            suspended.insert(provider);
        }
    }
    Ok(suspended)
}

fn view(g: &MirroredGrant, now: u64, suspended: &HashSet<Address>) -> GrantView {
    let state = match g.state_at(now) {
        model::GrantState::Pending | model::GrantState::Live if suspended.contains(&g.provider) => {
            GrantState::Suspended
        }
        model::GrantState::Pending => GrantState::Pending,
        model::GrantState::Live => GrantState::Live,
        model::GrantState::Expired => GrantState::Expired,
        model::GrantState::Revoked => GrantState::Revoked,
    };
    let grant = GrantRecord {
        grant_id: g.grant_id,
        patient: g.patient,
        provider: g.provider,
        categories: g.categories,
        records_root: g.records_root,
        purpose: g.purpose,
        not_before: g.not_before,
        expires_at: g.expires_at,
        write: g.write,
        emergency: g.emergency,
        reason_hash: g.reason_hash,
        block_number: g.block_number,
        tx_hash: g.tx_hash,
        log_index: g.log_index,
        revoked_block: g.revoked_block,
    };
    GrantView { grant, state, categories: medkey_protocol::Category::from_mask(g.categories) }
}
