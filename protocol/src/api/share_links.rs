//! SMART Health Links (HL7 SMART Health Cards and Links IG, STU1): a patient shares records with
//! anyone through a link that carries the decryption key itself. `/v1/share-links*` is hers
//! (create, list with every use, revoke, replace the files of a long-lived link); `/shl/{id}` is
//! the public manifest and `/shl/{id}/files/{n}` its files, as the specification names them.
//! The vault holds only JWE ciphertext (`dir` + `A256GCM`) and never the key.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One file of a link: a compact JWE made by the patient's client.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareFileBody {
    /// `application/fhir+json`, `application/smart-health-card` or `application/smart-api-access`
    /// (parameters are dropped: manifests name the type exactly as the specification does).
    #[schema(example = "application/fhir+json")]
    pub content_type: String,
    /// The file as a compact JWE (`alg: dir`, `enc: A256GCM`), at most 5 MiB.
    pub jwe: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShareLinkBody {
    /// 43 characters: 32 random bytes, base64url, chosen by the client (the manifest's path).
    pub id: String,
    /// The manifest URL the link carries: this vault's `/shl/{id}` as the client reaches it.
    #[schema(example = "https://vault.example.org/shl/c1Ju8qCn5uWtAyD0Oz3bu2jyD1O6r8aGyVPBA2JETYE")]
    pub manifest_url: String,
    /// What the patient calls it (shown to her only; the link's own label is inside the payload).
    pub label: String,
    /// A passcode the recipient must give (flag `P`), 4 to 64 characters; stored as a slow hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
    /// When the link stops working (Unix ms); none: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    /// Works for one manifest request only.
    #[serde(default)]
    pub single_use: bool,
    /// Flag `L`: the patient's client may replace the files later (the link stays the same).
    #[serde(default)]
    pub long_lived: bool,
    /// `link` (default) or `emergency` (the emergency card).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The record categories a long-lived link follows, so her clients know which links to
    /// refresh when those records change (names as grants carry them).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub categories: Vec<crate::Category>,
    /// 1 to 20 files.
    pub files: Vec<ShareFileBody>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareFilesBody {
    pub files: Vec<ShareFileBody>,
}

/// One manifest request, as the patient sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShareLinkAccess {
    pub at_ms: u64,
    /// The name the requester gave (the specification's `recipient`), as given.
    pub recipient: String,
    /// `ok`, or why it was refused: `wrong_passcode`, `expired`, `revoked`, `used`, `disabled`,
    /// `not_direct` (a direct request for a link that needs its manifest).
    pub outcome: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShareLinkView {
    pub id: String,
    pub manifest_url: String,
    pub label: String,
    /// `link` or `emergency`.
    pub purpose: String,
    pub created_at_ms: u64,
    pub expires_at_ms: Option<u64>,
    pub single_use: bool,
    pub long_lived: bool,
    #[schema(value_type = Vec<String>)]
    pub categories: Vec<crate::Category>,
    pub has_passcode: bool,
    /// Wrong passcodes still allowed before the link is disabled.
    pub attempts_left: u32,
    /// `active`, `expired`, `revoked`, `used` or `disabled` (its passcode attempts ran out).
    pub state: String,
    pub files: u32,
    /// Every manifest request, oldest first.
    pub accesses: Vec<ShareLinkAccess>,
}

/// The specification's manifest request (its member names).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ManifestRequest {
    /// Who is asking, in words (a person or a system): shown to the patient.
    pub recipient: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
    /// Files up to this many characters come inline (`embedded`) instead of by `location`.
    #[serde(default, rename = "embeddedLengthMax", skip_serializing_if = "Option::is_none")]
    pub embedded_length_max: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ManifestFile {
    #[serde(rename = "contentType")]
    pub content_type: String,
    /// A URL good for one hour that answers with the JWE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<String>,
    /// RFC 3339.
    #[serde(rename = "lastUpdated", default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Manifest {
    /// `finalized`, or `can-change` for a long-lived link.
    pub status: String,
    pub files: Vec<ManifestFile>,
}
