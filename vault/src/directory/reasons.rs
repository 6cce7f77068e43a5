//! The words behind the reason hashes a registrar sends with a suspension or a reinstatement.

use alloy::primitives::{Address, B256, keccak256};

use super::Directory;

impl Directory {
    /// Keeps the words of a reason; the same words twice are one row.
    pub async fn add_reason(&self, reason: &str, by: Address, now_ms: u64) -> Result<B256, sqlx::Error> {
        let hash = keccak256(reason.as_bytes());
        sqlx::query(
            "INSERT INTO registry_reasons (reason_hash, reason, added_by, added_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (reason_hash) DO NOTHING",
        )
        .bind(hash.to_vec())
        .bind(reason.to_owned())
        .bind(by.to_vec())
        .bind(now_ms as i64)
        .execute(&self.pool)
        .await?;
        Ok(hash)
    }
}

impl Directory {
    /// The words of the reason with this hash, when the vault holds them.
    pub async fn reason(&self, hash: B256) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT reason FROM registry_reasons WHERE reason_hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await
    }
}
