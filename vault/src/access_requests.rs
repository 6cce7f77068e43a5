//! Access requests: a registered provider asks a patient, off chain, for a grant of some
//! categories for a purpose and a duration, with an optional note. The patient answers by making
//! the grant with their own wallet (on chain, or signed and relayed) and approving the request
//! with its id, or declines. The vault never grants anything: approving only records which
//! grant answered the request, after checking it in the chain mirror.
//!
//! At most one request per (provider, patient) is pending at a time (a unique index enforces it,
//! races included). A request still pending 30 days after it was made is expired.

use alloy::primitives::{Address, B256};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::notify::{self, Event};

/// How long a request waits for the patient's answer.
pub const PENDING_FOR_MS: u64 = 30 * 86_400 * 1_000;
pub const MIN_DURATION_SECS: u64 = 3_600;
pub const MAX_DURATION_SECS: u64 = 365 * 86_400;
/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Declined,
    Expired,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Declined => "declined",
            Self::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Declined, Self::Expired].into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRequest {
    pub id: [u8; 16],
    pub provider: Address,
    pub patient: Address,
    /// Category mask, as a grant carries it.
    pub categories: u16,
    /// Purpose code, as a grant carries it.
    pub purpose: u8,
    pub duration_secs: u64,
    /// The provider asks to add records in those categories too (a write grant).
    pub write: bool,
    /// The provider's free text; shown to the patient, never put on chain or in a webhook.
    pub note: Option<String>,
    pub status: RequestStatus,
    pub created_at_ms: u64,
    pub expires_at_ms: u64,
    pub decided_at_ms: Option<u64>,
    /// The patient's grant that answered the request.
    pub grant_id: Option<B256>,
}

/// A request as the provider makes it (already validated, see [`check_note`]).
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub id: [u8; 16],
    pub provider: Address,
    pub patient: Address,
    pub categories: u16,
    pub purpose: u8,
    pub duration_secs: u64,
    pub write: bool,
    pub note: Option<String>,
}

/// The patient's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// With the id of the grant the patient made.
    Approve(B256),
    Decline,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("this provider already has a pending request to this patient")]
    AlreadyPending,
    #[error("no such access request")]
    NotFound,
    #[error("the request is {}, not pending", .0.as_str())]
    NotPending(RequestStatus),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Why a note is refused, if it is.
pub fn check_note(note: &str) -> Result<(), &'static str> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err("the note is longer than 500 characters");
    }
    if note.chars().any(char::is_control) {
        return Err("the note contains control characters (line breaks and tabs included)");
    }
    Ok(())
}

/// A fresh random request id.
pub fn new_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).expect("the OS random number generator works");
    id
}

const COLUMNS: &str = "request_id, provider, patient, categories, purpose, duration_secs, write_access, note, \
     status, created_at_ms, expires_at_ms, decided_at_ms, grant_id";

#[derive(Clone, Debug)]
pub struct AccessRequests {
    pool: AnyPool,
}

