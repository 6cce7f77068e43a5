//! The sync loop: backfill in adaptive eth_getLogs ranges, then follow the head block by block,
//! checking each block's parent hash and unwinding reorgs.
//!
//! There are no separate phases to hand off between. Every step starts from the committed
//! checkpoint: blocks deeper than the reorg cap below the target are taken in ranges, the rest
//! one at a time by hash. So the switch from backfill to following can neither skip nor repeat
//! a block, and a restart resumes exactly where the last commit left off.

use std::pin::pin;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use futures_util::StreamExt;
use medkey_protocol::clock::now_ms;

use crate::backoff::Backoff;
use crate::chain::{Chain, Header, RpcError};
use crate::changes::{self, DecodeError, PositionedChange};
use crate::config::{Finality, IndexerConfig};
use crate::metrics::Metrics;
use crate::model::{BlockRef, Checkpoint};
use crate::store::{BlockBatch, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error("the node serves chain {actual}, but the deployment is for chain {expected}")]
    WrongChain { expected: u64, actual: u64 },
    #[error(
        "reorg deeper than the configured cap of {max} blocks (unwinding from block {from} found no common \
         ancestor at or above block {lowest}); refusing to delete mirrored history — investigate the node, \
         then raise --max-reorg-depth or rebuild the mirror"
    )]
    ReorgTooDeep { from: u64, lowest: u64, max: u64 },
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

/// Keeps the mirror in `store` in step with the registry on the chain.
pub struct Indexer {
    config: IndexerConfig,
    chain: Chain,
    store: Store,
    metrics: Metrics,
    log_range: u64,
    prefetch: Option<Prefetch>,
    progress: Progress,
}

/// The next backfill range's logs, being read while the current range is committed.
struct Prefetch {
    from: u64,
    to: u64,
    task: tokio::task::JoinHandle<Result<Vec<alloy::rpc::types::Log>, RpcError>>,
}

impl Indexer {
    pub async fn connect(config: IndexerConfig, store: Store, metrics: Metrics) -> Result<Self, IndexerError> {
        let chain =
            Chain::connect(&config.rpc_url, config.ws_url.as_deref(), config.registry, config.rpc_timeout).await?;
        let log_range = config.initial_log_range.clamp(1, config.max_log_range.max(1));
        Ok(Self { config, chain, store, metrics, log_range, prefetch: None, progress: Progress::new() })
    }

