//! The audit log: every release and denial, every record change, every relayed signature, as an
//! append-only Merkle tree (`medkey_protocol::audit`) anyone can check.
//!
//! Appends are sequenced like Trillian's: requests hand their entries to one writer task, which
//! gives each batch consecutive leaf indices, stores the batch in a single INSERT and only then
//! adds the leaves to the in-memory tree. A busy vault pays for one transaction per batch, no
//! request holds a lock while it waits, and an append returns only once its entry is stored: a
//! release is never answered before that. Proofs are read from the tree under a read lock.
//!
//! Several vault replicas may share one PostgreSQL database: each batch is stored in a
//! transaction under an advisory lock, at the indices after the last stored entry, so replicas
//! take turns and never clash; a replica whose tree is behind (others appended meanwhile)
//! catches up from the database. (On SQLite, a batch takes the indices after this process's
//! tree, and a clash on the unique index means catch up and try again.) Every replica also
//! catches up before it signs a head.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use alloy::primitives::{Address, B256};
use medkey_indexer::Backend;
use medkey_indexer::store::value_rows;
pub use medkey_protocol::audit::AuditEntry;
use medkey_protocol::audit::Tree;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::VaultMetrics;

/// An entry for `kind` done by `actor` now; fill in the rest with struct update syntax.
pub fn stamped(kind: &str, actor: Address) -> AuditEntry {
    AuditEntry::new(kind, actor, medkey_indexer::sync::now_ms())
}

/// A page of the entries an account may see, narrowed to one actor, one record or a time span.
#[derive(Clone, Debug, Default)]
pub struct EntryFilter {
    /// First leaf index.
    pub from: u64,
    pub limit: u32,
    pub actor: Option<Address>,
    pub record_id: Option<[u8; 16]>,
    /// Inclusive lower and exclusive upper bound on `at_ms`.
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
}

/// A stored entry and its place in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub leaf_index: u64,
    pub entry: AuditEntry,
}

#[derive(Clone, Debug)]
pub struct AccessLog {
    pool: AnyPool,
    queue: mpsc::Sender<Pending>,
    tree: Arc<RwLock<Tree>>,
}

/// The largest batch one INSERT carries (10 columns each, within every backend's parameter cap).
const MAX_BATCH: usize = 1_024;

type Pending = (AuditEntry, oneshot::Sender<Result<(), AppendError>>);

#[derive(Clone, Debug, thiserror::Error)]
pub enum AppendError {
    #[error("the access log could not store the entry: {0}")]
    Database(String),
    #[error("the access log could not store the entry, the database is not answering: {0}")]
    Unavailable(String),
    #[error("the access log writer has stopped")]
    Closed,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the stored audit log is not intact: {0}")]
    Tampered(String),
}

const COLUMNS: &str = "id, leaf_index, leaf, at_ms, kind, actor, patient, record_id, grant_id, purpose, outcome";

impl AccessLog {
    /// Rebuilds the tree from the stored entries, checking each against its stored leaf and
    /// position (an edited, deleted or reordered row stops the vault here), gives a leaf to rows
    /// written before the log was a tree, then starts the writer on the current Tokio runtime.
    pub async fn open(pool: AnyPool, backend: Backend) -> Result<Self, OpenError> {
        Self::open_counted(pool, backend, VaultMetrics::default()).await
    }