impl AccessRequests {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Stores a pending request, and `notify` (its webhook) with it in one transaction.
    pub async fn create(
        &self,
        new: &NewRequest,
        now_ms: u64,
        notify: Option<&Event>,
    ) -> Result<AccessRequest, RequestError> {
        self.expire_due(now_ms).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO access_requests (request_id, provider, patient, categories, purpose, duration_secs, note, \
             status, created_at_ms, expires_at_ms, write_access) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10)",
        )
        .bind(new.id.to_vec())
        .bind(new.provider.to_vec())
        .bind(new.patient.to_vec())
        .bind(i64::from(new.categories))
        .bind(i64::from(new.purpose))
        .bind(new.duration_secs as i64)
        .bind(new.note.clone())
        .bind(now_ms as i64)
        .bind((now_ms + PENDING_FOR_MS) as i64)
        .bind(i64::from(new.write))
        .execute(&mut *tx)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => RequestError::AlreadyPending,
            _ => err.into(),
        })?;
        if let Some(event) = notify {
            notify::enqueue(&mut tx, event, now_ms).await?;
        }
        tx.commit().await?;
        self.get(&new.id, now_ms).await?.ok_or(RequestError::NotFound)
    }

    /// One request, whoever it concerns (callers check that).
    pub async fn get(&self, id: &[u8; 16], now_ms: u64) -> Result<Option<AccessRequest>, sqlx::Error> {
        self.expire_due(now_ms).await?;
        let sql = format!("SELECT {COLUMNS} FROM access_requests WHERE request_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_vec()).fetch_optional(&self.pool).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Requests to or from `party` (as patient or as provider), newest first, optionally in one
    /// state.
    pub async fn list(
        &self,
        party: Address,
        status: Option<RequestStatus>,
        now_ms: u64,
    ) -> Result<Vec<AccessRequest>, sqlx::Error> {
        self.expire_due(now_ms).await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM access_requests WHERE (patient = $1 OR provider = $1) \
             AND ($2 IS NULL OR status = $2) ORDER BY created_at_ms DESC, request_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(party.to_vec())
            .bind(status.map(|s| s.as_str().to_owned()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Records the patient's answer to a pending request (the caller has checked who answers
    /// and, for an approval, the grant), and `notify` with it in one transaction. Only one
    /// answer ever wins, however many race.
    pub async fn answer(
        &self,
        id: &[u8; 16],
        answer: Answer,
        now_ms: u64,
        notify: Option<&Event>,
    ) -> Result<AccessRequest, RequestError> {
        self.expire_due(now_ms).await?;
        let (status, grant_id) = match answer {
            Answer::Approve(grant_id) => (RequestStatus::Approved, Some(grant_id.to_vec())),
            Answer::Decline => (RequestStatus::Declined, None),
        };
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE access_requests SET status = $1, decided_at_ms = $2, grant_id = $3 \
             WHERE request_id = $4 AND status = 'pending' AND expires_at_ms > $2",
        )
        .bind(status.as_str())
        .bind(now_ms as i64)
        .bind(grant_id)
        .bind(id.to_vec())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(match self.get(id, now_ms).await? {
                None => RequestError::NotFound,
                Some(request) => RequestError::NotPending(request.status),
            });
        }
        if let Some(event) = notify {
            notify::enqueue(&mut tx, event, now_ms).await?;
        }
        tx.commit().await?;
        self.get(id, now_ms).await?.ok_or(RequestError::NotFound)
    }

    /// Marks every request pending past its 30 days as expired; returns how many.
    pub async fn expire_due(&self, now_ms: u64) -> Result<u64, sqlx::Error> {
        let moved = sqlx::query(
            "UPDATE access_requests SET status = 'expired', decided_at_ms = expires_at_ms \
             WHERE status = 'pending' AND expires_at_ms <= $1",
        )
        .bind(now_ms as i64)
        .execute(&self.pool)
        .await?;
        Ok(moved.rows_affected())
    }
}

fn from_row(row: &AnyRow) -> Result<AccessRequest, sqlx::Error> {
    let malformed = |c: &str| sqlx::Error::Decode(format!("malformed {c}").into());
    let address = |c: &str| Address::try_from(row.try_get::<Vec<u8>, _>(c)?.as_slice()).map_err(|_| malformed(c));
    let int = |c: &str| row.try_get::<i64, _>(c).and_then(|v| u64::try_from(v).map_err(|_| malformed(c)));
    let status: String = row.try_get("status")?;
    Ok(AccessRequest {
        id: row.try_get::<Vec<u8>, _>("request_id")?.try_into().map_err(|_| malformed("request_id"))?,
        provider: address("provider")?,
        patient: address("patient")?,
        categories: u16::try_from(int("categories")?).map_err(|_| malformed("categories"))?,
        purpose: u8::try_from(int("purpose")?).map_err(|_| malformed("purpose"))?,
        duration_secs: int("duration_secs")?,
        write: int("write_access")? != 0,
        note: row.try_get("note")?,
        status: RequestStatus::parse(&status).ok_or_else(|| malformed("status"))?,
        created_at_ms: int("created_at_ms")?,
        expires_at_ms: int("expires_at_ms")?,
        decided_at_ms: row.try_get::<Option<i64>, _>("decided_at_ms")?.map(|v| v as u64),
        grant_id: row
            .try_get::<Option<Vec<u8>>, _>("grant_id")?
            .map(|b| B256::try_from(b.as_slice()))
            .transpose()
            .map_err(|_| malformed("grant_id"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_short_plain_text() {
        assert!(check_note("Follow-up on your March results, Dr. Müller").is_ok());
        assert!(check_note(&"é".repeat(500)).is_ok());
        assert!(check_note(&"a".repeat(501)).is_err());
        for bad in ["two\nlines", "tab\there", "bell\u{7}", "nul\0", "\u{9b}csi"] {
            assert!(check_note(bad).is_err(), "{bad:?}");
        }
    }
}
