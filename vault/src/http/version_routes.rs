//! `/v1/records/{id}/versions*`: a record's history, for its owner. Every version is kept until
//! the record is erased, so the patient can see (and open in her client) what it said before.

use axum::Json;
use axum::extract::{Path, State};
use medkey_protocol::api::{RecordHistory, RecordView, VersionContent, VersionView};

use super::auth::Caller;
use super::ids;
use super::openapi::{ErrorBody, Internal, Unauthorized};
use super::record_routes::{owned_live, sealed_version};
use super::{ApiError, AppState};
use crate::records::{RecordError, VersionMeta};

impl From<VersionMeta> for VersionView {
    fn from(v: VersionMeta) -> Self {
        Self {
            version: v.version,
            size: v.size,
            created_by: v.created_by,
            created_at_ms: v.created_at_ms,
            attachment_size: v.attachment_size,
        }
    }
}

/// The record's versions, newest first (sizes, who stored each and when; no contents).
#[utoipa::path(
    get,
    path = "/v1/records/{id}/versions",
    tag = "records",
    operation_id = "record_history",
    params(("id" = String, Path, description = "The record id: a UUID, dashed or as 32 hex digits")),
    responses(
        (status = 200, description = "The record and its versions, newest first", body = RecordHistory),
        (status = 400, description = "invalid_record_id", body = ErrorBody),
        Unauthorized,
        (status = 404, description = "not_found (also for a record the caller does not own)", body = ErrorBody),
        (status = 410, description = "record_erased", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RecordHistory>, ApiError> {
    let meta = owned_live(&state, &caller, &id).await?;
    let versions = state.records.versions(&meta.record_id).await?;
    Ok(Json(RecordHistory { record: meta.into(), versions: versions.into_iter().map(Into::into).collect() }))
}

/// One version's ciphertext and the data key wrapped for the owner.
#[utoipa::path(
    get,
    path = "/v1/records/{id}/versions/{version}",
    tag = "records",
    operation_id = "fetch_record_version",
    params(
        ("id" = String, Path, description = "The record id: a UUID, dashed or as 32 hex digits"),
        ("version" = u32, Path, description = "The version, from 1"),
    ),
    responses(
        (status = 200, description = "The version, its ciphertext and the owner's wrapped key", body = VersionContent),
        (status = 400, description = "invalid_record_id / invalid_version", body = ErrorBody),
        Unauthorized,
        (status = 404, description = "not_found (the record, for a caller who does not own it, or the version)", body = ErrorBody),
        (status = 410, description = "record_erased", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn fetch(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
) -> Result<Json<VersionContent>, ApiError> {
    let meta = owned_live(&state, &caller, &id).await?;
    let version = ids::version(&version)?;
    let stored = state.records.versions(&meta.record_id).await?;
    let found = stored.into_iter().find(|v| v.version == version).ok_or(RecordError::NotFound)?;
    let (ciphertext, wrapped_key) = sealed_version(&state, &meta, version, caller.address).await?;
    Ok(Json(VersionContent { record: RecordView::from(meta), version: found.into(), ciphertext, wrapped_key }))
}
