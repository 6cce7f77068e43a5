//! Access requests: a provider asks, the patient answers with a grant from her own wallet or declines.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestDraft {
    /// The patient's address.
    #[schema(example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub patient: String,
    /// Record category names (at least one), e.g. `lab_results`.
    #[schema(example = json!(["lab_results", "prescriptions"]))]
    pub categories: Vec<String>,
    /// An HL7 PurposeOfUse code, e.g. `TREAT`.
    #[schema(example = "TREAT")]
    pub purpose: String,
    /// How long the provider asks access for, in seconds: 3600 (1 hour) to 31536000 (365 days).
    /// Any JSON value is accepted here so that a wrong one gets a precise error, not a generic one.
    #[schema(value_type = u64, example = 2_592_000)]
    pub duration_secs: serde_json::Value,
    /// Whether the provider also asks to add records in those categories (a write grant); the
    /// patient may still answer with a read-only grant.
    #[serde(default)]
    pub write: bool,
    /// Free text for the patient, at most 500 characters, no control characters (no line
    /// breaks). Stays off chain and out of webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// The grant the patient made for this request, 0x-prefixed hex (32 bytes).
    #[schema(example = "0x3c1d6e2f9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b")]
    pub grant_id: String,
}

/// An access request as both parties see it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccessRequestView {
    /// 32 hex digits.
    #[schema(example = "8f2c0b7e5d4a41e3b6c9a0f1e2d3c4b5")]
    pub id: String,
    /// `pending`, `approved`, `declined` or `expired` (30 days after it was made, unanswered).
    #[schema(example = "pending")]
    pub status: String,
    #[schema(example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub patient: String,
    #[schema(example = "0x90F79bf6EB2c4f870365E785982E1f101E93b906")]
    pub provider: String,
    #[schema(example = json!(["lab_results"]))]
    pub categories: Vec<String>,
    #[schema(example = "TREAT")]
    pub purpose: String,
    pub duration_secs: u64,
    /// The provider asks to add records in those categories too.
    pub write: bool,
    pub note: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// When a pending request expires (RFC 3339).
    pub expires_at: String,
    /// When the patient answered, or the request expired (RFC 3339).
    pub decided_at: Option<String>,
    /// The patient's grant that answered the request (approved only).
    pub grant_id: Option<String>,
}
