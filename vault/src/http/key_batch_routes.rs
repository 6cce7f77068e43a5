//! `POST /v1/patients/{patient}/keys`: the keys of many records of one patient in one call, so a
//! provider opens a whole chart at once. Each record is released or refused on its own, with the
//! same checks and codes as `GET /v1/records/{id}/key`, and logged as [`crate::release::keys`]
//! says. Rate limits count the records.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{Path, State};
use medkey_protocol::api::{ErrorDetail, KeyBatch, KeyBatchBody, RefusedKey};

use super::auth::Caller;
use super::client_ip::ClientIp;
use super::ids;
use super::json::ApiJson;
use super::openapi::{ErrorBody, Internal, Unauthorized};
use super::provider_routes::key_release;
use super::{ApiError, AppState};
use crate::release;
use medkey_protocol::RecordId;

/// The most records one call may ask for.
pub const MAX_BATCH: usize = 500;

/// The keys of many records of one patient, each released or refused (and logged) on its own.
#[utoipa::path(
    post,
    path = "/v1/patients/{patient}/keys",
    tag = "provider",
    operation_id = "release_keys",
    params(("patient" = String, Path, description = "The patient's address, 0x-prefixed hex")),
    request_body = KeyBatchBody,
    responses(
        (status = 200, description = "Each record released or refused with its code (each one logged)",
            body = KeyBatch),
        (status = 400, description = "invalid_address / invalid_record_id / duplicate_record / invalid_body / \
            malformed_json", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "mfa_required (the refused batch is one audit entry)", body = ErrorBody),
        (status = 413, description = "batch_too_large: more than 500 records, or more than the per-minute \
            allowance / body_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 429, description = "rate_limited: too many records released for this address or to this IP, \
            or too many new patients this hour", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
        (status = 503, description = "limits_unavailable: the vault cannot check its limits now", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn release_keys(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(patient): Path<String>,
    ApiJson(body): ApiJson<KeyBatchBody>,
) -> Result<Json<KeyBatch>, ApiError> {
    let patient = ids::address(&patient)?;
    let record_ids = distinct_ids(&body.record_ids)?;
    let batch = release::keys(&state, caller.reader(ip), patient, &record_ids).await?;
    Ok(Json(KeyBatch {
        released: batch.released.into_iter().map(key_release).collect(),
        refused: batch
            .refused
            .into_iter()
            .map(|r| RefusedKey {
                record_id: alloy::hex::encode(r.record_id),
                error: ErrorDetail { code: r.code.to_owned(), message: r.message },
            })
            .collect(),
    }))
}

/// The ids, each valid and named once, 1 to [`MAX_BATCH`] of them.
pub(super) fn distinct_ids(texts: &[String]) -> Result<Vec<RecordId>, ApiError> {
    if texts.is_empty() {
        return Err(ApiError::bad_request("invalid_body", "record_ids names no record: send 1 to 500"));
    }
    if texts.len() > MAX_BATCH {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("{} records in one call; ask for at most {MAX_BATCH} at a time", texts.len()),
        ));
    }
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(texts.len());
    for text in texts {
        let id = ids::record_id(text)?;
        if !seen.insert(id) {
            return Err(ApiError::bad_request("duplicate_record", format!("record {text} is named twice")));
        }
        ids.push(id);
    }
    Ok(ids)
}
