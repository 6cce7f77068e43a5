//! Liveness (the process answers) and readiness (the database answers and the chain mirror is
//! fresh enough to decide releases).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use medkey_protocol::api::{Health, MirrorFreshness, Ready};

use super::openapi::ErrorBody;
use super::{ApiError, AppState};
use medkey_protocol::clock::now_ms;

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "Alive", body = Health),
    ),
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
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
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Ready>, ApiError> {
    sqlx::query("SELECT 1").execute(state.mirror.pool()).await.map_err(|_| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", "the database is not answering")
    })?;
    let freshness = state
        .mirror
        .ensure_fresh(state.chain_id, now_ms(), &state.freshness)
        .await
        .map_err(|err| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "mirror_stale", err.to_string()))?;
    // The gate's view is brought at least to the block shown here (read after it): no decision
    // rests on an older block than a caller has seen mirrored.
    state.gate.mirror().catch_up().await?;
    let mirror = MirrorFreshness {
        indexed_block: freshness.indexed_block,
        head_block: freshness.head_block,
        lag_blocks: freshness.lag_blocks,
        head_age_ms: freshness.head_age_ms,
    };
    Ok(Json(Ready { status: "ready".into(), mirror }))
}
