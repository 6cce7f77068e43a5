//! What the indexer needs to know: where the chain and the contract are, and how cautious to be.

use std::time::Duration;

use alloy::primitives::Address;
use medkey_protocol::Deployment;

/// Which blocks count as settled enough to mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finality {
    /// Mirror up to `head - confirmations`; reorgs above that are detected and repaired.
    Confirmations(u64),
    /// Mirror up to the node's `finalized` block only: never reorged, but minutes behind.
    Finalized,
}

#[derive(Clone, Debug)]
pub struct IndexerConfig {
    /// JSON-RPC endpoint for calls (HTTP preferred; a ws:// URL also subscribes to heads).
    pub rpc_url: String,
    /// Optional WebSocket endpoint used only for `newHeads` notifications.
    pub ws_url: Option<String>,
    pub registry: Address,
    /// The block the registry was deployed in: nothing before it can hold its events.
    pub deploy_block: u64,
    /// Refuse to start when the node serves another chain (the deployment file's chain id).
    pub expected_chain_id: Option<u64>,
    pub finality: Finality,
    /// The deepest reorg the indexer repairs; anything deeper stops it with an error, because
    /// repairing it would rewrite history the vault has already acted on.
    pub max_reorg_depth: u64,
    /// How often to ask for a new head when the node offers no subscription.
    pub poll_interval: Duration,
    /// Per RPC call; a call that takes longer is retried (and, for eth_getLogs, narrowed).
    pub rpc_timeout: Duration,
    /// Upper bound of the retry backoff.
    pub max_backoff: Duration,
    pub initial_log_range: u64,
    pub max_log_range: u64,
    /// Stop once the mirror has caught up with the chain (backfill jobs, benchmarks).
    pub exit_when_synced: bool,
}

impl IndexerConfig {
    /// Defaults for a deployment: no confirmations (right for anvil; raise it for a public chain
    /// or use `Finality::Finalized`), 64-block reorg cap, 1 s polling.
    pub fn for_deployment(deployment: &Deployment, rpc_url: impl Into<String>) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            ws_url: None,
            registry: deployment.address,
            deploy_block: deployment.deploy_block,
            expected_chain_id: Some(deployment.chain_id),
            finality: Finality::Confirmations(0),
            max_reorg_depth: 64,
            poll_interval: Duration::from_secs(1),
            rpc_timeout: Duration::from_secs(10),
            max_backoff: Duration::from_secs(30),
            initial_log_range: 2_000,
            max_log_range: 50_000,
            exit_when_synced: false,
        }
    }
}
