//! Liveness (the process answers) and readiness (the database answers and the chain mirror is
//! fresh enough to decide releases).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::openapi::{ErrorBody, Health, Ready};
use super::state::now_ms;
use super::{ApiError, AppState};

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "Alive", body = Health),
    ),
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: the database answers and the chain mirror is fresh enough to decide releases.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready, with the mirror's lag", body = Ready),
        (status = 503, description = "database_unavailable / mirror_stale", body = ErrorBody),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    sqlx::query("SELECT 1").execute(state.mirror.pool()).await.map_err(|_| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", "the database is not answering")
    })?;
    let freshness = state
        .mirror
        .ensure_fresh(state.chain_id, now_ms(), &state.freshness)
        .await
        .map_err(|err| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "mirror_stale", err.to_string()))?;
    Ok(Json(json!({"status": "ready", "mirror": freshness})))
}