    /// Runs until `shutdown` resolves (or, with `exit_when_synced`, until caught up). Node and
    /// database failures are retried with backoff; only conditions a retry cannot fix return.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), IndexerError> {
        let mut shutdown = pin!(shutdown);
        let chain_id = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            id = self.retry_rpc(|chain| async move { chain.chain_id().await }) => id,
        };
        if let Some(expected) = self.config.expected_chain_id
            && expected != chain_id
        {
            return Err(IndexerError::WrongChain { expected, actual: chain_id });
        }
        let mut checkpoint = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            checkpoint = self.start(chain_id) => checkpoint?,
        };
        tracing::info!(
            chain_id,
            registry = %self.config.registry,
            from_block = checkpoint.block.number + 1,
            "indexer starting"
        );
        let mut heads = self.chain.new_heads().await;
        loop {
            let step = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                step = self.step(checkpoint) => step?,
            };
            match step {
                Step::Advanced(next) => checkpoint = next,
                Step::CaughtUp(current) => {
                    checkpoint = current;
                    if self.config.exit_when_synced {
                        return Ok(());
                    }
                    let poll = self.config.poll_interval;
                    tokio::select! {
                        _ = &mut shutdown => return Ok(()),
                        _ = tokio::time::sleep(poll) => {}
                        Some(()) = next_head(&mut heads) => {}
                    }
                }
            }
        }
    }

    async fn start(&self, chain_id: u64) -> Result<Checkpoint, IndexerError> {
        // The mirror starts at the block before the deployment, so the deploy block is checked
        // against its parent like any other.
        let start_number = self.config.deploy_block.saturating_sub(1);
        let start = self.retry_rpc(|chain| async move { required_header(chain, start_number).await }).await;
        loop {
            match self
                .store
                .init_checkpoint(chain_id, self.config.registry, self.config.deploy_block, start.block)
                .await
            {
                Ok(checkpoint) => return Ok(checkpoint),
                Err(StoreError::Database(err)) => self.pause_after_db_error(&err).await,
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// One unit of progress: a range, a block, a reorg unwound, or "nothing to do".
    async fn step(&mut self, checkpoint: Checkpoint) -> Result<Step, IndexerError> {
        let chain_id = checkpoint.chain_id;
        let head = self.retry_rpc(|chain| async move { chain.head().await }).await;
        let target = match self.config.finality {
            Finality::Confirmations(n) => head.saturating_sub(n),
            Finality::Finalized => self.retry_rpc(|chain| async move { chain.finalized().await }).await,
        };
        self.metrics.observe_head(head, checkpoint.block.number);
        self.with_db_retry(|store| async move { store.record_head(chain_id, head, now_ms()).await }).await?;

        let next = checkpoint.block.number + 1;
        if next > target {
            // Idle: make sure the tip we stopped at is still canonical (anvil's evm_revert and
            // reorgs that shorten the chain never show up as a parent-hash mismatch).
            return match self.canonical_hash(checkpoint.block.number).await {
                Some(hash) if hash == checkpoint.block.hash => Ok(Step::CaughtUp(checkpoint)),
                _ => self.unwind(checkpoint).await.map(Step::Advanced),
            };
        }
        let settled = match self.config.finality {
            Finality::Confirmations(_) => target.saturating_sub(self.config.max_reorg_depth),
            Finality::Finalized => target,
        };
        let forget_below = target.saturating_sub(self.config.max_reorg_depth);
        if next <= settled {
            self.backfill_range(checkpoint, settled, forget_below).await
        } else {
            self.follow_block(checkpoint, forget_below).await
        }
    }

    /// Backfill: one eth_getLogs range below the settled line, committed as one batch.
    async fn backfill_range(
        &mut self,
        checkpoint: Checkpoint,
        settled: u64,
        forget_below: u64,
    ) -> Result<Step, IndexerError> {
        if self.canonical_hash(checkpoint.block.number).await != Some(checkpoint.block.hash) {
            // The chain moved under a checkpoint left near the head by an earlier run.
            return self.unwind(checkpoint).await.map(Step::Advanced);
        }
        let from = checkpoint.block.number + 1;
        let mut prefetched = self.prefetch.take();
        if let Some(stale) = prefetched.take_if(|p| p.from != from) {
            stale.task.abort();
        }
        let mut backoff = self.backoff();
        let (to, logs) = loop {
            let (to, result) = match prefetched.take() {
                Some(Prefetch { to, task, .. }) => (
                    to,
                    task.await.unwrap_or_else(|err| {
                        Err(RpcError::Failed { call: "eth_getLogs", message: format!("prefetch task: {err}") })
                    }),
                ),
                None => {
                    let to = settled.min(from + self.log_range - 1);
                    (to, self.chain.logs_in_range(from, to).await)
                }
            };
            match result {
                Ok(logs) => break (to, logs),
                Err(err) => {
                    self.metrics.rpc_errors.inc();
                    if err.suggests_smaller_range() && self.log_range > 1 {
                        self.log_range = (self.log_range / 2).max(1);
                        self.metrics.log_range.set(self.log_range as i64);
                        tracing::warn!(%err, from, to, new_range = self.log_range, "narrowing eth_getLogs range");
                    } else {
                        let delay = backoff.next_delay();
                        tracing::warn!(%err, from, to, retry_in = ?delay, "eth_getLogs failed; retrying");
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        };
        // Quiet ranges grow, busy ones shrink, so each call returns a manageable page.
        self.log_range = if logs.len() < 2_000 {
            (self.log_range * 2).min(self.config.max_log_range)
        } else if logs.len() > 10_000 {
            (self.log_range / 2).max(1)
        } else {
            self.log_range
        };
        self.metrics.log_range.set(self.log_range as i64);
        // Read the next range while this one is written: the node and the database work in
        // parallel. Blocks below the settled line do not change, so the read stays valid.
        if to < settled {
            let (from, to) = (to + 1, settled.min(to + self.log_range));
            let chain = self.chain.clone();
            let task = tokio::spawn(async move { chain.logs_in_range(from, to).await });
            self.prefetch = Some(Prefetch { from, to, task });
        }

        let tip = self.retry_rpc(|chain| async move { required_header(chain, to).await }).await;
        if logs.iter().any(|log| log.block_number == Some(to) && log.block_hash != Some(tip.block.hash)) {
            tracing::warn!(block = to, "block changed while reading its logs; re-reading the range");
            return Ok(Step::Advanced(checkpoint));
        }
        let changes = self.decode_all(&logs).await?;
        let mut block_hashes: Vec<(u64, B256)> =
            changes.iter().map(|c| (c.position.block_number, c.position.block_hash)).collect();
        block_hashes.dedup();
        self.commit(checkpoint, tip.block, &changes, &block_hashes, forget_below).await
    }

    /// Following: the next block by number, checked against the stored parent, its logs read by
    /// block hash.
    async fn follow_block(&mut self, checkpoint: Checkpoint, forget_below: u64) -> Result<Step, IndexerError> {
        let number = checkpoint.block.number + 1;
        let Some(header) = self.retry_rpc(|chain| async move { chain.header(number).await }).await else {
            return Ok(Step::Advanced(checkpoint)); // the chain got shorter; the next step sees it
        };
        if header.parent_hash != checkpoint.block.hash {
            return self.unwind(checkpoint).await.map(Step::Advanced);
        }
        let hash = header.block.hash;
        let logs = self.retry_rpc(|chain| async move { chain.logs_in_block(hash).await }).await;
        let mut changes = self.decode_all(&logs).await?;
        for change in &mut changes {
            change.position.block_timestamp.get_or_insert(header.block.timestamp);
        }
        self.commit(checkpoint, header.block, &changes, &[], forget_below).await
    }

    async fn commit(
        &mut self,
        checkpoint: Checkpoint,
        tip: BlockRef,
        changes: &[PositionedChange],
        block_hashes: &[(u64, B256)],
        forget_below: u64,
    ) -> Result<Step, IndexerError> {
        let batch = BlockBatch { parent: checkpoint.block.number, tip, changes, block_hashes, forget_below };
        let chain_id = checkpoint.chain_id;
        let stats = self.with_db_retry(|store| async move { store.commit(chain_id, &batch).await }).await?;
        self.metrics.events.inc_by(stats.events() as u64);
        self.metrics.blocks.inc_by(tip.number - checkpoint.block.number);
        self.metrics.indexed_block.set(tip.number as i64);
        self.progress.record(tip.number, self.metrics.head_block.get().max(0) as u64, stats.events());
        Ok(Step::Advanced(Checkpoint { block: tip, ..checkpoint }))
    }

    /// Walks back from the checkpoint to the newest block whose stored hash is still canonical,
    /// and rolls the mirror back to it. Refuses to go deeper than the configured cap.
    async fn unwind(&mut self, checkpoint: Checkpoint) -> Result<Checkpoint, IndexerError> {
        let chain_id = checkpoint.chain_id;
        let from = checkpoint.block.number;
        let lowest = from.saturating_sub(self.config.max_reorg_depth).max(self.config.deploy_block.saturating_sub(1));
        let mut candidate = from;
        let ancestor = loop {
            let stored = self.with_db_retry(|store| async move { store.block_hash(chain_id, candidate).await }).await?;
            if let Some(stored) = stored {
                let canonical = self.retry_rpc(|chain| async move { chain.header(candidate).await }).await;
                if let Some(header) = canonical.filter(|h| h.block.hash == stored) {
                    break header.block;
                }
            }
            if candidate <= lowest {
                return Err(IndexerError::ReorgTooDeep { from, lowest, max: self.config.max_reorg_depth });
            }
            candidate -= 1;
        };
        tracing::warn!(
            from_block = from,
            ancestor = ancestor.number,
            depth = from - ancestor.number,
            "reorg detected: unwinding orphaned blocks"
        );
        self.with_db_retry(|store| async move { store.rollback(chain_id, from, ancestor).await }).await?;
        self.metrics.reorgs.inc();
        self.metrics.indexed_block.set(ancestor.number as i64);
        Ok(Checkpoint { block: ancestor, ..checkpoint })
    }

    async fn canonical_hash(&self, number: u64) -> Option<B256> {
        self.retry_rpc(|chain| async move { chain.header(number).await }).await.map(|h| h.block.hash)
    }

    async fn decode_all(&self, logs: &[alloy::rpc::types::Log]) -> Result<Vec<PositionedChange>, IndexerError> {
        let mut decoded = Vec::with_capacity(logs.len());
        for log in logs {
            if log.removed || log.address() != self.config.registry {
                continue;
            }
            if let Some(change) = changes::decode(log)? {
                decoded.push(change);
            }
        }
        decoded.sort_by_key(|c| (c.position.block_number, c.position.log_index));
        // Audit anchors record their block's time; fetch it when the node leaves it out of logs.
        for change in &mut decoded {
            if change.position.block_timestamp.is_none()
                && matches!(change.change, changes::Change::AuditAnchored { .. })
            {
                let number = change.position.block_number;
                let header = self.retry_rpc(|chain| async move { required_header(chain, number).await }).await;
                change.position.block_timestamp = Some(header.block.timestamp);
            }
        }
        Ok(decoded)
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(Duration::from_millis(100), self.config.max_backoff)
    }

    /// Retries a node call until it succeeds, with backoff and a warning per failure. The node
    /// being down must never make the indexer skip ahead, so there is no give-up.
    async fn retry_rpc<'a, T, F, Fut>(&'a self, call: F) -> T
    where
        F: Fn(&'a Chain) -> Fut,
        Fut: Future<Output = Result<T, RpcError>>,
    {
        let mut backoff = self.backoff();
        loop {
            match call(&self.chain).await {
                Ok(value) => return value,
                Err(err) => {
                    self.metrics.rpc_errors.inc();
                    let delay = backoff.next_delay();
                    tracing::warn!(%err, retry_in = ?delay, "RPC call failed; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Retries database calls that failed for a transient reason (connection lost, busy);
    /// logical errors (another writer, an inconsistent mirror) are returned.
    async fn with_db_retry<'a, T, F, Fut>(&'a self, call: F) -> Result<T, IndexerError>
    where
        F: Fn(&'a Store) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        loop {
            match call(&self.store).await {
                Ok(value) => return Ok(value),
                Err(StoreError::Database(err)) => self.pause_after_db_error(&err).await,
                Err(err) => return Err(err.into()),
            }
        }
    }

    async fn pause_after_db_error(&self, err: &sqlx::Error) {
        let delay = Duration::from_secs(1).min(self.config.max_backoff);
        tracing::warn!(%err, retry_in = ?delay, "database call failed; retrying");
        tokio::time::sleep(delay).await;
    }

    pub fn registry(&self) -> Address {
        self.config.registry
    }
}

enum Step {
    Advanced(Checkpoint),
    CaughtUp(Checkpoint),
}

async fn required_header(chain: &Chain, number: u64) -> Result<Header, RpcError> {
    chain.header(number).await?.ok_or(RpcError::Failed {
        call: "eth_getBlockByNumber",
        message: format!("block {number} is not on the node yet"),
    })
}

async fn next_head(heads: &mut Option<impl futures_util::Stream<Item = ()> + Unpin>) -> Option<()> {
    match heads {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// Rate-limited progress lines: throughput during backfill, quiet when following.
struct Progress {
    since: Instant,
    events: usize,
    blocks_from: Option<u64>,
}

impl Progress {
    const EVERY: Duration = Duration::from_secs(5);

    fn new() -> Self {
        Self { since: Instant::now(), events: 0, blocks_from: None }
    }

    fn record(&mut self, block: u64, head: u64, events: usize) {
        self.events += events;
        let from = *self.blocks_from.get_or_insert(block);
        let elapsed = self.since.elapsed();
        // Quiet while idle: a line only for a period that indexed something.
        if elapsed >= Self::EVERY && (self.events > 0 || block > from) {
            let rate = self.events as f64 / elapsed.as_secs_f64();
            tracing::info!(
                block,
                lag_blocks = head.saturating_sub(block),
                blocks = block.saturating_sub(from),
                events = self.events,
                events_per_sec = rate.round(),
                "indexed"
            );
            *self = Self::new();
        } else if elapsed >= Self::EVERY {
            *self = Self::new();
        }
    }
}
