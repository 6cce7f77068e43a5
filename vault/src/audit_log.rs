//! The audit log: every release and denial, every record change, every relayed signature, as an
//! append-only Merkle tree (`medkey_protocol::audit`) anyone can check.
//!
//! Appends are sequenced like Trillian's: requests hand their entries to one writer task, which
//! gives each batch consecutive leaf indices, stores the batch in a single statement on a
//! connection of its own and only then adds the leaves to the in-memory tree. A busy vault pays
//! for one statement per batch, no request holds a lock while it waits, and an append returns
//! only once its entry is stored: a release is never answered before that. Proofs are read from
//! the tree under a read lock.
//!
//! Several vault replicas may share one PostgreSQL database: each batch is stored at the
//! indices after the last stored entry, computed in the storing statement itself. Two batches
//! that meet clash on the unique index; the loser retries, and from then on for a while this
//! replica stores its batches in a transaction under an advisory lock, so busy replicas take
//! turns instead of clashing. A replica whose tree is behind (others appended meanwhile)
//! catches up from the database. (On SQLite, a batch takes the indices after this process's
//! tree, and a clash on the unique index means catch up and try again.) Every replica also
//! catches up before it signs a head.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use medkey_indexer::Backend;
use medkey_indexer::store::value_rows;
pub use medkey_protocol::audit::AuditEntry;
use medkey_protocol::audit::Tree;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Connection, Row};
use tokio::sync::{mpsc, oneshot};

use crate::db::HeldConnection;
use crate::metrics::VaultMetrics;
use medkey_protocol::RecordId;

/// An entry for `kind` done by `actor` now; fill in the rest with struct update syntax.
pub fn stamped(kind: &str, actor: Address) -> AuditEntry {
    AuditEntry::new(kind, actor, medkey_protocol::clock::now_ms())
}

/// A page of the entries an account may see, narrowed to one actor, one record or a time span.
#[derive(Clone, Debug, Default)]
pub struct EntryFilter {
    /// First leaf index.
    pub from: u64,
    pub limit: u32,
    pub actor: Option<Address>,
    pub record_id: Option<RecordId>,
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
pub struct AuditLog {
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

impl AuditLog {
    /// Rebuilds the tree from the stored entries, checking each against its stored leaf and
    /// position (an edited, deleted or reordered row stops the vault here), gives a leaf to rows
    /// written before the log was a tree, then starts the writer on the current Tokio runtime.
    pub async fn open(pool: AnyPool, backend: Backend) -> Result<Self, OpenError> {
        Self::open_counted(pool, backend, VaultMetrics::default()).await
    }

