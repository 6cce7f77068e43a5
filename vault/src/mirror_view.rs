//! The vault's in-memory view of the chain mirror, so that a key release reads no mirror row in
//! the common case.
//!
//! A follower task keeps the latest checkpoint in memory. It rereads it the moment the indexer
//! in this process commits (the store's write signal) and otherwise every `poll` (an indexer in
//! another process). What the gate asks about a (provider, patient, category) triple is cached
//! for exactly as long as the mirror stays at the same block: any new block, reorg or rewind
//! empties the cache, so an answer is never older than the checkpoint it is served under. If
//! the follower cannot read the checkpoint, the one in memory ages until the freshness policy
//! calls it stale: the view fails closed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alloy::primitives::Address;
use medkey_indexer::model::{BlockRef, Checkpoint, MirroredGrant, MirroredProvider};
use medkey_indexer::{Store, StoreError};
use tokio::sync::watch;

/// What the mirror says about one (provider, patient, category): the provider's current
/// registration, and the unrevoked grants covering the category that had not expired when read.
/// Time windows are checked at decision time, not here.
#[derive(Clone, Debug)]
pub struct AccessFacts {
    pub provider: Option<MirroredProvider>,
    pub grants: Vec<MirroredGrant>,
}

type FactsKey = (Address, Address, u8);

/// Past this many cached triples the cache starts over (a bound, not an eviction policy).
const MAX_CACHED: usize = 100_000;

#[derive(Clone, Debug)]
pub struct MirrorView {
    store: Store,
    chain_id: u64,
    checkpoint: watch::Receiver<Option<Checkpoint>>,
    /// Shared with the follower task, so a decision can bring the view up to date at once.
    publish: Arc<watch::Sender<Option<Checkpoint>>>,
    /// Held from reading the store's checkpoint to publishing it, by the follower and by
    /// [`MirrorView::catch_up`] alike: reads publish in the order they were made, so a slow read
    /// can never put back an older checkpoint after a newer one was shown (only the store
    /// itself moving back, a reorg, rewinds the view).
    reading: Arc<tokio::sync::Mutex<()>>,
    facts: Arc<Mutex<FactsCache>>,
}

#[derive(Debug, Default)]
struct FactsCache {
    /// The block the cached facts were read at; `None` until the first fill.
    at: Option<BlockRef>,
    entries: HashMap<FactsKey, Arc<AccessFacts>>,
}

impl MirrorView {
    /// Reads the checkpoint once, then follows it on a background task that ends when the last
    /// clone of the view is dropped.
    pub async fn follow(store: Store, chain_id: u64, poll: Duration) -> Result<Self, StoreError> {
        let (publish, checkpoint) = watch::channel(store.checkpoint(chain_id).await?);
        let publish = Arc::new(publish);
        let reading = Arc::new(tokio::sync::Mutex::new(()));
        tokio::spawn(follow_checkpoint(store.clone(), chain_id, poll, publish.clone(), reading.clone()));
        Ok(Self { store, chain_id, checkpoint, publish, reading, facts: Arc::default() })
    }

    /// Reads the store's checkpoint now rather than at the follower's next read, and publishes
    /// it; true if the view moved. The gate calls this before it refuses, so that a decision never
    /// rests on an older block than one another endpoint (reading the store) has already shown.
    pub async fn catch_up(&self) -> Result<bool, StoreError> {
        let _in_order = self.reading.lock().await;
        let latest = self.store.checkpoint(self.chain_id).await?;
        Ok(publish(&self.publish, latest))
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The latest checkpoint the follower has read (`None`: the mirror has not started).
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        *self.checkpoint.borrow()
    }

    /// The facts for (provider, patient, category) as of the mirror at `block`. Reads the
    /// database only on the first question about the triple since the mirror last moved.
    pub async fn facts(
        &self,
        block: &BlockRef,
        provider: Address,
        patient: Address,
        category: u8,
        not_expired_at: u64,
    ) -> Result<Arc<AccessFacts>, StoreError> {
        let key = (provider, patient, category);
        {
            let mut cache = self.facts.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.at.as_ref() != Some(block) {
                cache.at = Some(*block);
                cache.entries.clear();
            } else if let Some(facts) = cache.entries.get(&key) {
                return Ok(facts.clone());
            }
        }
        let facts = Arc::new(AccessFacts {
            provider: self.store.provider(self.chain_id, provider).await?,
            grants: self.store.unexpired_grants(self.chain_id, provider, patient, category, not_expired_at).await?,
        });
        let mut cache = self.facts.lock().unwrap_or_else(PoisonError::into_inner);
        // Only if the mirror has not moved meanwhile; a newer block must be read afresh.
        if cache.at.as_ref() == Some(block) {
            if cache.entries.len() >= MAX_CACHED {
                cache.entries.clear();
            }
            cache.entries.insert(key, facts.clone());
        }
        Ok(facts)
    }
}

/// Sets the view's checkpoint to `latest` (the store is the truth, a rewind included); true if
/// it changed.
fn publish(sender: &watch::Sender<Option<Checkpoint>>, latest: Option<Checkpoint>) -> bool {
    sender.send_if_modified(|current| {
        let changed = *current != latest;
        *current = latest;
        changed
    })
}

async fn follow_checkpoint(
    store: Store,
    chain_id: u64,
    poll: Duration,
    sender: Arc<watch::Sender<Option<Checkpoint>>>,
    reading: Arc<tokio::sync::Mutex<()>>,
) {
    let mut writes = store.subscribe_writes();
    loop {
        tokio::select! {
            () = sender.closed() => return,
            _ = writes.changed() => {}
            () = tokio::time::sleep(poll) => {}
        }
        let _in_order = reading.lock().await;
        match store.checkpoint(chain_id).await {
            Ok(latest) => {
                publish(&sender, latest);
            }
            // The checkpoint in memory ages into "stale": releases stop, nothing is guessed.
            Err(err) => tracing::warn!(%err, "cannot read the mirror's checkpoint"),
        }
    }
}
