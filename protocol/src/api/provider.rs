//! What a provider reads: key releases through the consent gate, one at a time or a chart at once.

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::RecordView;
use crate::Purpose;

/// A released key: the record's ciphertext and its data key wrapped for the caller.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyRelease {
    pub record: RecordView,
    /// The live grant the release was made under, 0x-prefixed hex (32 bytes).
    #[schema(value_type = String, example = "0x3c1d6e2f9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b")]
    pub grant_id: B256,
    /// The grant's HL7 PurposeOfUse code, e.g. `TREAT`.
    #[schema(value_type = Option<String>, example = "TREAT")]
    pub purpose: Option<Purpose>,
    /// Released under break-glass emergency access.
    pub emergency: bool,
    /// Base64 of the sealed current version.
    pub ciphertext: String,
    /// Base64 of the data key wrapped for the caller (81 bytes).
    pub wrapped_key: String,
}

/// The keys of these records of one patient (a chart in one call).
pub type KeyBatchBody = super::RecordIdsBody;

/// What each record came to: released, or refused with a code.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyBatch {
    /// In the order asked.
    pub released: Vec<KeyRelease>,
    /// In the order asked.
    pub refused: Vec<RefusedKey>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RefusedKey {
    /// 32 lowercase hex digits.
    pub record_id: String,
    /// `not_found` (no such record of this patient, or erased) / `provider_not_registered` /
    /// `provider_suspended` / `no_live_grant` / `not_in_record_set` / `refused_by_chain` /
    /// `key_not_wrapped` / `mirror_stale` / `chain_unavailable`.
    pub error: super::ErrorDetail,
}
