//! `POST /v1/patients/{patient}/keys`: the keys of many records of one patient in one call, so a
//! provider opens a whole chart at once. Each record is released or refused on its own, with the
//! same checks and codes as `GET /v1/records/{id}/key`; every release, and every refusal of one
//! of her records to a provider, is its own audit entry, all stored before the answer. Refusals
//! that name no record of hers are one entry for the batch (ids that do not exist, a missing
//! second factor), and a wallet that is no provider is the operator's log's, once per window.
//! Rate limits count the records.

use std::collections::HashSet;

use alloy::primitives::Address;
use axum::Json;
use axum::extract::{Path, State};
use medkey_protocol::api::{ErrorDetail, KeyBatch, KeyBatchBody, KeyRelease, RefusedKey};

use super::auth::Caller;
use super::client_ip::ClientIp;
use super::ids;
use super::json::ApiJson;
use super::openapi::{ErrorBody, Internal, Unauthorized};
use super::provider_routes::{KEY_NOT_WRAPPED, denied_entry, released_entry};
use super::record_routes::RecordView;
use super::{ApiError, AppState};
use crate::access_log::AuditEntry;
use crate::gate::{Decision, ReleaseRequest};

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
    state.limits.release_attempts(caller.address, ip, record_ids.len() as u32).await?;
    state.limits.patient_opened(caller.address, patient).await?;
    if let Err(refusal) = caller.check_provider_mfa(&state) {
        // One entry for the refused batch, not one per id the caller named.
        state.log.append(&denial_of_batch(caller.address, Some(patient), "mfa_required")).await?;
        return Err(refusal);
    }

    let pairs: Vec<([u8; 16], Address)> = record_ids.iter().map(|id| (*id, caller.address)).collect();
    let mut views = state.records.for_release(&pairs).await?;
    let (mut released, mut refused, mut entries) = (Vec::new(), Vec::new(), Vec::new());
    // Records of this patient that exist and are not erased go to the gate, all in one batch.
    let mut candidates = Vec::new();
    for id in &record_ids {
        match views.remove(&(*id, caller.address)) {
            Some(view) if view.meta.owner == patient && !view.meta.erased && view.ciphertext.is_some() => {
                candidates.push(view);
            }
            // The same refusal whether the record is missing, erased or another patient's; the
            // ids are the caller's own words, so they make one entry between them (below).
            _ => refused.push(refusal(id, "not_found", "no such record of this patient")),
        }
    }
    if !refused.is_empty() {
        entries.push(denial_of_batch(caller.address, None, "not_found"));
    }
    let mut stranger = false;
    let requests: Vec<ReleaseRequest> = candidates
        .iter()
        .map(|v| ReleaseRequest {
            provider: caller.address,
            patient,
            record_id: v.meta.record_id,
            category: v.meta.category,
        })
        .collect();
    let decisions = state.gate.decide_many(&requests, &state.records).await?;
    for (view, decision) in candidates.into_iter().zip(decisions) {
        let id = view.meta.record_id;
        match (decision, view.wrapped_key, view.ciphertext) {
            (Decision::Release(release), Some(wrapped), Some(ciphertext)) => {
                entries.push(released_entry(caller.address, patient, id, &release));
                released.push(KeyRelease {
                    record: RecordView::from(view.meta),
                    grant_id: release.grant_id,
                    purpose: medkey_protocol::Purpose::from_index(release.purpose),
                    emergency: release.emergency,
                    ciphertext: ids::to_base64(&ciphertext),
                    wrapped_key: ids::to_base64(&wrapped),
                });
            }
            (Decision::Release(_), _, _) => {
                refused.push(refusal(&id, "key_not_wrapped", KEY_NOT_WRAPPED));
                entries.push(denial(caller.address, Some(patient), id, "key_not_wrapped"));
            }
            (Decision::Deny(denial_reason), _, _) => {
                refused.push(refusal(&id, denial_reason.code(), &denial_reason.to_string()));
                // A wallet that is no provider is the operator's concern, not hers (see below).
                if denial_reason == crate::Denial::ProviderNotRegistered {
                    stranger = true;
                } else {
                    entries.push(denial(caller.address, Some(patient), id, denial_reason.code()));
                }
            }
        }
    }
    // Logged before answered.
    state.log.append_all(&entries).await?;
    if stranger {
        super::provider_routes::stranger_refused(&state, "key_denied", caller.address).await?;
    }
    Ok(Json(KeyBatch { released, refused }))
}

/// The ids, each valid and named once, 1 to [`MAX_BATCH`] of them.
pub(super) fn distinct_ids(texts: &[String]) -> Result<Vec<[u8; 16]>, ApiError> {
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

fn refusal(id: &[u8; 16], code: &str, message: &str) -> RefusedKey {
    RefusedKey {
        record_id: alloy::hex::encode(id),
        error: ErrorDetail { code: code.to_owned(), message: message.to_owned() },
    }
}

fn denial(actor: Address, patient: Option<Address>, id: [u8; 16], code: &str) -> AuditEntry {
    denied_entry("key_denied", actor, patient, Some(id), code)
}

/// One entry for a refusal that covers the caller's whole batch (no record named).
fn denial_of_batch(actor: Address, patient: Option<Address>, code: &str) -> AuditEntry {
    denied_entry("key_denied", actor, patient, None, code)
}
