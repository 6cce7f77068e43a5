//! Grants as the chain has them, the EIP-712 drafts a wallet signs, and the gasless relay.

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Category, Purpose};

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantDraft {
    #[schema(example = "0x90F79bf6EB2c4f870365E785982E1f101E93b906")]
    pub provider: String,
    #[schema(value_type = Vec<String>, example = json!(["lab_results", "prescriptions"]))]
    pub categories: Vec<Category>,
    #[schema(value_type = String, example = "TREAT")]
    pub purpose: Purpose,
    /// Unix seconds; omitted: live at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<u32>,
    /// Unix seconds.
    pub expires_at: u32,
    /// The provider may add records too.
    #[serde(default)]
    pub write: bool,
    /// Only these records (ids) rather than whole categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<String>>,
    /// How long the signature stays usable, in seconds (default 3600, at most 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for_s: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeDraft {
    #[schema(value_type = String, example = "0x3c1d6e2f9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b")]
    pub grant_id: B256,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for_s: Option<u64>,
}

/// Input for the wallet's `eth_signTypedData_v4`, and the digest it signs.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Signable {
    /// EIP-712 typed data (`types`, `primaryType`, `domain`, `message`): check it, sign it as
    /// is, and send it back unchanged to `POST /v1/relay`.
    #[schema(value_type = TypedDataJson)]
    pub typed_data: alloy::dyn_abi::TypedData,
    /// The EIP-712 signing hash, 0x-prefixed hex.
    #[schema(value_type = String)]
    pub digest: B256,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayBody {
    #[schema(value_type = TypedDataJson)]
    pub typed_data: alloy::dyn_abi::TypedData,
    /// The wallet's signature, hex (65 bytes).
    pub signature: String,
}

/// A relayed transaction, mined.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Relayed {
    /// 0x-prefixed hex (32 bytes).
    #[schema(value_type = String, example = "0x9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b3c1d6e2f")]
    pub tx_hash: B256,
    pub block_number: u64,
    /// The grant a `grantBySig` created, or the one a `revokeBySig` revoked (0x-prefixed hex).
    #[schema(value_type = String, example = "0x3c1d6e2f9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b")]
    pub grant_id: B256,
}

/// `pending` (not yet started), `live`, `expired` or `revoked`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    Pending,
    Live,
    Expired,
    Revoked,
    /// Neither revoked nor expired, but the registry suspended its provider: nothing is
    /// released under it until the provider is reinstated.
    Suspended,
}

impl GrantState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Live => "live",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
        }
    }
}

/// A grant as the chain recorded it, with its state now and its categories by name.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GrantView {
    pub grant: GrantRecord,
    pub state: GrantState,
    #[schema(value_type = Vec<String>)]
    pub categories: Vec<Category>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GrantRecord {
    #[schema(value_type = String)]
    pub grant_id: B256,
    #[schema(value_type = String)]
    pub patient: Address,
    #[schema(value_type = String)]
    pub provider: Address,
    /// Bit mask over the 16 categories.
    pub categories: u16,
    /// Zero: whole categories; else the registered record set.
    #[schema(value_type = String)]
    pub records_root: B256,
    /// Index of the HL7 PurposeOfUse code.
    pub purpose: u8,
    /// Unix seconds (0: from the block that recorded it).
    pub not_before: u64,
    /// Unix seconds.
    pub expires_at: u64,
    pub write: bool,
    pub emergency: bool,
    #[schema(value_type = Option<String>)]
    pub reason_hash: Option<B256>,
    pub block_number: u64,
    #[schema(value_type = String)]
    pub tx_hash: B256,
    pub log_index: u64,
    pub revoked_block: Option<u64>,
}

/// `GET /v1/grants`: the grants as JSON (`format=json`, the default) or as a FHIR R4
/// `collection` Bundle of `Consent` resources (`format=fhir`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum GrantListing {
    Grants(Vec<GrantView>),
    Fhir(FhirBundle),
}

/// A FHIR R4 Bundle, as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct FhirBundle(pub serde_json::Value);

/// The schema of EIP-712 typed data as `eth_signTypedData_v4` takes it (alloy's `TypedData`).
#[derive(ToSchema)]
#[allow(dead_code, reason = "describes alloy's TypedData JSON")]
pub struct TypedDataJson {
    /// Struct name → its fields in order (`EIP712Domain` included).
    types: std::collections::BTreeMap<String, Vec<TypedDataField>>,
    /// `Grant` or `Revoke`.
    #[schema(rename = "primaryType")]
    primary_type: String,
    domain: TypedDataDomain,
    /// The struct's values by field name; integers wider than 53 bits as 0x-hex strings.
    #[schema(value_type = Object)]
    message: serde_json::Value,
}

#[derive(ToSchema)]
#[allow(dead_code, reason = "describes alloy's TypedData JSON")]
pub struct TypedDataField {
    name: String,
    #[schema(rename = "type")]
    kind: String,
}

#[derive(ToSchema)]
#[allow(dead_code, reason = "describes alloy's TypedData JSON")]
pub struct TypedDataDomain {
    /// `Medkey ConsentRegistry`.
    name: String,
    /// `1`.
    version: String,
    /// The chain id, 0x-hex (e.g. `0x7a69` for 31337).
    #[schema(rename = "chainId", example = "0x7a69")]
    chain_id: String,
    /// The ConsentRegistry's address.
    #[schema(rename = "verifyingContract")]
    verifying_contract: String,
}
