//! The audit log, verifiable by anyone (issue #5):
//!
//! - `GET /.well-known/medkey-audit-key`: the operator's Ed25519 public key;
//! - `GET /v1/audit/tree-head`: a freshly signed head (chain, size, root, time);
//! - `GET /v1/audit/consistency?from=N`: a signed head and the proof that the log at size N is a
//!   prefix of it (what a client checks against the last head it kept, or the anchored one);
//! - `GET /v1/audit/entries?from=&limit=&actor=&record=&since_ms=&until_ms=` (signed in): the
//!   entries about the caller's records or caused by the caller, each with its inclusion proof
//!   under the returned head.
//!
//! A head and the proofs that go with it are taken under one read of the tree, so they agree.

use axum::Json;
use axum::extract::State;
use medkey_protocol::api::{ConsistencyAnswer, OperatorKey, ProvenEntries, ProvenEntry, TreeHead};
use medkey_protocol::audit::SignedTreeHead;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::ids;
use super::json::ApiQuery;
use super::openapi::{ErrorBody, Internal, Unauthorized};
use super::{ApiError, AppState};
use crate::audit_log::EntryFilter;
use medkey_protocol::clock::now_ms;

const MAX_PAGE: u32 = 1_000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The size of the older head (1 to the current size).
    from: u64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// First leaf index to return (default 0).
    #[serde(default)]
    from: u64,
    /// At most this many (default and maximum 1000).
    #[serde(default)]
    limit: Option<u32>,
    /// Only entries caused by this address (e.g. one provider).
    #[serde(default)]
    actor: Option<String>,
    /// Only entries about this record (a UUID, with or without dashes).
    #[serde(default)]
    record: Option<String>,
    /// Only entries at or after this time (Unix milliseconds).
    #[serde(default)]
    since_ms: Option<u64>,
    /// Only entries before this time (Unix milliseconds).
    #[serde(default)]
    until_ms: Option<u64>,
}

impl EntriesQuery {
    fn filter(self) -> Result<EntryFilter, ApiError> {
        let limit = self.limit.unwrap_or(MAX_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ApiError::bad_request("invalid_query", format!("limit must be 1 to {MAX_PAGE}")));
        }
        if let (Some(since), Some(until)) = (self.since_ms, self.until_ms)
            && since >= until
        {
            return Err(ApiError::bad_request("invalid_query", "since_ms must be before until_ms"));
        }
        Ok(EntryFilter {
            from: self.from,
            limit,
            actor: self.actor.as_deref().map(ids::address).transpose()?,
            record_id: self.record.as_deref().map(ids::record_id).transpose()?,
            since_ms: self.since_ms,
            until_ms: self.until_ms,
        })
    }
}

#[utoipa::path(
    get,
    path = "/.well-known/medkey-audit-key",
    tag = "audit",
    responses((status = 200, description = "The operator's tree-head signing key", body = OperatorKey)),
)]
pub async fn operator_key(State(state): State<AppState>) -> Json<OperatorKey> {
    let public_key = alloy::hex::encode(state.audit_key.verifying_key().as_bytes());
    Json(OperatorKey { algorithm: "Ed25519".into(), public_key, chain_id: state.chain_id })
}

#[utoipa::path(
    get,
    path = "/v1/audit/tree-head",
    tag = "audit",
    responses(
        (status = 200, description = "The current signed tree head", body = TreeHead),
        Internal,
    ),
)]
pub async fn tree_head(State(state): State<AppState>) -> Result<Json<SignedTreeHead>, ApiError> {
    let tree = state.audit.tree().await?;
    Ok(Json(sign(&state, tree.len(), tree.root().as_bytes().as_slice())))
}

#[utoipa::path(
    get,
    path = "/v1/audit/consistency",
    tag = "audit",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "Proof hashes (hex) that the log at size `from` is a prefix of `tree_head`",
            body = ConsistencyAnswer),
        (status = 400, description = "invalid_size (0, or larger than the log)", body = ErrorBody),
        Internal,
    ),
)]
pub async fn consistency(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyAnswer>, ApiError> {
    let tree = state.audit.tree().await?;
    let size = tree.len();
    if query.from == 0 || query.from > size {
        return Err(ApiError::bad_request("invalid_size", format!("from must be 1 to {size}")));
    }
    let proof = tree.prove_consistency((size - query.from) as usize);
    let head = sign(&state, size, tree.root().as_bytes().as_slice());
    Ok(Json(ConsistencyAnswer { tree_head: head, proof: hashes(proof.as_bytes()) }))
}

#[utoipa::path(
    get,
    path = "/v1/audit/entries",
    tag = "audit",
    params(EntriesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Entries about the caller's records or caused by the caller, oldest first",
            body = ProvenEntries),
        (status = 400, description = "invalid_query / invalid_address / invalid_record_id", body = ErrorBody),
        Unauthorized,
        Internal,
    ),
)]
pub async fn entries(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<EntriesQuery>,
) -> Result<Json<ProvenEntries>, ApiError> {
    let logged = state.audit.visible_to(caller.address, &query.filter()?).await?;
    let tree = state.audit.tree().await?;
    let size = tree.len();
    let proven: Vec<ProvenEntry> = logged
        .into_iter()
        // A batch is stored before its leaves join the tree; those few wait for the next head.
        .filter(|l| l.leaf_index < size)
        .map(|l| ProvenEntry {
            proof: hashes(tree.prove_inclusion(l.leaf_index as usize).as_bytes()),
            leaf_index: l.leaf_index,
            entry: l.entry,
        })
        .collect();
    let head = sign(&state, size, tree.root().as_bytes().as_slice());
    Ok(Json(ProvenEntries { tree_head: head, entries: proven }))
}

fn sign(state: &AppState, size: u64, root: &[u8]) -> SignedTreeHead {
    let root = alloy::primitives::B256::from_slice(root);
    SignedTreeHead::sign(&state.audit_key, state.chain_id, size, root, now_ms())
}

fn hashes(proof: &[u8]) -> Vec<String> {
    proof.chunks(32).map(alloy::hex::encode).collect()
}
