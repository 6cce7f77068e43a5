//! What a provider sees: a patient's records it may read, and a record's wrapped key, released
//! only through the gate. Every release and every denial is logged.

use alloy::primitives::Address;
use axum::Json;
use axum::extract::{Path, State};
use medkey_protocol::api::KeyRelease;

use super::auth::Caller;
use super::client_ip::ClientIp;
use super::ids;
use super::openapi::{ErrorBody, Internal, Unauthorized};
use super::record_routes::RecordView;
use super::{ApiError, AppState};
use crate::access_log::AuditEntry;
use crate::gate::{Decision, Release, ReleaseRequest};
use crate::records::{RecordMeta, ReleaseView};

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
    Path(patient): Path<String>,
) -> Result<Json<Vec<RecordView>>, ApiError> {
    caller.check_provider_mfa(&state)?;
    let patient = ids::address(&patient)?;
    // Caught up once here rather than before each refusal below (most records of a patient are
    // usually outside a provider's grants).
    state.gate.mirror().catch_up().await?;
    let mut visible = Vec::new();
    for meta in state.records.list(patient, None).await? {
        if meta.erased {
            continue;
        }
        let request =
            ReleaseRequest { provider: caller.address, patient, record_id: meta.record_id, category: meta.category };
        match state.gate.decide_as_viewed(&request, &state.records).await? {
            Decision::Release(_) => visible.push(RecordView::from(meta)),
            Decision::Deny(denial) if denial.is_unavailable() => return Err(ApiError::from(&denial)),
            Decision::Deny(_) => {}
        }
    }
    Ok(Json(visible))
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
    state.limits.release_attempt(caller.address, ip).await?;
    let record_id = ids::record_id(&id)?;
    check_mfa_or_log(&state, &caller, record_id, "key_denied").await?;
    let view = state.release_reads.get(record_id, caller.address).await?;
    let Some(ReleaseView { meta, ciphertext: Some(ciphertext), wrapped_key }) = view.filter(|v| !v.meta.erased) else {
        deny_log(&state, "key_denied", caller.address, None, Some(record_id), "not_found").await?;
        return Err(ApiError::not_found("no such record"));
    };
    state.limits.patient_opened(caller.address, meta.owner).await?;
    let release = decide_or_log(&state, caller.address, &meta, "key_denied").await?;
    let Some(wrapped) = wrapped_key else {
        deny_log(&state, "key_denied", caller.address, Some(meta.owner), Some(record_id), "key_not_wrapped").await?;
        return Err(ApiError::new(axum::http::StatusCode::CONFLICT, "key_not_wrapped", KEY_NOT_WRAPPED));
    };
    state.log.append(&released_entry(caller.address, meta.owner, record_id, &release)).await?;
    Ok(Json(KeyRelease {
        record: RecordView::from(meta),
        grant_id: release.grant_id,
        purpose: medkey_protocol::Purpose::from_index(release.purpose),
        emergency: release.emergency,
        ciphertext: ids::to_base64(&ciphertext),
        wrapped_key: ids::to_base64(&wrapped),
    }))
}

/// Operator policy first (`require_provider_mfa`); a refusal is logged as `denied_kind`.
pub(super) async fn check_mfa_or_log(
    state: &AppState,
    caller: &Caller,
    record_id: [u8; 16],
    denied_kind: &str,
) -> Result<(), ApiError> {
    if let Err(refusal) = caller.check_provider_mfa(state) {
        deny_log(state, denied_kind, caller.address, None, Some(record_id), "mfa_required").await?;
        return Err(refusal);
    }
    Ok(())
}

/// The gate's decision on `provider` reading `meta`; a refusal is logged as `denied_kind` and
/// comes back as the error to answer with.
pub(super) async fn decide_or_log(
    state: &AppState,
    provider: Address,
    meta: &RecordMeta,
    denied_kind: &str,
) -> Result<Release, ApiError> {
    let request = ReleaseRequest { provider, patient: meta.owner, record_id: meta.record_id, category: meta.category };
    match state.gate.decide(&request, &state.records).await? {
        Decision::Release(release) => Ok(release),
        Decision::Deny(denial) => {
            if denial == crate::Denial::ProviderNotRegistered {
                stranger_refused(state, denied_kind, provider).await?;
            } else {
                deny_log(state, denied_kind, provider, Some(meta.owner), Some(meta.record_id), denial.code()).await?;
            }
            Err(ApiError::from(&denial))
        }
    }
}

/// Why a live grant still released nothing.
pub(super) const KEY_NOT_WRAPPED: &str =
    "the grant is live but the patient's client has not wrapped this record's key for you yet";

/// The audit entry of a key released to `actor` under `release`.
pub(super) fn released_entry(actor: Address, patient: Address, record_id: [u8; 16], release: &Release) -> AuditEntry {
    AuditEntry {
        patient: Some(patient),
        record_id: Some(record_id),
        grant_id: Some(release.grant_id),
        purpose: Some(release.purpose),
        ..crate::access_log::stamped("key_released", actor)
    }
}

/// The audit entry of a refusal (`kind`, e.g. `key_denied`) with its code.
pub(super) fn denied_entry(
    kind: &str,
    actor: Address,
    patient: Option<Address>,
    record_id: Option<[u8; 16]>,
    code: &str,
) -> AuditEntry {
    AuditEntry { patient, record_id, outcome: code.into(), ..crate::access_log::stamped(kind, actor) }
}

/// A wallet that is no registered provider was refused: the operator's log (no patient, no
/// record), once per caller and window (`crate::stranger_refusals`), so that strangers cannot
/// grow a patient's log or the anchored tree by asking.
pub(super) async fn stranger_refused(state: &AppState, kind: &str, actor: Address) -> Result<(), ApiError> {
    let code = crate::Denial::ProviderNotRegistered.code();
    if state.stranger_refusals.first_in_window(actor, code) {
        deny_log(state, kind, actor, None, None, code).await?;
    }
    Ok(())
}

async fn deny_log(
    state: &AppState,
    kind: &str,
    actor: Address,
    patient: Option<Address>,
    record_id: Option<[u8; 16]>,
    code: &str,
) -> Result<(), ApiError> {
    Ok(state.log.append(&denied_entry(kind, actor, patient, record_id, code)).await?)
}
