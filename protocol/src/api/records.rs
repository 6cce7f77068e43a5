//! `/v1/records*`: a patient's own sealed records, their versions, wrapped keys and attachments.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Category;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WrappedKeyBody {
    /// The reader's address.
    #[schema(example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub recipient: String,
    /// Base64 of the 81-byte wrapped key.
    pub wrapped: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRecordBody {
    /// UUID chosen by the client (the envelope is bound to it).
    pub record_id: String,
    /// The patient the record belongs to; defaults to the caller. A provider sets it to write
    /// under a write grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub patient: Option<String>,
    /// A record category name, e.g. `lab_results` (the consent vocabulary, 16 names).
    #[schema(value_type = String, example = "lab_results")]
    pub category: Category,
    /// A FHIR R4 resource type, e.g. `Observation`.
    #[schema(example = "Observation")]
    pub resource_type: String,
    /// Base64 of the sealed record.
    pub ciphertext: String,
    pub wrapped_keys: Vec<WrappedKeyBody>,
    /// Base64 of where the record came from in the patient's file (its Bundle, its entry's
    /// `fullUrl`), sealed by her client under a key only she derives (see `envelope::origin`);
    /// at most 16 KiB. Only the patient herself may set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionBody {
    /// Base64 of the sealed new version.
    pub ciphertext: String,
    pub wrapped_keys: Vec<WrappedKeyBody>,
    /// Base64 of the record's sealed origin, replacing the one it had (at most 16 KiB; only the
    /// patient herself updates her records). Absent: the origin stays as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysBody {
    pub wrapped_keys: Vec<WrappedKeyBody>,
}

/// A record's metadata (never its content).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    /// 32 lowercase hex digits.
    #[schema(example = "00112233445566778899aabbccddeeff")]
    pub record_id: String,
    /// The patient's address (0x-prefixed, checksummed).
    #[schema(value_type = String, example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub owner: Address,
    #[schema(value_type = String, example = "lab_results")]
    pub category: Category,
    pub resource_type: String,
    /// The current version, from 1.
    pub version: u32,
    /// The address that stored the first version.
    #[schema(value_type = String, example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub created_by: Address,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    /// Crypto-shredded: every ciphertext and key is gone, this row stays.
    pub erased: bool,
    /// Bytes of the current version's encrypted attachment, if it has one.
    #[serde(default)]
    pub attachment_size: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordCreated {
    pub record: RecordView,
    /// Providers with a live grant on the record's category and no wrapped key yet: wrap for
    /// them (with the key read from the chain, not this one) through the keys route.
    pub providers_needing_keys: Vec<ProviderNeedingKey>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderNeedingKey {
    #[schema(value_type = String, example = "0x90F79bf6EB2c4f870365E785982E1f101E93b906")]
    pub provider: Address,
    /// As the vault's mirror has it; a client wraps to the key it reads from the chain.
    #[schema(value_type = String, example = "0x8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")]
    pub encryption_key: alloy::primitives::B256,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordContent {
    pub record: RecordView,
    /// Base64 of the sealed current version.
    pub ciphertext: String,
    /// Base64 of the data key wrapped for the caller, if there is one.
    pub wrapped_key: Option<String>,
    /// Base64 of the sealed origin the patient stored with the record, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// One stored version of a record, as its owner's history lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VersionView {
    /// From 1.
    pub version: u32,
    /// Bytes of the sealed version.
    pub size: u64,
    /// The address that stored this version (the patient, or a provider under a write grant).
    #[schema(value_type = String, example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub created_by: Address,
    pub created_at_ms: u64,
    /// Bytes of this version's encrypted attachment, if it has one.
    pub attachment_size: Option<u64>,
}

/// A record's versions, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordHistory {
    pub record: RecordView,
    pub versions: Vec<VersionView>,
}

/// One version of a record: its ciphertext and the data key wrapped for the owner.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionContent {
    /// The record as it is now (its `version` is the current one).
    pub record: RecordView,
    pub version: VersionView,
    /// Base64 of the sealed version.
    pub ciphertext: String,
    /// Base64 of the version's data key wrapped for the owner, if there is one.
    pub wrapped_key: Option<String>,
}

/// Many records at once: 1 to 500 distinct ids.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordIdsBody {
    /// 1 to 500 distinct record ids (UUIDs, dashed or as 32 hex digits).
    #[schema(example = json!(["00112233445566778899aabbccddeeff"]))]
    pub record_ids: Vec<String>,
}

/// Many new records of the caller's own at once (an import): 1 to 500, stored all together or
/// not at all.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRecordsBody {
    /// Each as `POST /v1/records` takes it, without `patient` (or naming the caller).
    pub records: Vec<CreateRecordBody>,
}

/// The records stored, in the order sent, each with the providers that still need a key.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordsCreated {
    pub records: Vec<RecordCreated>,
}

/// The caller's own records asked for, with their ciphertexts and keys, in the order asked;
/// ids that are not the caller's (or are erased) are listed apart, like a missing one.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordContents {
    pub records: Vec<RecordContent>,
    /// 32 lowercase hex digits each.
    pub missing: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AttachmentStored {
    /// The record id as given in the path.
    pub record_id: String,
    pub version: u32,
    /// Bytes stored.
    pub size: u64,
}

/// Raw bytes: an attachment's encrypted stream (the envelope format's STREAM ciphertext).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct EncryptedStream(pub Vec<u8>);
