//! `/v1/records`: a patient's own records (and a provider's writes under a write grant).

use std::collections::BTreeSet;

use alloy::primitives::Address;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use medkey_protocol::Category;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::Caller;
use super::ids;
use super::json::{ApiJson, ApiQuery};
use super::state::now_ms;
use super::{ApiError, AppState};
use crate::access_log::AccessEntry;
use crate::gate::{Decision, ReleaseRequest};
use crate::records::{NewRecord, NewVersion, RecordMeta};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrappedKeyBody {
    recipient: String,
    /// Base64 of the 81-byte wrapped key.
    wrapped: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// UUID chosen by the client (the envelope is bound to it).
    record_id: String,
    /// The patient the record belongs to; defaults to the caller. A provider sets it to write
    /// under a write grant.
    patient: Option<String>,
    category: Category,
    resource_type: String,
    /// Base64 of the sealed record.
    ciphertext: String,
    wrapped_keys: Vec<WrappedKeyBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionBody {
    ciphertext: String,
    wrapped_keys: Vec<WrappedKeyBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysBody {
    wrapped_keys: Vec<WrappedKeyBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    category: Option<Category>,
}

#[derive(Serialize)]
pub struct RecordView {
    record_id: String,
    owner: Address,
    category: Category,
    resource_type: String,
    version: u32,
    created_by: Address,
    created_at_ms: u64,
    updated_at_ms: u64,
    erased: bool,
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
        }
    }
}

fn version_from(ciphertext: &str, keys: &[WrappedKeyBody]) -> Result<NewVersion, ApiError> {
    Ok(NewVersion { ciphertext: ids::base64("ciphertext", ciphertext)?, wrapped_keys: wrapped_keys(keys)? })
}

fn wrapped_keys(keys: &[WrappedKeyBody]) -> Result<Vec<(Address, Vec<u8>)>, ApiError> {
    keys.iter().map(|k| Ok((ids::address(&k.recipient)?, ids::base64("wrapped", &k.wrapped)?))).collect()
}

/// The record, if the caller owns it; anyone else gets the same 404 as for a missing record, so
/// ids cannot be probed.
async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<RecordMeta, ApiError> {
    let meta = state.records.find(&ids::record_id(id)?).await?;
    meta.filter(|m| m.owner == caller.address).ok_or_else(|| ApiError::not_found("no such record"))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let record_id = ids::record_id(&body.record_id)?;
    let patient = body.patient.as_deref().map(ids::address).transpose()?.unwrap_or(caller.address);
    if patient != caller.address {
        caller.check_provider_mfa(&state)?;
        let request = ReleaseRequest { provider: caller.address, patient, record_id, category: body.category };
        if let Decision::Deny(denial) = state.gate.decide_write(&request).await? {
            return Err(ApiError::from(&denial));
        }
    }
    let version = version_from(&body.ciphertext, &body.wrapped_keys)?;
    let new = NewRecord { record_id, owner: patient, category: body.category, resource_type: body.resource_type };
    let meta = state.records.create(&new, caller.address, &version, now_ms()).await?;
    log(&state, "record_created", caller.address, &meta).await?;
    // Providers with a live grant on this category who have no key yet: the client wraps for them.
    let wrapped_for: BTreeSet<Address> = version.wrapped_keys.iter().map(|(a, _)| *a).collect();
    let needing = providers_with_live_grants(&state, patient, body.category)
        .await?
        .into_iter()
        .filter(|(provider, _)| !wrapped_for.contains(provider))
        .map(|(provider, key)| json!({"provider": provider, "encryption_key": key}))
        .collect::<Vec<_>>();
    Ok((StatusCode::CREATED, Json(json!({"record": RecordView::from(meta), "providers_needing_keys": needing}))))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<RecordView>>, ApiError> {
    let records = state.records.list(caller.address, query.category).await?;
    Ok(Json(records.into_iter().map(RecordView::from).collect()))
}

pub async fn fetch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let meta = owned(&state, &caller, &id).await?;
    if meta.erased {
        return Err(crate::records::RecordError::Erased.into());
    }
    let ciphertext = state.records.ciphertext(&meta.record_id, meta.current_version).await?;
    let wrapped = state.records.wrapped_key(&meta.record_id, meta.current_version, caller.address).await?;
    Ok(Json(json!({
        "record": RecordView::from(meta),
        "ciphertext": ids::to_base64(&ciphertext),
        "wrapped_key": wrapped.map(|w| ids::to_base64(&w)),
    })))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VersionBody>,
) -> Result<Json<RecordView>, ApiError> {
    let meta = owned(&state, &caller, &id).await?;
    let version = version_from(&body.ciphertext, &body.wrapped_keys)?;
    let meta = state.records.update(&meta.record_id, caller.address, &version, now_ms()).await?;
    log(&state, "record_updated", caller.address, &meta).await?;
    Ok(Json(meta.into()))
}

pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let meta = owned(&state, &caller, &id).await?;
    state.records.erase(&meta.record_id, now_ms()).await?;
    log(&state, "record_erased", caller.address, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
    ApiJson(body): ApiJson<KeysBody>,
) -> Result<StatusCode, ApiError> {
    let meta = owned(&state, &caller, &id).await?;
    let version: u32 =
        version.parse().map_err(|_| ApiError::bad_request("invalid_version", "a version is a positive integer"))?;
    state.records.add_wrapped_keys(&meta.record_id, version, &wrapped_keys(&body.wrapped_keys)?, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn log(state: &AppState, kind: &str, actor: Address, meta: &RecordMeta) -> Result<(), ApiError> {
    let entry = AccessEntry {
        at_ms: now_ms(),
        kind: kind.into(),
        actor,
        patient: Some(meta.owner),
        record_id: Some(meta.record_id),
        grant_id: None,
        purpose: None,
        outcome: "ok".into(),
    };
    Ok(state.log.append(&entry).await?)
}

/// Active providers holding a live grant from `patient` on `category`, with their published key.
async fn providers_with_live_grants(
    state: &AppState,
    patient: Address,
    category: Category,
) -> Result<Vec<(Address, alloy::primitives::B256)>, ApiError> {
    let now = now_ms() / 1_000;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for grant in state.mirror.grants_of_patient(state.chain_id, patient).await? {
        let live = grant.state_at(now) == medkey_indexer::model::GrantState::Live;
        if !live || !grant.covers_category(category.index()) || !seen.insert(grant.provider) {
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
