//! The tamper-evident audit log as a client checks it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{AuditEntry, SignedTreeHead};

/// The operator's Ed25519 key that signs tree heads (compare it with the deployment's).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OperatorKey {
    /// Always `Ed25519`.
    #[schema(example = "Ed25519")]
    pub algorithm: String,
    /// Hex (32 bytes), no prefix.
    pub public_key: String,
    /// The chain whose registry this vault serves.
    pub chain_id: u64,
}

/// A signed head and the proof that the log at size `from` is a prefix of it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyAnswer {
    #[schema(value_type = TreeHead)]
    pub tree_head: SignedTreeHead,
    /// Proof hashes, hex (RFC 9162 order).
    pub proof: Vec<String>,
}

/// An entry, where it sits in the tree, and the proof that it is there.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProvenEntry {
    pub leaf_index: u64,
    #[schema(value_type = Entry)]
    pub entry: AuditEntry,
    /// Inclusion proof hashes (hex), leaf to root, under `tree_head`.
    pub proof: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProvenEntries {
    #[schema(value_type = TreeHead)]
    pub tree_head: SignedTreeHead,
    /// Oldest first.
    pub entries: Vec<ProvenEntry>,
}

/// The schema of [`SignedTreeHead`] (documentation of its serde form).
#[derive(ToSchema)]
#[allow(dead_code, reason = "describes SignedTreeHead's JSON")]
pub struct TreeHead {
    chain_id: u64,
    size: u64,
    /// 0x-prefixed hex (32 bytes).
    root: String,
    timestamp_ms: u64,
    /// Ed25519 over `"medkey/v1/tree-head" ‖ chain_id ‖ size ‖ root ‖ timestamp_ms` (u64s big-endian), hex.
    signature: String,
}

/// The schema of [`AuditEntry`] (documentation of its serde form).
#[derive(ToSchema)]
#[allow(dead_code, reason = "describes AuditEntry's JSON")]
pub struct Entry {
    at_ms: u64,
    /// e.g. `key_released`, `key_denied`, `record_created`, `login`.
    kind: String,
    /// Who caused it (0x-prefixed address).
    actor: String,
    patient: Option<String>,
    /// The record's 16 id bytes, as numbers.
    record_id: Option<Vec<u8>>,
    grant_id: Option<String>,
    /// Index of the HL7 PurposeOfUse code.
    purpose: Option<u8>,
    /// `ok`, or the refusal's code.
    outcome: String,
}