    /// [`AccessLog::open`], counting each stored entry by kind and outcome in `metrics`.
    pub async fn open_counted(pool: AnyPool, backend: Backend, metrics: VaultMetrics) -> Result<Self, OpenError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM access_log ORDER BY id")))
            .fetch_all(&pool)
            .await?;
        let mut tree = Tree::new();
        for row in &rows {
            let entry = entry_from_row(row)?;
            let expected = tree.len();
            match (row.try_get::<Option<i64>, _>("leaf_index")?, row.try_get::<Option<Vec<u8>>, _>("leaf")?) {
                (Some(index), Some(leaf)) => {
                    if index as u64 != expected || leaf != entry.leaf() {
                        return Err(OpenError::Tampered(format!("entry {expected} does not match its leaf")));
                    }
                }
                (None, None) => {
                    sqlx::query("UPDATE access_log SET leaf_index = $1, leaf = $2 WHERE id = $3")
                        .bind(expected as i64)
                        .bind(entry.leaf().to_vec())
                        .bind(row.try_get::<i64, _>("id")?)
                        .execute(&pool)
                        .await?;
                }
                _ => return Err(OpenError::Tampered(format!("entry {expected} has half a leaf"))),
            }
            tree.push(entry.leaf());
        }
        let tree = Arc::new(RwLock::new(tree));
        let (queue, pending) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(pool.clone(), backend, tree.clone(), pending, metrics));
        Ok(Self { pool, queue, tree })
    }

    pub async fn append(&self, entry: &AuditEntry) -> Result<(), AppendError> {
        let (reply, stored) = oneshot::channel();
        self.queue.send((entry.clone(), reply)).await.map_err(|_| AppendError::Closed)?;
        stored.await.map_err(|_| AppendError::Closed)?
    }

    /// Appends every entry, returning once all are stored: they are queued together, so the
    /// writer stores them in as few batches as it can (a batch release logs each record).
    pub async fn append_all(&self, entries: &[AuditEntry]) -> Result<(), AppendError> {
        let mut replies = Vec::with_capacity(entries.len());
        for entry in entries {
            let (reply, stored) = oneshot::channel();
            self.queue.send((entry.clone(), reply)).await.map_err(|_| AppendError::Closed)?;
            replies.push(stored);
        }
        for stored in replies {
            stored.await.map_err(|_| AppendError::Closed)??;
        }
        Ok(())
    }

    /// How many entries are stored, by every replica (read from the database, not the tree).
    pub async fn stored_size(&self) -> Result<u64, sqlx::Error> {
        let row =
            sqlx::query("SELECT COALESCE(MAX(leaf_index) + 1, 0) AS n FROM access_log").fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("n")? as u64)
    }

    /// The tree with every stored entry in it (other replicas' too), for proofs and heads;
    /// hold the guard only briefly.
    pub async fn tree(&self) -> Result<RwLockReadGuard<'_, Tree>, sqlx::Error> {
        catch_up(&self.pool, &self.tree).await?;
        Ok(self.tree.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Entries about one patient's records, oldest first.
    pub async fn for_patient(&self, patient: Address) -> Result<Vec<AuditEntry>, sqlx::Error> {
        Ok(self.select("patient = $1", patient, 0, i64::MAX).await?.into_iter().map(|l| l.entry).collect())
    }

    /// Entries one address caused (a provider's releases and denials), oldest first.
    pub async fn for_actor(&self, actor: Address) -> Result<Vec<AuditEntry>, sqlx::Error> {
        Ok(self.select("actor = $1", actor, 0, i64::MAX).await?.into_iter().map(|l| l.entry).collect())
    }

    /// What `address` may see: entries about its records or caused by it, narrowed by `filter`.
    pub async fn visible_to(&self, address: Address, filter: &EntryFilter) -> Result<Vec<Logged>, sqlx::Error> {
        // Each optional condition is `$n IS NULL OR column …`, so one statement serves every
        // combination and every value stays a bound parameter.
        let conditions = "(patient = $1 OR actor = $1) AND leaf_index >= $2 \
            AND ($4 IS NULL OR actor = $4) AND ($5 IS NULL OR record_id = $5) \
            AND ($6 IS NULL OR at_ms >= $6) AND ($7 IS NULL OR at_ms < $7)";
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_log WHERE {conditions} ORDER BY leaf_index LIMIT $3"
        )))
        .bind(address.to_vec())
        .bind(filter.from as i64)
        .bind(i64::from(filter.limit))
        .bind(filter.actor.map(|a| a.to_vec()))
        .bind(filter.record_id.map(|r| r.to_vec()))
        .bind(filter.since_ms.map(|t| t as i64))
        .bind(filter.until_ms.map(|t| t as i64))
        .fetch_all(&self.pool)
        .await?;
        Self::logged(&rows)
    }

    async fn select(&self, filter: &str, address: Address, from: u64, limit: i64) -> Result<Vec<Logged>, sqlx::Error> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_log WHERE {filter} AND leaf_index >= $2 ORDER BY leaf_index LIMIT $3"
        )))
        .bind(address.to_vec())
        .bind(from as i64)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Self::logged(&rows)
    }

    fn logged(rows: &[AnyRow]) -> Result<Vec<Logged>, sqlx::Error> {
        rows.iter()
            .map(|row| {
                Ok(Logged { leaf_index: row.try_get::<i64, _>("leaf_index")? as u64, entry: entry_from_row(row)? })
            })
            .collect()
    }
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry, sqlx::Error> {
    let opt = |c: &str| row.try_get::<Option<Vec<u8>>, _>(c);
    let malformed = |c: &str| sqlx::Error::Decode(format!("malformed {c}").into());
    Ok(AuditEntry {
        at_ms: row.try_get::<i64, _>("at_ms")? as u64,
        kind: row.try_get("kind")?,
        actor: Address::try_from(row.try_get::<Vec<u8>, _>("actor")?.as_slice()).map_err(|_| malformed("actor"))?,
        patient: opt("patient")?
            .map(|b| Address::try_from(b.as_slice()))
            .transpose()
            .map_err(|_| malformed("patient"))?,
        record_id: opt("record_id")?.map(|b| b.try_into()).transpose().map_err(|_| malformed("record_id"))?,
        grant_id: opt("grant_id")?
            .map(|b| B256::try_from(b.as_slice()))
            .transpose()
            .map_err(|_| malformed("grant_id"))?,
        purpose: row
            .try_get::<Option<i64>, _>("purpose")?
            .map(u8::try_from)
            .transpose()
            .map_err(|_| malformed("purpose"))?,
        outcome: row.try_get("outcome")?,
    })
}

/// Attempts at a batch before giving up (clashes with another replica's batch, a busy SQLite).
const ATTEMPTS: u32 = 10;

