//! SIWE nonces: issued by the vault, valid for a few minutes, accepted once. In the database, or
//! in Redis when one is configured (so a nonce issued by one replica is spent for all of them).

use crate::redis_store::RedisUnavailable;

use super::{Identity, random_token};

/// Nonces could not be issued or checked.
#[derive(Debug, thiserror::Error)]
pub enum NonceError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("nonce store: {0}")]
    Unavailable(#[from] RedisUnavailable),
}

fn redis_key(nonce: &str) -> String {
    format!("nonce:{nonce}")
}

impl Identity {
    /// A fresh nonce for a SIWE message (32 hex characters).
    pub async fn issue_nonce(&self, now_ms: u64) -> Result<String, NonceError> {
        let nonce = alloy::hex::encode(&random_token()[..16]);
        if let Some(redis) = &self.redis {
            // NX: a live nonce is never reset (128 random bits do not collide, but if they did,
            // the caller would get another one).
            let mut nonce = nonce;
            while !redis.put_new(&redis_key(&nonce), self.config.nonce_ttl).await? {
                nonce = alloy::hex::encode(&random_token()[..16]);
            }
            return Ok(nonce);
        }
        let expires = now_ms + self.config.nonce_ttl.as_millis() as u64;
        sqlx::query("INSERT INTO login_nonces (nonce, expires_at_ms) VALUES ($1, $2)")
            .bind(&nonce)
            .bind(expires as i64)
            .execute(&self.pool)
            .await?;
        Ok(nonce)
    }

    /// Marks `nonce` used; false if it is unknown, expired or already used. One UPDATE (or one
    /// Redis DEL), so two concurrent logins with the same nonce cannot both succeed.
    pub(super) async fn consume_nonce(&self, nonce: &str, now_ms: u64) -> Result<bool, NonceError> {
        if let Some(redis) = &self.redis {
            return Ok(redis.take(&redis_key(nonce)).await?);
        }
        let result = sqlx::query(
            "UPDATE login_nonces SET used_at_ms = $1 WHERE nonce = $2 AND used_at_ms IS NULL AND expires_at_ms > $1",
        )
        .bind(now_ms as i64)
        .bind(nonce)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
