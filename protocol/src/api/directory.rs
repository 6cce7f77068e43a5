//! The provider directory and becoming a provider: applications, the registrar's review, and the
//! reasons behind a suspension or a reinstatement. Public business information only.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::directory::DirectoryProfile;

/// A profile the registry committed to, as the directory serves it. Clients check `signature`
/// against `profile.provider` and the profile's commitment against the chain before they show it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DirectoryEntry {
    pub profile: DirectoryProfile,
    /// The provider's EIP-712 signature over the profile, 0x-hex (65 bytes).
    pub signature: String,
    /// The specialty's name, when the taxonomy code is one Medkey names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialty: Option<String>,
    /// `active` or `suspended`, as the vault's mirror of the chain has it.
    #[schema(example = "active")]
    pub status: String,
    /// When the registry committed to this profile, Unix ms (from the block), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at_ms: Option<u64>,
    /// The registry's latest suspension or reinstatement of this provider, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_action: Option<RegistryAction>,
}

/// A suspension or reinstatement: the chain carries only the reason's hash; its words are shown
/// when the vault holds text with that hash.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistryAction {
    /// `suspended` or `reinstated`.
    pub kind: String,
    /// keccak256 of the reason, 0x-hex, as on chain.
    pub reason_hash: String,
    /// The reason in words, when known (its hash is checked by every client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Unix ms of the block, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DirectoryPage {
    pub providers: Vec<DirectoryEntry>,
    /// How many providers match, over every page.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// Directory entries of these addresses at once (names for a list of grants, say).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryLookupBody {
    /// Up to 500 addresses, 0x-hex.
    pub addresses: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DirectoryLookup {
    /// The listed ones among the addresses asked about, in the order asked; others are left out.
    pub providers: Vec<DirectoryEntry>,
}

/// A provider's application: its profile, signed by its wallet.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationBody {
    pub profile: DirectoryProfile,
    /// EIP-712 signature over the profile by `profile.provider`, 0x-hex (65 bytes).
    pub signature: String,
}

/// An application as the applicant and the registrar see it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ApplicationView {
    /// 32 hex digits.
    pub id: String,
    /// `register` (a new provider) or `update` (a registered provider's new profile).
    pub kind: String,
    /// `pending`, `approved` or `declined`.
    pub status: String,
    pub profile: DirectoryProfile,
    pub signature: String,
    /// What the registrar sends on chain (`registerProvider` / `updateProviderProfile`):
    /// the first 31 bytes of the profile's EIP-712 digest, 0x-hex.
    pub profile_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialty: Option<String>,
    /// Why the registrar declined, in its words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub submitted_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at_ms: Option<u64>,
    /// Other listed providers with the same NPI (the registrar looks into these before approving).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub npi_also_listed_for: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineApplicationBody {
    /// Shown to the applicant: 1 to 500 characters, no control characters.
    pub reason: String,
}

/// The words of a suspension or reinstatement, stored before the registrar sends the transaction
/// that carries their hash.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryReasonBody {
    /// 1 to 500 characters, no control characters. Public: shown to the provider and to patients.
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistryReason {
    /// keccak256 of the reason's UTF-8 bytes, 0x-hex: pass it to `suspendProvider` / `reinstateProvider`.
    pub reason_hash: String,
    pub reason: String,
}

/// The registry roles the caller holds, from the chain's events.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminRoles {
    pub address: String,
    /// Some of `admin`, `registrar`, `pauser`, `operator`.
    pub roles: Vec<String>,
}
