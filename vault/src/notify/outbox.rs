//! The webhook outbox: each event stored once (enqueued in the same transaction as the change
//! that caused it), its deliveries' state, the dead letters an operator retries.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use super::Event;

/// A delivery as the outbox holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub id: String,
    pub event_type: String,
    /// The JSON body exactly as sent.
    pub payload: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: u32,
    pub created_at_ms: u64,
    pub next_attempt_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    /// The last failure (an HTTP status or a transport error); never the receiver's body.
    pub last_error: Option<String>,
}

const DELIVERY_COLUMNS: &str = "delivery_id, event_type, payload, status, attempts, created_at_ms, \
     next_attempt_at_ms, finished_at_ms, last_error";

fn delivery_from_row(row: &AnyRow) -> Result<Delivery, sqlx::Error> {
    let u = |c: &str| row.try_get::<i64, _>(c).map(|v| v as u64);
    Ok(Delivery {
        id: row.try_get("delivery_id")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        status: row.try_get("status")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        created_at_ms: u("created_at_ms")?,
        next_attempt_at_ms: u("next_attempt_at_ms")?,
        finished_at_ms: row.try_get::<Option<i64>, _>("finished_at_ms")?.map(|v| v as u64),
        last_error: row.try_get("last_error")?,
    })
}

/// Stores `event` for delivery, on `conn` (inside the caller's transaction, so the event and
/// the change it announces commit together). False when an event with this id is already there.
pub async fn enqueue(conn: &mut AnyConnection, event: &Event, now_ms: u64) -> Result<bool, sqlx::Error> {
    let payload = serde_json::to_string(event).map_err(|err| sqlx::Error::Encode(err.into()))?;
    let inserted = sqlx::query(
        "INSERT INTO webhook_outbox (delivery_id, event_type, payload, status, attempts, next_attempt_at_ms, \
         created_at_ms) VALUES ($1, $2, $3, 'pending', 0, $4, $4) ON CONFLICT (delivery_id) DO NOTHING",
    )
    .bind(&event.id)
    .bind(event.kind.as_str())
    .bind(payload)
    .bind(now_ms as i64)
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Deliveries that failed every attempt, oldest first: the operator's dead-letter queue. Read
/// it from a console or a script with the vault's database; [`requeue`] retries one.
pub async fn dead_letters(pool: &AnyPool, limit: u32) -> Result<Vec<Delivery>, sqlx::Error> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE status = 'dead' ORDER BY seq LIMIT $1");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit)).fetch_all(pool).await?;
    rows.iter().map(delivery_from_row).collect()
}

/// One delivery by id, in any state.
pub async fn delivery(pool: &AnyPool, id: &str) -> Result<Option<Delivery>, sqlx::Error> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE delivery_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(delivery_from_row).transpose()
}

/// How many deliveries are pending, delivered and dead.
pub async fn counts(pool: &AnyPool) -> Result<(u64, u64, u64), sqlx::Error> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM webhook_outbox GROUP BY status").fetch_all(pool).await?;
    let mut counts = (0, 0, 0);
    for row in rows {
        let n = row.try_get::<i64, _>("n")? as u64;
        match row.try_get::<String, _>("status")?.as_str() {
            "pending" => counts.0 = n,
            "delivered" => counts.1 = n,
            "dead" => counts.2 = n,
            _ => {}
        }
    }
    Ok(counts)
}

/// Every delivery, oldest first (diagnostics and tests).
pub async fn deliveries(pool: &AnyPool) -> Result<Vec<Delivery>, sqlx::Error> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_outbox ORDER BY seq");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
    rows.iter().map(delivery_from_row).collect()
}

/// Puts a dead letter back in the queue with a fresh set of attempts. False if `id` is not a
/// dead letter.
pub async fn requeue(pool: &AnyPool, id: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE webhook_outbox SET status = 'pending', attempts = 0, next_attempt_at_ms = $1, finished_at_ms = NULL \
         WHERE delivery_id = $2 AND status = 'dead'",
    )
    .bind(now_ms as i64)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(moved.rows_affected() == 1)
}
