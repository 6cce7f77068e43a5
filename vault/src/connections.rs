//! Her provider connections (SMART on FHIR): each one sealed on her device (provider, her id
//! there, refresh token, sync cursor) and kept here as an opaque blob, so any of her devices can
//! sync it while the vault learns neither the provider nor the token (`docs/threat-model.md`,
//! "Provider connections"). A replacement names the revision it replaces (compare-and-swap): a
//! refresh token the provider rotated is never overwritten by a device holding the old one.

use alloy::primitives::Address;
use sqlx::{AnyPool, Row};

/// The largest sealed connection kept (`web/packages/client/src/smart/connection.ts` holds the same bound).
pub const MAX_SEALED_BYTES: usize = 8 * 1024;
/// Connections per account: far more than anyone has providers, and a bound on what she can make
/// the vault store. (Two concurrent additions at the bound may both pass; it bounds storage, not
/// a rule anyone relies on.)
pub const MAX_PER_ACCOUNT: i64 = 50;

#[derive(Clone, Debug)]
pub struct Connections {
    pool: AnyPool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConnection {
    pub id: [u8; 16],
    pub sealed: Vec<u8>,
    pub revision: u64,
    pub updated_at_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("the sealed connection is empty or larger than {MAX_SEALED_BYTES} bytes")]
    TooLarge,
    #[error("an account keeps at most {MAX_PER_ACCOUNT} provider connections")]
    TooMany,
    #[error("this connection was changed by another device (or already exists); read it again")]
    Changed,
    #[error("no such connection")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Connections {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Her connections, oldest id first.
    pub async fn list(&self, owner: Address) -> Result<Vec<StoredConnection>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT connection_id, sealed, revision, updated_at_ms FROM provider_connections \
             WHERE owner = $1 ORDER BY connection_id",
        )
        .bind(owner.to_vec())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: Vec<u8> = row.try_get("connection_id")?;
                Ok(StoredConnection {
                    id: id.try_into().map_err(|_| sqlx::Error::Decode("connection_id is not 16 bytes".into()))?,
                    sealed: row.try_get("sealed")?,
                    revision: row.try_get::<i64, _>("revision")? as u64,
                    updated_at_ms: row.try_get::<i64, _>("updated_at_ms")? as u64,
                })
            })
            .collect()
    }

    /// Keeps a new connection (`expected` = None) or replaces the one at revision `expected`.
    /// Returns the revision now kept.
    pub async fn put(
        &self,
        owner: Address,
        id: [u8; 16],
        sealed: &[u8],
        expected: Option<u64>,
        now_ms: u64,
    ) -> Result<u64, ConnectionError> {
        if sealed.is_empty() || sealed.len() > MAX_SEALED_BYTES {
            return Err(ConnectionError::TooLarge);
        }
        match expected {
            None => {
                // Decided before anything is written: the bound, then the insert (a repeat is a conflict).
                let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM provider_connections WHERE owner = $1")
                    .bind(owner.to_vec())
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
                if count >= MAX_PER_ACCOUNT {
                    return Err(ConnectionError::TooMany);
                }
                let inserted = sqlx::query(
                    "INSERT INTO provider_connections (owner, connection_id, sealed, revision, updated_at_ms) \
                     VALUES ($1, $2, $3, 1, $4) ON CONFLICT (owner, connection_id) DO NOTHING",
                )
                .bind(owner.to_vec())
                .bind(id.to_vec())
                .bind(sealed.to_vec())
                .bind(now_ms as i64)
                .execute(&self.pool)
                .await?;
                if inserted.rows_affected() != 1 {
                    return Err(ConnectionError::Changed);
                }
                Ok(1)
            }
            Some(revision) => {
                let moved = sqlx::query(
                    "UPDATE provider_connections SET sealed = $1, revision = revision + 1, updated_at_ms = $2 \
                     WHERE owner = $3 AND connection_id = $4 AND revision = $5",
                )
                .bind(sealed.to_vec())
                .bind(now_ms as i64)
                .bind(owner.to_vec())
                .bind(id.to_vec())
                .bind(revision as i64)
                .execute(&self.pool)
                .await?;
                if moved.rows_affected() == 1 {
                    return Ok(revision + 1);
                }
                let exists = self.list(owner).await?.iter().any(|c| c.id == id);
                Err(if exists { ConnectionError::Changed } else { ConnectionError::NotFound })
            }
        }
    }

    /// Deletes one of her connections; `NotFound` when she has none by that id.
    pub async fn delete(&self, owner: Address, id: [u8; 16]) -> Result<(), ConnectionError> {
        let deleted = sqlx::query("DELETE FROM provider_connections WHERE owner = $1 AND connection_id = $2")
            .bind(owner.to_vec())
            .bind(id.to_vec())
            .execute(&self.pool)
            .await?;
        if deleted.rows_affected() == 1 { Ok(()) } else { Err(ConnectionError::NotFound) }
    }
}
