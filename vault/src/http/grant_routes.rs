//! `/v1/grants`: a patient's grants as the chain has them (via the mirror), as JSON or as FHIR
//! R4 `Consent` resources in a `collection` Bundle.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::json::ApiQuery;
use super::openapi::ErrorBody;
use super::state::now_ms;
use super::{ApiError, AppState};
use crate::consent_fhir;

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
            expired or revoked; `fhir`: a `collection` Bundle of R4 `Consent` resources", body = Value),
        (status = 400, description = "invalid_query (format is neither json nor fhir, or as is neither patient nor provider)", body = ErrorBody),
        (status = 401, description = "missing_token / invalid_token / token_expired / session_closed",
            body = ErrorBody),
        (status = 500, description = "internal", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<GrantsQuery>,
) -> Result<Json<Value>, ApiError> {
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
    let now = now_ms() / 1_000;
    match query.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(json!(grants
            .iter()
            .map(|g| json!({"grant": g, "state": g.state_at(now), "categories": medkey_protocol::Category::from_mask(g.categories)}))
            .collect::<Vec<_>>()))),
        "fhir" => Ok(Json(json!({
            "resourceType": "Bundle",
            "type": "collection",
            "entry": grants
                .iter()
                .map(|g| json!({"resource": consent_fhir::consent(state.chain_id, g, now)}))
                .collect::<Vec<_>>(),
        }))),
        other => Err(ApiError::bad_request("invalid_query", format!("format must be json or fhir, not '{other}'"))),
    }
}
