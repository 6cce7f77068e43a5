//! The record of every release and denial. Append-only from the application's side; issue #5
//! makes it tamper-evident (Merkle tree, signed heads, on-chain anchors).

use alloy::primitives::{Address, B256};
use medkey_indexer::Backend;
use medkey_indexer::store::value_rows;
use serde::Serialize;
use sqlx::{AnyPool, Row};
use tokio::sync::{mpsc, oneshot};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessEntry {
    pub at_ms: u64,
    /// `key_released`, `key_denied`, `record_created`, `record_updated`, `record_erased`.
    pub kind: String,
    pub actor: Address,
    pub patient: Option<Address>,
    pub record_id: Option<[u8; 16]>,
    pub grant_id: Option<B256>,
    pub purpose: Option<u8>,
    /// `ok` or the denial code.
    pub outcome: String,
}

impl AccessEntry {
    /// `kind` done by `actor` now, outcome `ok`, naming nothing else yet: callers fill in the
    /// rest with struct update syntax.
    pub fn now(kind: &str, actor: Address) -> Self {
        Self {
            at_ms: medkey_indexer::sync::now_ms(),
            kind: kind.into(),
            actor,
            patient: None,
            record_id: None,
            grant_id: None,
            purpose: None,
            outcome: "ok".into(),
        }
    }
}

/// The log. Appends are group-committed: concurrent requests hand their entries to one writer
/// task that stores whatever has queued up in a single INSERT, so a busy vault pays for one
/// transaction per batch rather than per request, and no request holds a lock while it waits.
/// An append returns only once its entry is stored; a release is never answered before that.
#[derive(Clone, Debug)]
pub struct AccessLog {
    pool: AnyPool,
    queue: mpsc::Sender<Pending>,
}

/// The largest batch one INSERT carries (8 columns each, within every backend's parameter cap).
const MAX_BATCH: usize = 1_024;

type Pending = (AccessEntry, oneshot::Sender<Result<(), AppendError>>);

#[derive(Clone, Debug, thiserror::Error)]
pub enum AppendError {
    #[error("the access log could not store the entry: {0}")]
    Database(String),
    #[error("the access log writer has stopped")]
    Closed,
}

impl AccessLog {
    /// Starts the writer task on the current Tokio runtime; it stops when the last handle drops.
    pub fn new(pool: AnyPool, backend: Backend) -> Self {
        let (queue, pending) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(pool.clone(), backend, pending));
        Self { pool, queue }
    }

    pub async fn append(&self, entry: &AccessEntry) -> Result<(), AppendError> {
        let (reply, stored) = oneshot::channel();
        self.queue.send((entry.clone(), reply)).await.map_err(|_| AppendError::Closed)?;
        stored.await.map_err(|_| AppendError::Closed)?
    }

    /// Entries about one patient's records, oldest first.
    pub async fn for_patient(&self, patient: Address) -> Result<Vec<AccessEntry>, sqlx::Error> {
        self.select("patient", patient).await
    }

    /// Entries one address caused (a provider's releases and denials), oldest first.
    pub async fn for_actor(&self, actor: Address) -> Result<Vec<AccessEntry>, sqlx::Error> {
        self.select("actor", actor).await
    }

    async fn select(&self, column: &'static str, address: Address) -> Result<Vec<AccessEntry>, sqlx::Error> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT at_ms, kind, actor, patient, record_id, grant_id, purpose, outcome FROM access_log \
             WHERE {column} = $1 ORDER BY id"
        )))
        .bind(address.to_vec())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let opt = |c: &str| row.try_get::<Option<Vec<u8>>, _>(c);
                Ok(AccessEntry {
                    at_ms: row.try_get::<i64, _>("at_ms")? as u64,
                    kind: row.try_get("kind")?,
                    actor: Address::try_from(row.try_get::<Vec<u8>, _>("actor")?.as_slice()).unwrap_or_default(),
                    patient: opt("patient")?.and_then(|b| Address::try_from(b.as_slice()).ok()),
                    record_id: opt("record_id")?.and_then(|b| b.try_into().ok()),
                    grant_id: opt("grant_id")?.and_then(|b| B256::try_from(b.as_slice()).ok()),
                    purpose: row.try_get::<Option<i64>, _>("purpose")?.and_then(|p| u8::try_from(p).ok()),
                    outcome: row.try_get("outcome")?,
                })
            })
            .collect()
    }
}

async fn write_batches(pool: AnyPool, backend: Backend, mut pending: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let entries: Vec<&AccessEntry> = batch.iter().map(|(entry, _)| entry).collect();
        let stored = insert(&pool, backend, &entries).await.map_err(|err| AppendError::Database(err.to_string()));
        for (_, reply) in batch.drain(..) {
            // The requester may have gone away; its entry is stored all the same.
            let _ = reply.send(stored.clone());
        }
    }
}

async fn insert(pool: &AnyPool, backend: Backend, entries: &[&AccessEntry]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO access_log (at_ms, kind, actor, patient, record_id, grant_id, purpose, outcome) VALUES {}",
        value_rows(entries.len(), 8, backend)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for entry in entries {
        query = query
            .bind(entry.at_ms as i64)
            .bind(entry.kind.clone())
            .bind(entry.actor.to_vec())
            .bind(entry.patient.map(|p| p.to_vec()))
            .bind(entry.record_id.map(|r| r.to_vec()))
            .bind(entry.grant_id.map(|g| g.to_vec()))
            .bind(entry.purpose.map(i64::from))
            .bind(entry.outcome.clone());
    }
    query.execute(pool).await?;
    Ok(())
}
