//! A provider's read of a patient's records: the one place that decides it and logs it. Every
//! path that hands a provider something of hers (a key, a batch of keys, an attachment, the list
//! of her records it may read) comes here, so the rule holds in one place:
//!
//! - operator policy first (`require_provider_mfa`), then the release gate over the mirror;
//! - every release and every refusal of one of her records is an audit entry, stored before the
//!   answer (a release is never made without its entry);
//! - a refusal that names no record of hers (an id that does not exist, a missing second factor
//!   on a batch) is one entry for the caller's request, not one per id it named;
//! - a wallet that is no registered provider is the operator's concern, logged once per window
//!   ([`crate::stranger_refusals`]), so strangers cannot grow her log by asking.
//!
//! The HTTP layer parses, calls one function here and shapes the answer.

use std::net::IpAddr;

use alloy::primitives::Address;

use crate::attachments::StoredAttachment;
use crate::audit_log::{AppendError, AuditEntry, stamped};
use crate::gate::{Decision, Denial, Release, ReleaseRequest};
use crate::identity_sharing::is_identity;
use crate::limits::LimitError;
use crate::records::{RecordError, RecordMeta, ReleaseView};
use crate::release_reads::ReadError;
use crate::state::VaultState;
use medkey_protocol::RecordId;

/// Who asks, as the session and the connection say.
#[derive(Clone, Copy, Debug)]
pub struct Reader {
    pub address: Address,
    /// Signed in with a second factor.
    pub mfa: bool,
    /// The client's address, for rate limits.
    pub ip: IpAddr,
}

