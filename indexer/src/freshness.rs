//! "Is the mirror close enough to the chain to decide a key release?" Fail closed: no
//! checkpoint, a head not seen recently, or too many blocks behind all answer no.

use std::time::Duration;

use serde::Serialize;

use crate::model::Checkpoint;

/// How far behind the chain the vault tolerates the mirror being.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreshnessPolicy {
    /// Blocks between the head the indexer saw and the last block it committed.
    pub max_lag_blocks: u64,
    /// Time since the indexer last confirmed the chain head.
    pub max_head_age: Duration,
}

impl Default for FreshnessPolicy {
    fn default() -> Self {
        Self { max_lag_blocks: 3, max_head_age: Duration::from_secs(30) }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Freshness {
    pub indexed_block: u64,
    pub head_block: u64,
    pub lag_blocks: u64,
    /// Milliseconds since the head was last confirmed (0 if the clock went backwards).
    pub head_age_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    #[error("the chain mirror has not started: no checkpoint for chain {chain_id}")]
    NoCheckpoint { chain_id: u64 },
    #[error("the chain mirror is {lag_blocks} blocks behind the head (limit {limit})")]
    TooFarBehind { lag_blocks: u64, limit: u64 },
    #[error("the chain head was last confirmed {age_ms} ms ago (limit {limit_ms} ms)")]
    HeadTooOld { age_ms: u64, limit_ms: u64 },
}

impl Freshness {
    pub fn of(checkpoint: &Checkpoint, now_ms: u64) -> Self {
        Self {
            indexed_block: checkpoint.block.number,
            head_block: checkpoint.head_number,
            lag_blocks: checkpoint.head_number.saturating_sub(checkpoint.block.number),
            head_age_ms: now_ms.saturating_sub(checkpoint.head_seen_at_ms),
        }
    }

    pub fn check(&self, policy: &FreshnessPolicy) -> Result<(), Stale> {
        if self.lag_blocks > policy.max_lag_blocks {
            return Err(Stale::TooFarBehind { lag_blocks: self.lag_blocks, limit: policy.max_lag_blocks });
        }
        let limit_ms = u64::try_from(policy.max_head_age.as_millis()).unwrap_or(u64::MAX);
        if self.head_age_ms > limit_ms {
            return Err(Stale::HeadTooOld { age_ms: self.head_age_ms, limit_ms });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256};

    use super::*;
    use crate::model::BlockRef;

    fn checkpoint(indexed: u64, head: u64, seen_ms: u64) -> Checkpoint {
        Checkpoint {
            chain_id: 1,
            registry: Address::ZERO,
            deploy_block: 0,
            block: BlockRef { number: indexed, hash: B256::ZERO, timestamp: 0 },
            head_number: head,
            head_seen_at_ms: seen_ms,
        }
    }

    #[test]
    fn fresh_within_both_limits_and_stale_past_either() {
        let policy = FreshnessPolicy { max_lag_blocks: 2, max_head_age: Duration::from_secs(10) };
        assert_eq!(Freshness::of(&checkpoint(10, 12, 1_000), 11_000).check(&policy), Ok(()));
        assert_eq!(
            Freshness::of(&checkpoint(10, 13, 1_000), 2_000).check(&policy),
            Err(Stale::TooFarBehind { lag_blocks: 3, limit: 2 })
        );
        assert_eq!(
            Freshness::of(&checkpoint(10, 10, 1_000), 11_001).check(&policy),
            Err(Stale::HeadTooOld { age_ms: 10_001, limit_ms: 10_000 })
        );
    }

    #[test]
    fn a_clock_behind_the_checkpoint_is_not_negative_age() {
        assert_eq!(Freshness::of(&checkpoint(5, 5, 9_000), 1_000).head_age_ms, 0);
    }
}
