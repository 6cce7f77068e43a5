//! `/v1/records`: a patient's own records (and a provider's writes under a write grant).

use std::collections::BTreeSet;

use alloy::primitives::Address;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use medkey_protocol::Category;
pub use medkey_protocol::api::RecordView;
use medkey_protocol::api::{
    CreateRecordBody, KeysBody, ProviderNeedingKey, RecordContent, RecordCreated, VersionBody, WrappedKeyBody,
};
use serde::Deserialize;

use super::auth::Caller;
use super::ids;
use super::json::{ApiJson, ApiQuery};
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::{ApiError, AppState};
use crate::audit_log::AuditEntry;
use crate::gate::{Decision, ReleaseRequest};
use crate::identity_sharing::is_identity;
use crate::records::{KeyAdder, NewRecord, NewVersion, RecordError, RecordMeta};
use medkey_protocol::RecordId;
use medkey_protocol::clock::now_ms;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    category: Option<Category>,
}

impl From<RecordMeta> for RecordView {
    fn from(m: RecordMeta) -> Self {
        Self {
            record_id: alloy::hex::encode(m.record_id),
            owner: m.owner,
            category: m.category,
            resource_type: m.resource_type,
            version: m.current_version,
            created_by: m.created_by,
            created_at_ms: m.created_at_ms,
            updated_at_ms: m.updated_at_ms,
            erased: m.erased,
            attachment_size: m.attachment_size,
        }
    }
}

pub(super) fn version_from(ciphertext: &str, keys: &[WrappedKeyBody]) -> Result<NewVersion, ApiError> {
    Ok(NewVersion { ciphertext: ids::base64("ciphertext", ciphertext)?, wrapped_keys: wrapped_keys(keys)? })
}

fn wrapped_keys(keys: &[WrappedKeyBody]) -> Result<Vec<(Address, Vec<u8>)>, ApiError> {
    keys.iter().map(|k| Ok((ids::address(&k.recipient)?, ids::base64("wrapped", &k.wrapped)?))).collect()
}

/// The record, if the caller owns it; anyone else gets the same 404 as for a missing record, so
/// ids cannot be probed.
pub(super) async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<RecordMeta, ApiError> {
    let meta = state.records.find(&ids::record_id(id)?).await?;
    meta.filter(|m| m.owner == caller.address).ok_or_else(|| ApiError::not_found("no such record"))
}

/// A record the caller owns or wrote for its owner; anyone else gets the same 404 as for a
/// missing record.
async fn owned_or_written(state: &AppState, caller: &Caller, id: &str) -> Result<RecordMeta, ApiError> {
    let meta = state.records.find(&ids::record_id(id)?).await?;
    meta.filter(|m| m.owner == caller.address || m.created_by == caller.address)
        .ok_or_else(|| ApiError::not_found("no such record"))
}

/// A provider that wrote a patient's record acts only on the versions it wrote itself, never on
/// one the patient wrote (404, as for a version that does not exist).
pub(super) async fn check_version_writer(
    state: &AppState,
    caller: &Caller,
    meta: &RecordMeta,
    version: u32,
) -> Result<(), ApiError> {
    match state.records.version_author(&meta.record_id, version).await? {
        Some(author) if author == caller.address => Ok(()),
        _ => Err(ApiError::not_found("no such record version written by you")),
    }
}

/// The writer of a patient's record may act on it only while its write grant is live.
pub(super) async fn check_writer(state: &AppState, caller: &Caller, meta: &RecordMeta) -> Result<(), ApiError> {
    caller.check_provider_mfa(state)?;
    let request = ReleaseRequest {
        provider: caller.address,
        patient: meta.owner,
        record_id: meta.record_id,
        category: meta.category,
    };
    match state.gate.decide_write(&request).await? {
        Decision::Deny(denial) => Err(ApiError::from(&denial)),
        Decision::Release(_) => Ok(()),
    }
}

