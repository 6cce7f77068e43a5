//! What a provider sees: a patient's records it may read, and a record's wrapped key. The rule
//! that every release and every denial is logged lives in [`crate::release`]; these routes parse,
//! call it and shape the answer.

use axum::Json;
use axum::extract::{Path, State};
use medkey_protocol::api::KeyRelease;

use super::auth::Caller;
use super::client_ip::ClientIp;
use super::ids;
use super::openapi::{ErrorBody, Internal, Unauthorized};
use super::record_routes::RecordView;
use super::{ApiError, AppState};
use crate::release::{self, ReleasedKey};

/// The patient's records whose category the caller may read now (metadata only).
#[utoipa::path(
    get,
    path = "/v1/patients/{patient}/records",
    tag = "provider",
    params(("patient" = String, Path, description = "The patient's address, 0x-prefixed hex")),
    responses(
        (status = 200, description = "Metadata of the records the caller may read now (erased ones left out)",
            body = Vec<RecordView>),
        (status = 400, description = "invalid_address", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "mfa_required (operator policy: providers sign in with a second factor)",
            body = ErrorBody),
        Internal,
        (status = 503, description = "mirror_stale / chain_unavailable: the vault cannot decide now", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list_for_patient(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(patient): Path<String>,
) -> Result<Json<Vec<RecordView>>, ApiError> {
    let reader = caller.reader(ip);
    let patient = ids::address(&patient)?;
    let visible = release::visible_records(&state, reader, patient).await?;
    Ok(Json(visible.into_iter().map(RecordView::from).collect()))
}

/// The current version's ciphertext and the data key wrapped for the caller.
#[utoipa::path(
    get,
    path = "/v1/records/{id}/key",
    tag = "provider",
    params(("id" = String, Path, description = "The record id: a UUID, dashed or as 32 hex digits")),
    responses(
        (status = 200, description = "Released under a live grant (and logged)", body = KeyRelease),
        (status = 400, description = "invalid_record_id", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "mfa_required / provider_not_registered / provider_suspended / no_live_grant / \
            not_in_record_set / refused_by_chain (each denial is logged)", body = ErrorBody),
        (status = 404, description = "not_found (also for an erased record)", body = ErrorBody),
        (status = 409, description = "key_not_wrapped: the grant is live but the patient's client has not wrapped the \
            key for the caller yet", body = ErrorBody),
        (status = 429, description = "rate_limited: too many releases for this address or from this IP, or too \
            many new patients this hour", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
        (status = 503, description = "mirror_stale / chain_unavailable / limits_unavailable: the vault cannot decide \
            now", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn release_key(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<Json<KeyRelease>, ApiError> {
    let record_id = ids::record_id(&id)?;
    let released = release::key(&state, caller.reader(ip), record_id).await?;
    Ok(Json(key_release(released)))
}

/// A released key as the API answers it (one record, or one of a batch).
pub(super) fn key_release(released: ReleasedKey) -> KeyRelease {
    KeyRelease {
        record: RecordView::from(released.meta),
        grant_id: released.release.grant_id,
        purpose: medkey_protocol::Purpose::from_index(released.release.purpose),
        emergency: released.release.emergency,
        ciphertext: ids::to_base64(&released.ciphertext),
        wrapped_key: ids::to_base64(&released.wrapped_key),
    }
}
