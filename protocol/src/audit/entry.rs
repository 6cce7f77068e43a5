//! An audit event and its canonical encoding. Two parties that hold the same entry derive the
//! same leaf, byte for byte, whatever JSON or database carried it.
//!
//! ```text
//! canonical = "medkey/v1/audit-entry" ‖ len(kind) u8 ‖ kind ‖ at_ms u64 BE ‖ actor(20)
//!           ‖ opt(patient: 20) ‖ opt(record_id: 16) ‖ opt(grant_id: 32) ‖ opt(purpose: 1)
//!           ‖ len(outcome) u8 ‖ outcome
//! opt(x)    = 0x00 | 0x01 ‖ x
//! leaf      = SHA-256(canonical)      (the tree then hashes SHA-256(0x00 ‖ leaf))
//! ```
//!
//! No record content is ever in an entry: ids, addresses, codes and a time.

use crate::record_id::RecordId;
use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"medkey/v1/audit-entry";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: u64,
    /// `key_released`, `key_denied`, `record_created`, `record_updated`, `record_erased`, `keys_added`,
    /// `attachment_stored`, `attachment_released`, `attachment_denied`, `grant_relayed`,
    /// `revoke_relayed`, `login`, `mfa_enabled`, `mfa_disabled`, `encryption_key_published`, `emergency_providers_set`, `access_requested`,
    /// `access_approved`, `access_declined`.
    pub kind: String,
    pub actor: Address,
    pub patient: Option<Address>,
    #[serde(with = "crate::record_id::option_bytes")]
    pub record_id: Option<RecordId>,
    pub grant_id: Option<B256>,
    pub purpose: Option<u8>,
    /// `ok` or the denial code.
    pub outcome: String,
}

impl AuditEntry {
    /// `kind` done by `actor` at `at_ms`, outcome `ok`, naming nothing else yet: callers fill in
    /// the rest with struct update syntax.
    pub fn new(kind: &str, actor: Address, at_ms: u64) -> Self {
        Self {
            at_ms,
            kind: kind.into(),
            actor,
            patient: None,
            record_id: None,
            grant_id: None,
            purpose: None,
            outcome: "ok".into(),
        }
    }

    /// The bytes the leaf commits to (see the module docs). Kind and outcome are short codes;
    /// longer ones are cut at 255 bytes, which no code comes near.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(DOMAIN.len() + 128);
        out.extend_from_slice(DOMAIN);
        short_text(&mut out, &self.kind);
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        out.extend_from_slice(self.actor.as_slice());
        optional(&mut out, self.patient.as_ref().map(|p| p.as_slice()));
        optional(&mut out, self.record_id.as_ref().map(|r| r.as_slice()));
        optional(&mut out, self.grant_id.as_ref().map(|g| g.as_slice()));
        optional(&mut out, self.purpose.as_ref().map(std::slice::from_ref));
        short_text(&mut out, &self.outcome);
        out
    }

    /// The leaf input this entry contributes to the tree.
    pub fn leaf(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }
}

fn short_text(out: &mut Vec<u8>, text: &str) {
    let bytes = &text.as_bytes()[..text.len().min(255)];
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

fn optional(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            out.extend_from_slice(bytes);
        }
    }
}
