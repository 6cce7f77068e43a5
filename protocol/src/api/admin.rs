//! What the registry console shows its role holders about the running system: the audit log
//! against its anchor on chain, the chain mirror's freshness, the relayer's balance, webhook
//! deliveries, and who holds which registry role.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SystemStatus {
    pub anchoring: AnchoringStatus,
    pub indexer: IndexerStatus,
    /// `None` when the gasless relay is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relayer: Option<RelayerStatus>,
    pub webhooks: WebhookCounts,
    /// Current holders, from the chain's role events, by role then account.
    pub roles: Vec<RoleHolder>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AnchoringStatus {
    /// Entries in the vault's audit log now.
    pub log_size: u64,
    /// The log's root now, 0x-hex.
    pub log_root: String,
    /// The last anchored head on chain (none yet: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchored_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchored_root: Option<String>,
    /// Unix ms of the anchoring block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchored_at_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IndexerStatus {
    pub indexed_block: u64,
    pub head_block: u64,
    pub lag_blocks: u64,
    /// Milliseconds since the indexer last confirmed the chain head.
    pub head_age_ms: u64,
    /// Whether the vault would release keys now (the freshness policy).
    pub fresh: bool,
    /// Why not, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RelayerStatus {
    pub address: String,
    /// In wei, as a decimal string.
    pub balance_wei: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookCounts {
    /// Whether notifications are configured.
    pub enabled: bool,
    pub pending: u64,
    pub delivered: u64,
    /// Given up after every retry; retry them with `POST /v1/admin/webhooks/{id}/retry`.
    pub dead: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RoleHolder {
    /// `admin`, `registrar`, `pauser`, `operator`, or the role's hash when unknown.
    pub role: String,
    pub account: String,
}

/// A webhook delivery that failed, without its payload.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FailedDelivery {
    pub id: String,
    pub event_type: String,
    pub attempts: u32,
    pub created_at_ms: u64,
    /// An HTTP status or a transport error; never the receiver's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// One step of a provider's history with the registry, as the chain recorded it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderHistoryStep {
    /// `registered`, `profile_updated`, `suspended`, `reinstated` or `key_rotated`.
    pub kind: String,
    /// Unix ms of the block, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    pub block_number: u64,
    pub tx_hash: String,
    /// keccak256 of the registrar's reason, for a suspension or a reinstatement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_hash: Option<String>,
    /// The reason's words, when the vault holds them (check them against the hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
