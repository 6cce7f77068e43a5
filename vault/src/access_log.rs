//! The record of every release and denial. Append-only from the application's side; issue #5
//! makes it tamper-evident (Merkle tree, signed heads, on-chain anchors).

use alloy::primitives::{Address, B256};
use serde::Serialize;
use sqlx::{AnyPool, Row};

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

#[derive(Clone, Debug)]
pub struct AccessLog {
    pool: AnyPool,
}

impl AccessLog {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub async fn append(&self, entry: &AccessEntry) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO access_log (at_ms, kind, actor, patient, record_id, grant_id, purpose, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry.at_ms as i64)
        .bind(&entry.kind)
        .bind(entry.actor.to_vec())
        .bind(entry.patient.map(|p| p.to_vec()))
        .bind(entry.record_id.map(|r| r.to_vec()))
        .bind(entry.grant_id.map(|g| g.to_vec()))
        .bind(entry.purpose.map(i64::from))
        .bind(&entry.outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Entries about one patient's records, oldest first.
    pub async fn for_patient(&self, patient: Address) -> Result<Vec<AccessEntry>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT at_ms, kind, actor, patient, record_id, grant_id, purpose, outcome FROM access_log \
             WHERE patient = $1 ORDER BY id",
        )
        .bind(patient.to_vec())
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
