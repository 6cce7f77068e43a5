//! Refresh tokens: opaque, single use, rotated on every refresh. A reused token means it was
//! copied, so the whole family (every token from that login) is revoked.

use alloy::primitives::Address;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::open_sessions::Known;
use super::{Identity, Session, random_token};

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the refresh token is unknown or expired")]
    Invalid,
    #[error("the refresh token was already used: the session is revoked, sign in again")]
    Reused,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl Identity {
    /// A new session family for `address`.
    /// `mfa`: whether the login passed a second factor; every refresh of the family keeps it.
    pub(super) async fn open_session(&self, address: Address, mfa: bool, now_ms: u64) -> Result<Session, sqlx::Error> {
        let family = random_token()[..16].to_vec();
        self.issue_session(address, &family, mfa, now_ms).await
    }

    async fn issue_session(
        &self,
        address: Address,
        family: &[u8],
        mfa: bool,
        now_ms: u64,
    ) -> Result<Session, sqlx::Error> {
        let refresh_token = alloy::hex::encode(random_token());
        let refresh_expires_at_ms = now_ms + self.config.refresh_ttl.as_millis() as u64;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, address, issued_at_ms, expires_at_ms, mfa) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash(&refresh_token))
        .bind(family.to_vec())
        .bind(address.to_vec())
        .bind(now_ms as i64)
        .bind(refresh_expires_at_ms as i64)
        .bind(i64::from(mfa))
        .execute(&self.pool)
        .await?;
        let (access_token, access_expires_at) =
            self.issue_access(address, &alloy::hex::encode(family), mfa, now_ms / 1_000);
        Ok(Session { address, access_token, access_expires_at, refresh_token, refresh_expires_at_ms })
    }

    /// Trades a refresh token for a new session in the same family.
    pub async fn refresh(&self, refresh_token: &str, now_ms: u64) -> Result<Session, RefreshError> {
        let hash = token_hash(refresh_token);
        let row = sqlx::query(
            "SELECT family_id, address, expires_at_ms, used_at_ms, revoked_at_ms, mfa FROM refresh_tokens \
             WHERE token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Err(RefreshError::Invalid) };
        let family: Vec<u8> = row.try_get("family_id")?;
        let used: Option<i64> = row.try_get("used_at_ms")?;
        let revoked: Option<i64> = row.try_get("revoked_at_ms")?;
        if used.is_some() || revoked.is_some() {
            self.revoke_family(&family, now_ms).await?;
            return Err(RefreshError::Reused);
        }
        if row.try_get::<i64, _>("expires_at_ms")? <= now_ms as i64 {
            return Err(RefreshError::Invalid);
        }
        // Claim the token atomically: of two concurrent refreshes, one wins, the other is reuse.
        let claimed = sqlx::query(
            "UPDATE refresh_tokens SET used_at_ms = $1 WHERE token_hash = $2 AND used_at_ms IS NULL AND revoked_at_ms IS NULL",
        )
        .bind(now_ms as i64)
        .bind(&hash)
        .execute(&self.pool)
        .await?;
        if claimed.rows_affected() != 1 {
            self.revoke_family(&family, now_ms).await?;
            return Err(RefreshError::Reused);
        }
        let address_bytes: Vec<u8> = row.try_get("address")?;
        let address = Address::try_from(address_bytes.as_slice()).map_err(|_| RefreshError::Invalid)?;
        let mfa = row.try_get::<i64, _>("mfa")? != 0;
        Ok(self.issue_session(address, &family, mfa, now_ms).await?)
    }

    /// Ends a session: every refresh token of the family stops working.
    pub async fn logout(&self, refresh_token: &str, now_ms: u64) -> Result<(), RefreshError> {
        let family: Option<Vec<u8>> = sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash(refresh_token))
            .fetch_optional(&self.pool)
            .await?;
        let family = family.ok_or(RefreshError::Invalid)?;
        self.revoke_family(&family, now_ms).await?;
        Ok(())
    }

    async fn revoke_family(&self, family: &[u8], now_ms: u64) -> Result<(), sqlx::Error> {
        self.open_sessions.close(family);
        sqlx::query("UPDATE refresh_tokens SET revoked_at_ms = $1 WHERE family_id = $2 AND revoked_at_ms IS NULL")
            .bind(now_ms as i64)
            .bind(family.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether the session family is still open (an access token outlives a logout by at most
    /// its 15 minutes unless the API checks this).
    pub async fn session_open(&self, family_hex: &str) -> Result<bool, sqlx::Error> {
        let Ok(family) = alloy::hex::decode(family_hex) else { return Ok(false) };
        match self.open_sessions.lookup(&family) {
            Known::Open => return Ok(true),
            Known::Closed => return Ok(false),
            Known::Unknown => {}
        }
        let open: Option<i64> =
            sqlx::query_scalar("SELECT COUNT(*) FROM refresh_tokens WHERE family_id = $1 AND revoked_at_ms IS NULL")
                .bind(&family)
                .fetch_optional(&self.pool)
                .await?;
        let open = open.unwrap_or(0) > 0;
        if open {
            self.open_sessions.confirm(&family);
        }
        Ok(open)
    }
}
