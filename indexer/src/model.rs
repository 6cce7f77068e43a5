//! What the mirror holds, as the vault and the CLI read it.

use alloy::primitives::{Address, B256, FixedBytes};
use serde::Serialize;

/// A grant as the chain recorded it. Its state depends on the time it is asked about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MirroredGrant {
    pub grant_id: B256,
    pub patient: Address,
    pub provider: Address,
    pub categories: u16,
    pub records_root: B256,
    pub purpose: u8,
    pub not_before: u64,
    pub expires_at: u64,
    pub write: bool,
    pub emergency: bool,
    pub reason_hash: Option<B256>,
    pub block_number: u64,
    pub tx_hash: B256,
    pub log_index: u64,
    pub revoked_block: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    Pending,
    Live,
    Expired,
    Revoked,
}

impl MirroredGrant {
    /// The grant's own state at unix time `now`, the same rule as the contract's `isLive`
    /// (window is `[not_before, expires_at)`), minus the provider check, which is separate.
    pub fn state_at(&self, now: u64) -> GrantState {
        if self.revoked_block.is_some() {
            GrantState::Revoked
        } else if now < self.not_before {
            GrantState::Pending
        } else if now >= self.expires_at {
            GrantState::Expired
        } else {
            GrantState::Live
        }
    }

    pub fn covers_category(&self, category_index: u8) -> bool {
        category_index < 16 && self.categories >> category_index & 1 == 1
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderStatus {
    Active,
    Suspended,
}

impl ProviderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// What the registry holds for a provider after an event: the same three fields as its
/// `getProvider`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProviderState {
    pub status: ProviderStatus,
    pub encryption_key: B256,
    /// First 31 bytes of the EIP-712 digest of the provider's signed directory profile.
    pub profile_hash: FixedBytes<31>,
}

/// A registered provider's current state (the latest row of its history).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MirroredProvider {
    pub address: Address,
    pub status: ProviderStatus,
    /// X25519 public key the patient's client wraps data keys to.
    pub encryption_key: B256,
    /// The directory profile the registry committed to (see [`ProviderState::profile_hash`]).
    pub profile_hash: FixedBytes<31>,
    pub updated_block: u64,
}

/// One step of a provider's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProviderHistoryEntry {
    /// `registered`, `profile_updated`, `suspended`, `reinstated` or `key_rotated`.
    pub kind: String,
    pub status: ProviderStatus,
    pub encryption_key: B256,
    pub profile_hash: FixedBytes<31>,
    /// keccak256 of the registrar's reason, for a suspension or a reinstatement.
    pub reason_hash: Option<B256>,
    /// Unix seconds of the event's block, when the node reported it.
    pub block_timestamp: Option<u64>,
    pub block_number: u64,
    pub tx_hash: B256,
    pub log_index: u64,
}

/// One grant or revocation of a registry role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleEvent {
    pub role: B256,
    pub account: Address,
    pub granted: bool,
    pub block_number: u64,
    pub tx_hash: B256,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MirroredAnchor {
    pub operator: Address,
    pub root: B256,
    pub size: u64,
    pub anchored_at: u64,
    pub block_number: u64,
}

/// A block the mirror has processed up to (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BlockRef {
    pub number: u64,
    pub hash: B256,
    pub timestamp: u64,
}

/// The indexer's progress marker, committed with every block's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub chain_id: u64,
    pub registry: Address,
    pub deploy_block: u64,
    pub block: BlockRef,
    /// The chain head the indexer last saw, and when (unix milliseconds).
    pub head_number: u64,
    pub head_seen_at_ms: u64,
}
