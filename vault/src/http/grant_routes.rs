//! `/v1/grants`: a patient's grants as the chain has them (via the mirror), as JSON or as FHIR
//! R4 `Consent` resources in a `collection` Bundle.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::json::ApiQuery;
use super::state::now_ms;
use super::{ApiError, AppState};
use crate::consent_fhir;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsQuery {
    /// `json` (default) or `fhir`.
    format: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<GrantsQuery>,
) -> Result<Json<Value>, ApiError> {
    let grants = state.mirror.grants_of_patient(state.chain_id, caller.address).await?;
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