/// Stores a sealed record with its wrapped keys; a provider names `patient` to write under a write grant.
#[utoipa::path(
    post,
    path = "/v1/records",
    tag = "records",
    operation_id = "create_record",
    request_body = CreateRecordBody,
    responses(
        (status = 201, description = "Stored. Lists the providers with a live grant on the category that still need a \
            wrapped key", body = RecordCreated),
        (status = 400, description = "invalid_record_id / invalid_address / invalid_base64 / unknown_resource_type / \
            invalid_ciphertext / invalid_wrapped_key / missing_owner_key / origin_not_allowed / origin_too_large / \
            malformed_json / invalid_body",
            body = ErrorBody),
        Unauthorized,
        (status = 403, description = "Writing for a patient: mfa_required / provider_not_registered / \
            provider_suspended / no_live_grant / not_in_record_set / refused_by_chain", body = ErrorBody),
        (status = 409, description = "record_exists", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
        (status = 503, description = "mirror_stale / chain_unavailable: the vault cannot decide now", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateRecordBody>,
) -> Result<(StatusCode, Json<RecordCreated>), ApiError> {
    let record_id = ids::record_id(&body.record_id)?;
    let patient = body.patient.as_deref().map(ids::address).transpose()?.unwrap_or(caller.address);
    if patient != caller.address {
        caller.check_provider_mfa(&state)?;
        let request = ReleaseRequest { provider: caller.address, patient, record_id, category: body.category };
        if let Decision::Deny(denial) = state.gate.decide_write(&request).await? {
            // A provider refused (its write grant ended, it was suspended) is in her log; a wallet
            // that was never a provider is not, so that strangers cannot grow her log.
            if denial != crate::Denial::ProviderNotRegistered {
                log_refused(&state, "record_created", caller.address, patient, record_id, denial.code()).await?;
            }
            return Err(ApiError::from(&denial));
        }
    }
    let version = version_from(&body.ciphertext, &body.wrapped_keys)?;
    // Sealed under a key only the patient derives: a provider writing for her has nothing to put here.
    if body.origin.is_some() && patient != caller.address {
        return Err(ApiError::bad_request("origin_not_allowed", "only the patient herself stores a record's origin"));
    }
    let origin = body.origin.as_deref().map(|o| ids::base64("origin", o)).transpose()?;
    let new =
        NewRecord { record_id, owner: patient, category: body.category, resource_type: body.resource_type, origin };
    let meta = state.records.create(&new, caller.address, &version, now_ms()).await?;
    log(&state, "record_created", caller.address, &meta).await?;
    let readers = providers_with_live_grants(&state, patient, body.category, is_identity(&meta)).await?;
    Ok((StatusCode::CREATED, Json(created(meta, &version, &readers))))
}

/// The answer for a record just stored: the providers with a live grant that reads it (`readers`)
/// who have no key yet, for the client to wrap for.
pub(super) fn created(
    meta: RecordMeta,
    version: &NewVersion,
    readers: &[(Address, alloy::primitives::B256)],
) -> RecordCreated {
    let wrapped_for: BTreeSet<Address> = version.wrapped_keys.iter().map(|(a, _)| *a).collect();
    let needing = readers
        .iter()
        .filter(|(provider, _)| !wrapped_for.contains(provider))
        .map(|&(provider, encryption_key)| ProviderNeedingKey { provider, encryption_key })
        .collect();
    RecordCreated { record: RecordView::from(meta), providers_needing_keys: needing }
}

/// The caller's own records (metadata only), optionally of one category.
#[utoipa::path(
    get,
    path = "/v1/records",
    tag = "records",
    operation_id = "list_records",
    params(("category" = Option<String>, Query, description = "Only this category, e.g. `lab_results`")),
    responses(
        (status = 200, description = "The caller's records", body = Vec<RecordView>),
        (status = 400, description = "invalid_query (e.g. an unknown category)", body = ErrorBody),
        Unauthorized,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<RecordView>>, ApiError> {
    let records = state.records.list(caller.address, query.category).await?;
    Ok(Json(records.into_iter().map(RecordView::from).collect()))
}

/// The current version's ciphertext and the data key wrapped for the owner.
#[utoipa::path(
    get,
    path = "/v1/records/{id}",
    tag = "records",
    operation_id = "fetch_record",
    params(("id" = String, Path, description = "The record id: a UUID, dashed or as 32 hex digits")),
    responses(
        (status = 200, description = "The record, its ciphertext and the caller's wrapped key", body = RecordContent),
        (status = 400, description = "invalid_record_id", body = ErrorBody),
        Unauthorized,
        (status = 404, description = "not_found (also for a record the caller does not own)", body = ErrorBody),
        (status = 410, description = "record_erased", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn fetch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RecordContent>, ApiError> {
    let meta = owned_live(&state, &caller, &id).await?;
    let (ciphertext, wrapped_key) = sealed_version(&state, &meta, meta.current_version, caller.address).await?;
    let origin = state.records.origins(&[meta.record_id]).await?.remove(&meta.record_id).map(|o| ids::to_base64(&o));
    Ok(Json(RecordContent { record: RecordView::from(meta), ciphertext, wrapped_key, origin }))
}

/// The caller's own record, refused with 410 once erased.
pub(super) async fn owned_live(state: &AppState, caller: &Caller, id: &str) -> Result<RecordMeta, ApiError> {
    let meta = owned(state, caller, id).await?;
    if meta.erased {
        return Err(RecordError::Erased.into());
    }
    Ok(meta)
}

/// A version's ciphertext and its data key wrapped for `reader` (if there is one), as base64.
pub(super) async fn sealed_version(
    state: &AppState,
    meta: &RecordMeta,
    version: u32,
    reader: Address,
) -> Result<(String, Option<String>), ApiError> {
    let ciphertext = state.records.ciphertext(&meta.record_id, version).await?;
    let wrapped = state.records.wrapped_key(&meta.record_id, version, reader).await?;
    Ok((ids::to_base64(&ciphertext), wrapped.map(|w| ids::to_base64(&w))))
}

/// A new version (the old ones are kept), with its wrapped keys.
#[utoipa::path(
    put,
    path = "/v1/records/{id}",
    tag = "records",
    operation_id = "update_record",
    params(("id" = String, Path, description = "The record id: a UUID, dashed or as 32 hex digits")),
    request_body = VersionBody,
    responses(
        (status = 200, description = "The record's metadata at its new version", body = RecordView),
        (status = 400, description = "invalid_record_id / invalid_address / invalid_base64 / invalid_ciphertext / \
            invalid_wrapped_key / missing_owner_key / origin_too_large / malformed_json / invalid_body",
            body = ErrorBody),
        Unauthorized,
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "record_exists: a concurrent update won", body = ErrorBody),
        (status = 410, description = "record_erased", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VersionBody>,
) -> Result<Json<RecordView>, ApiError> {
    let meta = owned(&state, &caller, &id).await?;
    let version = version_from(&body.ciphertext, &body.wrapped_keys)?;
    let origin = body.origin.as_deref().map(|o| ids::base64("origin", o)).transpose()?;
    let meta = state
        .records
        .update_with_origin(&meta.record_id, caller.address, &version, origin.as_deref(), now_ms())
        .await?;
    log(&state, "record_updated", caller.address, &meta).await?;
    Ok(Json(meta.into()))
}

/// Crypto-shreds the record: every ciphertext and wrapped key is dropped, the metadata row stays.
#[utoipa::path(
    delete,
    path = "/v1/records/{id}",
    tag = "records",
    operation_id = "erase_record",
    params(("id" = String, Path, description = "The record id: a UUID, dashed or as 32 hex digits")),
    responses(
        (status = 204, description = "Erased"),
        (status = 400, description = "invalid_record_id", body = ErrorBody),
        Unauthorized,
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 410, description = "record_erased", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let meta = owned(&state, &caller, &id).await?;
    let erased = match state.records.erase(&meta.record_id, now_ms()).await {
        Ok(erased) => erased,
        Err(RecordError::Erased) => {
            // A repeat, or a retry after the objects could not be deleted: make sure none is left.
            state.blobs.erase_record(&meta.record_id, &[]).await?;
            return Err(RecordError::Erased.into());
        }
        Err(err) => return Err(err.into()),
    };
    log(&state, "record_erased", caller.address, &meta).await?;
    state.blobs.erase_record(&meta.record_id, &erased.attachment_blobs).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds data keys, wrapped by the client, for more readers of a version: the owner's client, or
/// the provider that wrote the record while its write grant is live (it holds the data key it
/// sealed with, and wraps for the patient's other grantees as the patient's client would). Only
/// the owner may replace a key that exists; the writer may add keys for readers that have none.
/// Every call on a record the caller owns or wrote, accepted or refused, is in the patient's
/// audit log (`keys_added`, outcome `ok` or the refusal's code).
#[utoipa::path(
    post,
    path = "/v1/records/{id}/versions/{version}/keys",
    tag = "records",
    params(
        ("id" = String, Path, description = "The record id: a UUID, dashed or as 32 hex digits"),
        ("version" = u32, Path, description = "The version, from 1"),
    ),
    request_body = KeysBody,
    responses(
        (status = 204, description = "Added"),
        (status = 400, description = "invalid_record_id / invalid_version / invalid_address / invalid_base64 / \
            invalid_wrapped_key / duplicate_recipient / malformed_json / invalid_body", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "The writing provider: mfa_required / provider_not_registered / \
            provider_suspended / no_live_grant (its write grant ended)", body = ErrorBody),
        (status = 404, description = "not_found (the record or the version)", body = ErrorBody),
        (status = 409, description = "wrapped_key_exists: a different key is already wrapped for a recipient and \
            only the owner may replace it", body = ErrorBody),
        (status = 410, description = "record_erased", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
        (status = 503, description = "mirror_stale / chain_unavailable: the vault cannot decide now", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn add_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
    ApiJson(body): ApiJson<KeysBody>,
) -> Result<StatusCode, ApiError> {
    let meta = owned_or_written(&state, &caller, &id).await?;
    let added = add_keys_to(&state, &caller, &meta, &version, &body).await;
    let entry = AuditEntry {
        patient: Some(meta.owner),
        record_id: Some(meta.record_id),
        outcome: added.as_ref().err().map_or("ok", |err| err.code).to_owned(),
        ..crate::audit_log::stamped("keys_added", caller.address)
    };
    state.audit.append(&entry).await?;
    added.map(|()| StatusCode::NO_CONTENT)
}

async fn add_keys_to(
    state: &AppState,
    caller: &Caller,
    meta: &RecordMeta,
    version: &str,
    body: &KeysBody,
) -> Result<(), ApiError> {
    let version = ids::version(version)?;
    let keys = wrapped_keys(&body.wrapped_keys)?;
    let adder = if meta.owner == caller.address {
        KeyAdder::Owner
    } else {
        check_writer(state, caller, meta).await?;
        check_version_writer(state, caller, meta, version).await?;
        KeyAdder::Writer
    };
    Ok(state.records.add_wrapped_keys(&meta.record_id, version, &keys, adder, now_ms()).await?)
}

/// A refused write by a provider, in the patient's log with the refusal's code as its outcome.
pub(super) async fn log_refused(
    state: &AppState,
    kind: &str,
    actor: Address,
    patient: Address,
    record_id: RecordId,
    code: &str,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        patient: Some(patient),
        record_id: Some(record_id),
        outcome: code.to_owned(),
        ..crate::audit_log::stamped(kind, actor)
    };
    Ok(state.audit.append(&entry).await?)
}

pub(super) async fn log(state: &AppState, kind: &str, actor: Address, meta: &RecordMeta) -> Result<(), ApiError> {
    Ok(state.audit.append(&entry(kind, actor, meta)).await?)
}

/// The audit entry for `actor` doing `kind` to the record `meta` describes.
pub(super) fn entry(kind: &str, actor: Address, meta: &RecordMeta) -> AuditEntry {
    AuditEntry { patient: Some(meta.owner), record_id: Some(meta.record_id), ..crate::audit_log::stamped(kind, actor) }
}

/// Active providers holding a live grant from `patient` on `category` (on any category, for her
/// own Patient record, but those she hid who she is from), with their published key.
pub(super) async fn providers_with_live_grants(
    state: &AppState,
    patient: Address,
    category: Category,
    identity: bool,
) -> Result<Vec<(Address, alloy::primitives::B256)>, ApiError> {
    let now = now_ms() / 1_000;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    // Who she is goes to every provider she shares anything with, but those she hid it from.
    let hidden: BTreeSet<Address> = if identity {
        state.identity_sharing.hidden_from(patient).await?.into_iter().collect()
    } else {
        BTreeSet::new()
    };
    for grant in state.mirror.grants_of_patient(state.chain_id, patient).await? {
        let live = grant.state_at(now) == medkey_indexer::model::GrantState::Live;
        let covers = grant.covers_category(category.index()) || (identity && !hidden.contains(&grant.provider));
        if !live || !covers || !seen.insert(grant.provider) {
            continue;
        }
        if let Some(p) = state.mirror.provider(state.chain_id, grant.provider).await?
            && p.status == medkey_indexer::model::ProviderStatus::Active
        {
            out.push((p.address, p.encryption_key));
        }
    }
    Ok(out)
}
