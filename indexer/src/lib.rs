//! The Medkey indexer: a faithful, queryable mirror of the ConsentRegistry in PostgreSQL or
//! SQLite, so the vault can decide a key release without asking the chain.
//!
//! - [`sync::Indexer`] follows the chain: adaptive eth_getLogs backfill, then block-by-block
//!   following with parent-hash checks; reorgs are unwound up to a configured depth.
//! - [`store::Store`] is the mirror: each block's rows commit with the checkpoint in one
//!   transaction (exactly once), and [`store::Store::live_grants`] answers the vault's question.
//! - [`freshness`] lets the vault fail closed when the mirror lags the chain.

pub mod backoff;
pub mod chain;
pub mod changes;
pub mod config;
pub mod freshness;
pub mod metrics;
pub mod model;
pub mod store;
pub mod sync;

pub use config::{Finality, IndexerConfig};
pub use freshness::{Freshness, FreshnessPolicy, Stale};
pub use metrics::Metrics;
pub use store::{Backend, Store, StoreError};
pub use sync::{Indexer, IndexerError};