    /// [`AuditLog::open`], counting each stored entry by kind and outcome in `metrics`.
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
        let conn = HeldConnection::new(pool.clone());
        tokio::spawn(write_batches(pool.clone(), conn, backend, tree.clone(), pending, metrics));
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

/// After a batch clashed with another replica's, how long this one appends under
/// [`APPEND_LOCK`] (PostgreSQL).
const TAKE_TURNS_FOR: Duration = Duration::from_secs(10);

async fn write_batches(
    pool: AnyPool,
    mut conn: HeldConnection,
    backend: Backend,
    tree: Arc<RwLock<Tree>>,
    mut pending: mpsc::Receiver<Pending>,
    metrics: VaultMetrics,
) {
    let mut take_turns_until: Option<Instant> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let leaves: Vec<[u8; 32]> = batch.iter().map(|(entry, _)| entry.leaf()).collect();
        let entries: Vec<&AuditEntry> = batch.iter().map(|(entry, _)| entry).collect();
        let mut stored = Err(sqlx::Error::PoolClosed);
        for attempt in 0..ATTEMPTS {
            let at = match backend {
                // The batch goes right after the last stored entry, whichever replica wrote it.
                // Alone, one statement does it; two replicas whose batches meet clash on the
                // unique index, and then both take turns under a lock for a while.
                Backend::Postgres => {
                    let take_turns = take_turns_until.is_some_and(|until| Instant::now() < until);
                    let at = conn.run(async |conn| append_next(conn, take_turns, &entries, &leaves).await).await;
                    if at.as_ref().is_err_and(is_clash) {
                        take_turns_until = Some(Instant::now() + TAKE_TURNS_FOR);
                    }
                    at
                }
                // One process: the next free index is this tree's size. (Another process on the
                // same file clashes on the unique index; then catch up and try again.)
                Backend::Sqlite => {
                    let first = tree.read().unwrap_or_else(PoisonError::into_inner).len();
                    conn.run(async |conn| append_at(conn, first, &entries, &leaves).await).await.map(|()| first)
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

/// Another batch took some of the same indices first.
fn is_clash(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
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

/// PostgreSQL: stores a batch right after the last stored entry in one statement, or, taking
/// turns, in a transaction under [`APPEND_LOCK`]; returns the index of its first entry.
async fn append_next(
    conn: &mut AnyConnection,
    take_turns: bool,
    entries: &[&AuditEntry],
    leaves: &[[u8; 32]],
) -> Result<u64, sqlx::Error> {
    let sql = append_sql(entries.len(), Backend::Postgres);
    if !take_turns {
        return first_index(bind_batch(sqlx::query(AssertSqlSafe(sql)), entries, leaves).fetch_one(conn).await?);
    }
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(APPEND_LOCK).execute(&mut *tx).await?;
    // Under the lock, this statement's snapshot sees every batch stored before it.
    let first = first_index(bind_batch(sqlx::query(AssertSqlSafe(sql)), entries, leaves).fetch_one(&mut *tx).await?)?;
    tx.commit().await?;
    Ok(first)
}

fn first_index(row: AnyRow) -> Result<u64, sqlx::Error> {
    Ok(row.try_get::<i64, _>("first")? as u64)
}

/// SQLite: stores a batch at indices `first..`, in one statement: all of it or, on a clash, none.
async fn append_at(
    conn: &mut AnyConnection,
    first: u64,
    entries: &[&AuditEntry],
    leaves: &[[u8; 32]],
) -> Result<(), sqlx::Error> {
    let query = bind_batch(sqlx::query(AssertSqlSafe(append_sql(entries.len(), Backend::Sqlite))), entries, leaves);
    query.bind(first as i64).execute(conn).await?;
    Ok(())
}

/// The columns a batch binds per entry: its offset in the batch, then the stored columns.
const BATCH_COLUMNS: &str = "i, leaf, at_ms, kind, actor, patient, record_id, grant_id, purpose, outcome";

/// The statement storing a batch of `entries` rows. Its VALUES are padded to a power of two
/// with rows of NULLs, which the statement skips: a dozen statement texts serve every batch
/// size, so each is prepared once per connection instead of once per batch.
fn append_sql(entries: usize, backend: Backend) -> String {
    let values = value_rows(entries.next_power_of_two(), 10, backend);
    let stored = "leaf, at_ms, kind, actor, patient, record_id, grant_id, purpose, outcome";
    let insert = "INSERT INTO access_log (leaf_index, leaf, at_ms, kind, actor, patient, record_id, grant_id, \
                  purpose, outcome)";
    match backend {
        // The first index is MAX + 1 as this statement sees the table; RETURNING reports it.
        Backend::Postgres => format!(
            "WITH batch ({BATCH_COLUMNS}) AS (VALUES {values}), \
                  next AS (SELECT COALESCE(MAX(leaf_index) + 1, 0) AS n FROM access_log), \
                  stored AS ({insert} SELECT next.n + batch.i, {stored} FROM batch, next \
                            WHERE batch.i IS NOT NULL RETURNING leaf_index) \
             SELECT MIN(leaf_index) AS first FROM stored"
        ),
        // The first index is bound last.
        Backend::Sqlite => format!(
            "WITH batch ({BATCH_COLUMNS}) AS (VALUES {values}) \
             {insert} SELECT ? + i, {stored} FROM batch WHERE i IS NOT NULL"
        ),
    }
}

/// Binds a batch's entries, then NULL rows up to the padded size of [`append_sql`].
fn bind_batch<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    entries: &[&AuditEntry],
    leaves: &[[u8; 32]],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for (i, (entry, leaf)) in entries.iter().zip(leaves).enumerate() {
        query = query
            .bind(i as i64)
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
    for _ in entries.len()..entries.len().next_power_of_two() {
        query = query
            .bind(None::<i64>)
            .bind(None::<Vec<u8>>)
            .bind(None::<i64>)
            .bind(None::<String>)
            .bind(None::<Vec<u8>>)
            .bind(None::<Vec<u8>>)
            .bind(None::<Vec<u8>>)
            .bind(None::<Vec<u8>>)
            .bind(None::<i64>)
            .bind(None::<String>);
    }
    query
}