/// Why nothing was released (each one logged where the module docs say).
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("this vault requires providers to sign in with a second factor: enable TOTP, then sign in again")]
    MfaRequired,
    #[error("no such record")]
    NotFound,
    #[error("this record version has no attachment")]
    NoAttachment,
    #[error("the grant is live but the patient's client has not wrapped this record's key for you yet")]
    KeyNotWrapped,
    #[error("{0}")]
    Denied(Denial),
    #[error(transparent)]
    Limits(#[from] LimitError),
    #[error(transparent)]
    Reads(#[from] ReadError),
    #[error(transparent)]
    Mirror(#[from] medkey_indexer::StoreError),
    #[error(transparent)]
    Log(#[from] AppendError),
    #[error(transparent)]
    Records(#[from] RecordError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A key released: the record's current version, its ciphertext, and the data key wrapped for
/// the reader, under `release`.
#[derive(Debug)]
pub struct ReleasedKey {
    pub meta: RecordMeta,
    pub release: Release,
    pub ciphertext: Vec<u8>,
    pub wrapped_key: Vec<u8>,
}

/// One record of a batch that was not released, with the code and sentence the caller gets.
#[derive(Debug)]
pub struct RefusedRecord {
    pub record_id: RecordId,
    pub code: &'static str,
    pub message: String,
}

/// A batch's answer: each record released or refused.
#[derive(Debug, Default)]
pub struct KeyBatch {
    pub released: Vec<ReleasedKey>,
    pub refused: Vec<RefusedRecord>,
}

/// The current version's key of one record.
pub async fn key(state: &VaultState, reader: Reader, record_id: RecordId) -> Result<ReleasedKey, ReleaseError> {
    state.limits.release_attempt(reader.address, reader.ip).await?;
    check_mfa(state, reader, record_id, "key_denied").await?;
    let view = state.release_reads.get(record_id, reader.address).await?;
    let Some(ReleaseView { meta, ciphertext: Some(ciphertext), wrapped_key }) = view.filter(|v| !v.meta.erased) else {
        log_denied(state, "key_denied", reader.address, None, Some(record_id), "not_found").await?;
        return Err(ReleaseError::NotFound);
    };
    state.limits.patient_opened(reader.address, meta.owner).await?;
    let release = decide(state, reader.address, &meta, "key_denied").await?;
    let Some(wrapped_key) = wrapped_key else {
        log_denied(state, "key_denied", reader.address, Some(meta.owner), Some(record_id), "key_not_wrapped").await?;
        return Err(ReleaseError::KeyNotWrapped);
    };
    state.audit.append(&released_entry("key_released", reader.address, &meta, &release)).await?;
    Ok(ReleasedKey { meta, release, ciphertext, wrapped_key })
}

/// The keys of many records of one patient, each released or refused (and logged) on its own,
/// all entries stored before the answer. Rate limits count the records. The ids are distinct
/// (the caller's parser refuses a repeated one).
pub async fn keys(
    state: &VaultState,
    reader: Reader,
    patient: Address,
    record_ids: &[RecordId],
) -> Result<KeyBatch, ReleaseError> {
    state.limits.release_attempts(reader.address, reader.ip, record_ids.len() as u32).await?;
    state.limits.patient_opened(reader.address, patient).await?;
    if !mfa_satisfied(state, reader.mfa) {
        // One entry for the refused batch, not one per id the caller named.
        log_denied(state, "key_denied", reader.address, Some(patient), None, "mfa_required").await?;
        return Err(ReleaseError::MfaRequired);
    }

    let pairs: Vec<(RecordId, Address)> = record_ids.iter().map(|id| (*id, reader.address)).collect();
    let mut views = state.records.for_release(&pairs).await?;
    let mut batch = KeyBatch::default();
    let mut entries = Vec::new();
    // Records of this patient that exist and are not erased go to the gate, all in one batch.
    let mut candidates = Vec::new();
    for id in record_ids {
        match views.remove(&(*id, reader.address)) {
            Some(view) if view.meta.owner == patient && !view.meta.erased && view.ciphertext.is_some() => {
                candidates.push(view);
            }
            // The same refusal whether the record is missing, erased or another patient's; the
            // ids are the caller's own words, so they make one entry between them (below).
            _ => batch.refused.push(refused(*id, "not_found", "no such record of this patient".into())),
        }
    }
    if !batch.refused.is_empty() {
        entries.push(denied_entry("key_denied", reader.address, None, None, "not_found"));
    }
    let requests: Vec<ReleaseRequest> = candidates.iter().map(|v| request(reader.address, &v.meta)).collect();
    let decisions = state.gate.decide_many(&requests, &state.records).await?;
    let mut stranger = false;
    for (view, decision) in candidates.into_iter().zip(decisions) {
        let decision = identity_decision(state, reader.address, &view.meta, decision).await?;
        let id = view.meta.record_id;
        match (decision, view.wrapped_key, view.ciphertext) {
            (Decision::Release(release), Some(wrapped_key), Some(ciphertext)) => {
                entries.push(released_entry("key_released", reader.address, &view.meta, &release));
                batch.released.push(ReleasedKey { meta: view.meta, release, ciphertext, wrapped_key });
            }
            (Decision::Release(_), _, _) => {
                batch.refused.push(refused(id, "key_not_wrapped", ReleaseError::KeyNotWrapped.to_string()));
                entries.push(denied_entry("key_denied", reader.address, Some(patient), Some(id), "key_not_wrapped"));
            }
            (Decision::Deny(denial), _, _) => {
                batch.refused.push(refused(id, denial.code(), denial.to_string()));
                // A wallet that is no provider is the operator's concern, not hers (see below).
                if denial == Denial::ProviderNotRegistered {
                    stranger = true;
                } else {
                    entries.push(denied_entry("key_denied", reader.address, Some(patient), Some(id), denial.code()));
                }
            }
        }
    }
    // Logged before answered.
    state.audit.append_all(&entries).await?;
    if stranger {
        stranger_refused(state, "key_denied", reader.address).await?;
    }
    Ok(batch)
}

/// The current version's attachment, to its owner or to a provider through the gate. A
/// provider is decided on (a denial logged) before it learns whether there is a file; the
/// release is logged only once there is one to release.
pub async fn attachment(
    state: &VaultState,
    reader: Reader,
    record_id: RecordId,
) -> Result<(RecordMeta, StoredAttachment), ReleaseError> {
    let meta = state.records.find(&record_id).await?.filter(|m| !m.erased);
    let Some(meta) = meta else { return Err(ReleaseError::NotFound) };
    let release = if meta.owner != reader.address {
        state.limits.release_attempt(reader.address, reader.ip).await?;
        state.limits.patient_opened(reader.address, meta.owner).await?;
        check_mfa(state, reader, record_id, "attachment_denied").await?;
        Some(decide(state, reader.address, &meta, "attachment_denied").await?)
    } else {
        None
    };
    let Some(stored) = state.attachments.find(&record_id, meta.current_version).await? else {
        return Err(ReleaseError::NoAttachment);
    };
    if let Some(release) = release {
        state.audit.append(&released_entry("attachment_released", reader.address, &meta, &release)).await?;
    }
    Ok((meta, stored))
}

/// The patient's records (metadata only, erased ones left out) whose category `reader` may read
/// now. Nothing is released, so nothing is logged; a vault that cannot decide says so.
pub async fn visible_records(
    state: &VaultState,
    reader: Reader,
    patient: Address,
) -> Result<Vec<RecordMeta>, ReleaseError> {
    if !mfa_satisfied(state, reader.mfa) {
        return Err(ReleaseError::MfaRequired);
    }
    // Caught up once here rather than before each refusal below (most records of a patient are
    // usually outside a provider's grants).
    state.gate.mirror().catch_up().await?;
    let mut visible = Vec::new();
    for meta in state.records.list(patient, None).await? {
        if meta.erased {
            continue;
        }
        let decision = state.gate.decide_as_viewed(&request(reader.address, &meta), &state.records).await?;
        match identity_decision(state, reader.address, &meta, decision).await? {
            Decision::Release(_) => visible.push(meta),
            Decision::Deny(denial) if denial.is_unavailable() => return Err(ReleaseError::Denied(denial)),
            Decision::Deny(_) => {}
        }
    }
    Ok(visible)
}

/// Operator policy: a provider acting on a patient's records must have used a second factor.
pub fn mfa_satisfied(state: &VaultState, signed_in_with_mfa: bool) -> bool {
    signed_in_with_mfa || !state.identity.requires_provider_mfa()
}

/// The audit entry of a refusal (`kind`, e.g. `key_denied`) with its code.
pub fn denied_entry(
    kind: &str,
    actor: Address,
    patient: Option<Address>,
    record_id: Option<RecordId>,
    code: &str,
) -> AuditEntry {
    AuditEntry { patient, record_id, outcome: code.into(), ..stamped(kind, actor) }
}

/// A wallet that is no registered provider was refused: the operator's log (no patient, no
/// record), once per caller and window.
pub async fn stranger_refused(state: &VaultState, kind: &str, actor: Address) -> Result<(), AppendError> {
    let code = Denial::ProviderNotRegistered.code();
    if state.stranger_refusals.first_in_window(actor, code) {
        state.audit.append(&denied_entry(kind, actor, None, None, code)).await?;
    }
    Ok(())
}

/// Operator policy first; a refusal is logged as `denied_kind`.
async fn check_mfa(
    state: &VaultState,
    reader: Reader,
    record_id: RecordId,
    denied_kind: &str,
) -> Result<(), ReleaseError> {
    if !mfa_satisfied(state, reader.mfa) {
        log_denied(state, denied_kind, reader.address, None, Some(record_id), "mfa_required").await?;
        return Err(ReleaseError::MfaRequired);
    }
    Ok(())
}

/// The gate's decision on `provider` reading `meta`; a refusal is logged as `denied_kind`.
async fn decide(
    state: &VaultState,
    provider: Address,
    meta: &RecordMeta,
    denied_kind: &str,
) -> Result<Release, ReleaseError> {
    let decision = state.gate.decide(&request(provider, meta), &state.records).await?;
    match identity_decision(state, provider, meta, decision).await? {
        Decision::Release(release) => Ok(release),
        Decision::Deny(denial) => {
            if denial == Denial::ProviderNotRegistered {
                stranger_refused(state, denied_kind, provider).await?;
            } else {
                log_denied(state, denied_kind, provider, Some(meta.owner), Some(meta.record_id), denial.code()).await?;
            }
            Err(ReleaseError::Denied(denial))
        }
    }
}

/// `decision` with the identity rule applied: her own Patient record, refused because no grant
/// covers its category, goes to a provider she shares anything with unless she hid who she is
/// from it (`identity_sharing`).
async fn identity_decision(
    state: &VaultState,
    provider: Address,
    meta: &RecordMeta,
    decision: Decision,
) -> Result<Decision, ReleaseError> {
    match decision {
        Decision::Deny(Denial::NoLiveGrant | Denial::NotInRecordSet) if is_identity(meta) => {
            if state.identity_sharing.hidden(meta.owner, provider).await? {
                return Ok(Decision::Deny(Denial::IdentityHidden));
            }
            Ok(state.gate.decide_identity(&request(provider, meta)).await?)
        }
        other => Ok(other),
    }
}

fn request(provider: Address, meta: &RecordMeta) -> ReleaseRequest {
    ReleaseRequest { provider, patient: meta.owner, record_id: meta.record_id, category: meta.category }
}

fn refused(record_id: RecordId, code: &'static str, message: String) -> RefusedRecord {
    RefusedRecord { record_id, code, message }
}

/// The audit entry of something of hers released to `actor` under `release`.
fn released_entry(kind: &str, actor: Address, meta: &RecordMeta, release: &Release) -> AuditEntry {
    AuditEntry {
        patient: Some(meta.owner),
        record_id: Some(meta.record_id),
        grant_id: Some(release.grant_id),
        purpose: Some(release.purpose),
        ..stamped(kind, actor)
    }
}

async fn log_denied(
    state: &VaultState,
    kind: &str,
    actor: Address,
    patient: Option<Address>,
    record_id: Option<RecordId>,
    code: &str,
) -> Result<(), AppendError> {
    state.audit.append(&denied_entry(kind, actor, patient, record_id, code)).await
}