async fn write_batches(
    pool: AnyPool,
    backend: Backend,
    tree: Arc<RwLock<Tree>>,
    mut pending: mpsc::Receiver<Pending>,
    metrics: VaultMetrics,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let leaves: Vec<[u8; 32]> = batch.iter().map(|(entry, _)| entry.leaf()).collect();
        let entries: Vec<&AuditEntry> = batch.iter().map(|(entry, _)| entry).collect();
        let mut stored = Err(sqlx::Error::PoolClosed);
        for attempt in 0..ATTEMPTS {
            let at = match backend {
                // Replicas take turns under a lock, each batch at the indices after the last
                // stored: no clash, so no retry or wait, however many replicas append at once.
                Backend::Postgres => insert_next(&pool, &entries, &leaves).await,
                // One process: the next free index is this tree's size. (Another process on the
                // same file clashes on the unique index; then catch up and try again.)
                Backend::Sqlite => {
                    let first = tree.read().unwrap_or_else(PoisonError::into_inner).len();
                    insert(&pool, backend, first, &entries, &leaves).await.map(|()| first)
                }
            };
            match at {
                Ok(first) => {
                    let behind = {
                        let mut tree = tree.write().unwrap_or_else(PoisonError::into_inner);
                        // A concurrent catch-up may already have pulled some of these rows in.
                        for (i, leaf) in leaves.iter().enumerate() {
                            if first + i as u64 == tree.len() {
                                tree.push(*leaf);
                            }
                        }
                        tree.len() < first + leaves.len() as u64
                    };
                    // Other replicas' entries came first: read them and ours, in order.
                    if behind {
                        let _ = catch_up(&pool, &tree).await;
                    }
                    stored = Ok(());
                    break;
                }
                Err(err) => stored = Err(err),
            }
            let _ = catch_up(&pool, &tree).await;
            tokio::time::sleep(std::time::Duration::from_millis(1 << attempt)).await;
        }
        if stored.is_ok() {
            for entry in &entries {
                metrics.entry_stored(&entry.kind, &entry.outcome);
            }
        }
        let stored = stored.map_err(|err| match crate::db::is_unavailable(&err) {
            true => AppendError::Unavailable(err.to_string()),
            false => AppendError::Database(err.to_string()),
        });
        drop(entries);
        for (_, reply) in batch.drain(..) {
            // The requester may have gone away; its entry is stored all the same.
            let _ = reply.send(stored.clone());
        }
    }
}

/// Adds to the tree every stored leaf it lacks, in index order (this replica's and others').
async fn catch_up(pool: &AnyPool, tree: &RwLock<Tree>) -> Result<(), sqlx::Error> {
    let have = tree.read().unwrap_or_else(PoisonError::into_inner).len();
    let rows = sqlx::query("SELECT leaf_index, leaf FROM access_log WHERE leaf_index >= $1 ORDER BY leaf_index")
        .bind(have as i64)
        .fetch_all(pool)
        .await?;
    let mut tree = tree.write().unwrap_or_else(PoisonError::into_inner);
    for row in rows {
        let index = row.try_get::<i64, _>("leaf_index")? as u64;
        // Someone else may have caught up meanwhile; indices are dense, so skip what is there.
        if index < tree.len() {
            continue;
        }
        let leaf: [u8; 32] = row
            .try_get::<Vec<u8>, _>("leaf")?
            .try_into()
            .map_err(|_| sqlx::Error::Decode("a leaf is 32 bytes".into()))?;
        tree.push(leaf);
    }
    Ok(())
}

/// The advisory lock (PostgreSQL) under which replicas append in turn: "medkey-a" in ASCII.
const APPEND_LOCK: i64 = 0x6d65_646b_6579_2d61;

/// Stores a batch right after the last stored entry, whichever replica wrote it, in one
/// transaction under [`APPEND_LOCK`]; returns the index of its first entry.
async fn insert_next(pool: &AnyPool, entries: &[&AuditEntry], leaves: &[[u8; 32]]) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(APPEND_LOCK).execute(&mut *tx).await?;
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(leaf_index) + 1, 0) AS n FROM access_log")
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    insert(&mut *tx, Backend::Postgres, next as u64, entries, leaves).await?;
    tx.commit().await?;
    Ok(next as u64)
}

/// Stores a batch at indices `first..`, in one statement: all of it or, on a clash, none.
async fn insert<'c>(
    executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
    backend: Backend,
    first: u64,
    entries: &[&AuditEntry],
    leaves: &[[u8; 32]],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO access_log (leaf_index, leaf, at_ms, kind, actor, patient, record_id, grant_id, purpose, outcome) \
         VALUES {}",
        value_rows(entries.len(), 10, backend)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (i, (entry, leaf)) in entries.iter().zip(leaves).enumerate() {
        query = query
            .bind((first + i as u64) as i64)
            .bind(leaf.to_vec())
            .bind(entry.at_ms as i64)
            .bind(entry.kind.clone())
            .bind(entry.actor.to_vec())
            .bind(entry.patient.map(|p| p.to_vec()))
            .bind(entry.record_id.map(|r| r.to_vec()))
            .bind(entry.grant_id.map(|g| g.to_vec()))
            .bind(entry.purpose.map(i64::from))
            .bind(entry.outcome.clone());
    }
    query.execute(executor).await?;
    Ok(())
}
