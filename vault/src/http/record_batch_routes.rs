//! Many of the caller's own records in one call, so an app opens a patient's whole timeline
//! (`POST /v1/records/contents`) or stores a portal's export (`POST /v1/records/batch`) in a few
//! requests instead of one per record.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use alloy::primitives::{Address, B256};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use medkey_protocol::api::{
    CreateRecordsBody, RecordContent, RecordContents, RecordIdsBody, RecordView, RecordsCreated,
};

use super::auth::Caller;
use super::ids;
use super::json::ApiJson;
use super::key_batch_routes::distinct_ids;
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::record_routes::{created, entry, providers_with_live_grants, version_from};
use super::{ApiError, AppState};
use crate::audit_log::AuditEntry;
use crate::identity_sharing::is_identity;
use crate::records::NewRecord;
use medkey_protocol::RecordId;
use medkey_protocol::clock::now_ms;

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

/// Stores 1 to 500 new records of the caller's own in one transaction, each logged as
/// `POST /v1/records` logs it: an import of thousands of records in tens of requests.
#[utoipa::path(
    post,
    path = "/v1/records/batch",
    tag = "records",
    operation_id = "create_records",
    request_body = CreateRecordsBody,
    responses(
        (status = 201, description = "All stored, in the order sent, each with the providers with a live grant on \
            its category that still need a wrapped key", body = RecordsCreated),
        (status = 400, description = "invalid_body (no records) / duplicate_record / not_own_record / \
            invalid_record_id / invalid_base64 / unknown_resource_type / invalid_ciphertext / invalid_wrapped_key / \
            missing_owner_key / origin_too_large / malformed_json", body = ErrorBody),
        Unauthorized,
        (status = 409, description = "record_exists: one of the ids is taken; nothing was stored", body = ErrorBody),
        (status = 413, description = "batch_too_large (more than 500) / body_too_large", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn create_many(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateRecordsBody>,
) -> Result<(StatusCode, Json<RecordsCreated>), ApiError> {
    if body.records.is_empty() {
        return Err(ApiError::bad_request("invalid_body", "records holds no record: send 1 to 500"));
    }
    let texts: Vec<String> = body.records.iter().map(|r| r.record_id.clone()).collect();
    let record_ids = distinct_ids(&texts)?;
    let mut news = Vec::with_capacity(body.records.len());
    for (record, record_id) in body.records.iter().zip(record_ids) {
        // A provider's write is decided per record under its write grant: one at a time.
        if record.patient.as_deref().map(ids::address).transpose()?.is_some_and(|p| p != caller.address) {
            return Err(ApiError::bad_request(
                "not_own_record",
                format!("record {} names another patient: a batch stores only your own records", record.record_id),
            ));
        }
        let origin = record.origin.as_deref().map(|o| ids::base64("origin", o)).transpose()?;
        let new = NewRecord {
            record_id,
            owner: caller.address,
            category: record.category,
            resource_type: record.resource_type.clone(),
            origin,
        };
        news.push((new, version_from(&record.ciphertext, &record.wrapped_keys)?));
    }
    let metas = state.records.create_all(&news, caller.address, now_ms()).await?;
    let entries: Vec<AuditEntry> = metas.iter().map(|meta| entry("record_created", caller.address, meta)).collect();
    state.audit.append_all(&entries).await?;
    // Who reads each record depends only on its category and whether it is who she is: asked once each.
    let mut readers: HashMap<(u8, bool), Vec<(Address, B256)>> = HashMap::new();
    let mut out = Vec::with_capacity(metas.len());
    for (meta, (_, version)) in metas.into_iter().zip(&news) {
        let key = (meta.category.index(), is_identity(&meta));
        if let Entry::Vacant(slot) = readers.entry(key) {
            slot.insert(providers_with_live_grants(&state, caller.address, meta.category, key.1).await?);
        }
        out.push(created(meta, version, &readers[&key]));
    }
    Ok((StatusCode::CREATED, Json(RecordsCreated { records: out })))
}
