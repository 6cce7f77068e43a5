//! The mirror's storage: one schema on PostgreSQL (production) or SQLite (embedded default),
//! reached through sqlx's `Any` driver so that every query and every test runs on both.

mod codec;
mod commit;
mod migrations;
pub mod nodelay;
mod read;
mod rollback;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::sync::watch;

pub use codec::value_rows;
pub use commit::{BlockBatch, CommitStats};
pub use migrations::{EmbeddedMigration, check_twins, embedded_migrator};
pub use read::FreshnessError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with postgres://, postgresql:// or sqlite:")]
    UnsupportedUrl,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the mirror's checkpoint is at block {found}, not {expected}: another indexer is writing to this database")]
    CheckpointMoved { expected: u64, found: u64 },
    #[error("this database mirrors registry {stored} on chain {chain_id}, not {requested}")]
    OtherRegistry { chain_id: u64, stored: alloy::primitives::Address, requested: alloy::primitives::Address },
    #[error("the mirror is inconsistent: {0}")]
    Inconsistent(String),
    #[error("stored value in column {column} is malformed")]
    Malformed { column: &'static str },
}

/// A connection pool to the mirror, with the schema migrated.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Bumped after every write to the checkpoint through this handle (or a clone), so a vault
    /// in the same process sees a new block at once instead of at its next poll.
    writes: Arc<watch::Sender<u64>>,
}

impl Store {
    /// Connects (creating a SQLite file if needed) and runs pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let mut pool_options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            // WAL lets the vault read while the indexer writes; NORMAL is durable across a
            // process crash, which is the failure the exactly-once guarantee is about.
            // secure_delete zeroes what a DELETE or UPDATE frees, so an erased record's
            // ciphertext and keys do not linger in free pages (the vault's erase then
            // checkpoints the WAL past them).
            pool_options = pool_options.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; \
                         PRAGMA secure_delete = ON",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        if backend == Backend::Postgres {
            pool_options = pool_options.after_connect(|conn, _| Box::pin(nodelay::set_on(conn)));
        }
        let pool = pool_options.connect_with(options).await?;
        migrations::migrator(backend).run(&pool).await?;
        Ok(Self { pool, backend, writes: Arc::new(watch::channel(0).0) })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for read-only queries this crate does not offer (tests, diagnostics).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Wakes on every checkpoint write made in this process (see [`Store::checkpoint`] for the
    /// value). Writes by another process are not seen here: poll as well.
    pub fn subscribe_writes(&self) -> watch::Receiver<u64> {
        self.writes.subscribe()
    }

    fn wrote(&self) {
        self.writes.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
