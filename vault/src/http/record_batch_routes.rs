//! `POST /v1/records/contents`: many of the caller's own records in one call, so an app opens a
//! patient's whole timeline in a few requests instead of one per record.

use axum::Json;
use axum::extract::State;
use medkey_protocol::api::{RecordContent, RecordContents, RecordIdsBody, RecordView};

use super::auth::Caller;
use super::ids;
use super::json::ApiJson;
use super::key_batch_routes::distinct_ids;
use super::openapi::{ErrorBody, Internal, Unauthorized};
use super::{ApiError, AppState};
use medkey_protocol::RecordId;

/// The caller's own records, with their current ciphertexts and the keys wrapped for the caller.
#[utoipa::path(
    post,
    path = "/v1/records/contents",
    tag = "records",
    operation_id = "fetch_records",
    request_body = RecordIdsBody,
    responses(
        (status = 200, description = "The records the caller owns, in the order asked; the others as missing",
            body = RecordContents),
        (status = 400, description = "invalid_record_id / duplicate_record / malformed_json / invalid_body",
            body = ErrorBody),
        Unauthorized,
        (status = 413, description = "batch_too_large (more than 500) / body_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn fetch_many(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RecordIdsBody>,
) -> Result<Json<RecordContents>, ApiError> {
    let record_ids = distinct_ids(&body.record_ids)?;
    let pairs: Vec<(RecordId, alloy::primitives::Address)> =
        record_ids.iter().map(|id| (*id, caller.address)).collect();
    let mut views = state.records.for_release(&pairs).await?;
    let mut origins = state.records.origins(&record_ids).await?;
    let (mut records, mut missing) = (Vec::new(), Vec::new());
    for id in &record_ids {
        match views.remove(&(*id, caller.address)) {
            // Only her own, live records; anyone else's reads as missing, so ids cannot be probed.
            Some(view) if view.meta.owner == caller.address && !view.meta.erased => match view.ciphertext {
                Some(ciphertext) => records.push(RecordContent {
                    record: RecordView::from(view.meta),
                    ciphertext: ids::to_base64(&ciphertext),
                    wrapped_key: view.wrapped_key.map(|w| ids::to_base64(&w)),
                    origin: origins.remove(id).map(|o| ids::to_base64(&o)),
                }),
                None => missing.push(alloy::hex::encode(id)),
            },
            _ => missing.push(alloy::hex::encode(id)),
        }
    }
    Ok(Json(RecordContents { records, missing }))
}
