//! Anchoring the audit log's tree head on the ConsentRegistry (`anchorAudit(root, size)`), so
//! that a log the vault rewrote or forked after the fact disagrees with the chain for everyone,
//! not only for the clients that kept an earlier head.
//!
//! The anchorer sends from the operator account (it needs `OPERATOR_ROLE`). It anchors when the
//! log has grown by `every_entries` since the last anchor, or has grown at all and `every` has
//! passed; the registry itself refuses a size that does not increase. The indexer mirrors the
//! `AuditAnchored` events like every other.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, TxHash};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use medkey_protocol::ConsentRegistry::{self, ConsentRegistryInstance};

use crate::audit_log::AuditLog;

/// When to anchor.
#[derive(Clone, Copy, Debug)]
pub struct AnchorPolicy {
    pub every_entries: u64,
    pub every: Duration,
}

impl Default for AnchorPolicy {
    fn default() -> Self {
        Self { every_entries: 10_000, every: Duration::from_secs(10 * 60) }
    }
}

/// A head the registry now holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Anchored {
    pub size: u64,
    pub root: B256,
    pub tx_hash: TxHash,
}

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("reading the audit log: {0}")]
    Log(#[from] sqlx::Error),
    #[error("the chain did not take the anchor: {0}")]
    Chain(String),
}

#[derive(Clone, Debug)]
pub struct Anchorer {
    registry: ConsentRegistryInstance<DynProvider>,
    log: AuditLog,
    timeout: Duration,
}

impl Anchorer {
    /// Anchors `log` on `registry` from the operator's `key`, over `rpc_url`.
    pub fn new(
        rpc_url: &str,
        key: PrivateKeySigner,
        registry: Address,
        log: AuditLog,
        timeout: Duration,
    ) -> Result<Self, String> {
        let provider = crate::relay::sending_provider(rpc_url, key, "anchoring operator")?;
        Ok(Self { registry: ConsentRegistry::new(registry, provider), log, timeout })
    }

    /// The size the registry holds now (0 before the first anchor).
    pub async fn anchored_size(&self) -> Result<u64, AnchorError> {
        let call = self.registry.latestAuditAnchor();
        let anchor = tokio::time::timeout(self.timeout, call.call())
            .await
            .map_err(|_| AnchorError::Chain(format!("no answer within {:?}", self.timeout)))?
            .map_err(|err| AnchorError::Chain(err.to_string()))?;
        Ok(anchor.size)
    }

    /// Anchors the current head if it is larger than the anchored one; `None` if it is not.
    pub async fn anchor_now(&self) -> Result<Option<Anchored>, AnchorError> {
        let (size, root) = {
            let tree = self.log.tree().await?;
            (tree.len(), B256::from_slice(tree.root().as_bytes().as_slice()))
        };
        if size == 0 || size <= self.anchored_size().await? {
            return Ok(None);
        }
        let call = self.registry.anchorAudit(root, size);
        let chain = |err: String| AnchorError::Chain(err);
        let pending = call.send().await.map_err(|err| chain(err.to_string()))?;
        let receipt = tokio::time::timeout(self.timeout, pending.get_receipt())
            .await
            .map_err(|_| chain(format!("not mined within {:?}", self.timeout)))?
            .map_err(|err| chain(err.to_string()))?;
        if !receipt.status() {
            return Err(chain(format!("anchor transaction {} reverted", receipt.transaction_hash)));
        }
        Ok(Some(Anchored { size, root, tx_hash: receipt.transaction_hash }))
    }

    /// Anchors by `policy` until `shutdown` resolves. A failed anchor is logged and retried at
    /// the next check; the log keeps growing meanwhile.
    pub async fn run(self, policy: AnchorPolicy, shutdown: impl Future<Output = ()>) {
        let mut last = (self.anchored_size().await.unwrap_or(0), Instant::now());
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            let size = match self.log.tree().await {
                Ok(tree) => tree.len(),
                Err(err) => {
                    tracing::warn!(%err, "cannot read the audit log to anchor it");
                    continue;
                }
            };
            let due =
                size >= last.0 + policy.every_entries.max(1) || (size > last.0 && last.1.elapsed() >= policy.every);
            if !due {
                continue;
            }
            match self.anchor_now().await {
                Ok(Some(anchored)) => {
                    tracing::info!(size = anchored.size, tx = %anchored.tx_hash, "audit log anchored");
                    last = (anchored.size, Instant::now());
                }
                Ok(None) => last.1 = Instant::now(),
                Err(err) => tracing::warn!(%err, "anchoring the audit log failed; retrying"),
            }
        }
    }
}
