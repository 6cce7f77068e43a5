//! Liveness (the process answers) and readiness (the database answers and the chain mirror is
//! fresh enough to decide releases).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::state::now_ms;
use super::{ApiError, AppState};

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

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
