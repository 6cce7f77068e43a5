//! SIWE nonces: issued by the vault, valid for a few minutes, accepted once.

use super::{Identity, random_token};

impl Identity {
    /// A fresh nonce for a SIWE message (32 hex characters).
    pub async fn issue_nonce(&self, now_ms: u64) -> Result<String, sqlx::Error> {
        let nonce = alloy::hex::encode(&random_token()[..16]);
        let expires = now_ms + self.config.nonce_ttl.as_millis() as u64;
        sqlx::query("INSERT INTO login_nonces (nonce, expires_at_ms) VALUES ($1, $2)")
            .bind(&nonce)
            .bind(expires as i64)
            .execute(&self.pool)
            .await?;
        Ok(nonce)
    }

    /// Marks `nonce` used; false if it is unknown, expired or already used. One UPDATE, so two
    /// concurrent logins with the same nonce cannot both succeed.
    pub(super) async fn consume_nonce(&self, nonce: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
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
