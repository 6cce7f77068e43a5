//! Accounts' published encryption keys with the wallet signature vouching for each
//! (`medkey_protocol::account_key`). A key is stored only with a valid signature, and served
//! with it so that readers can check it themselves.

use alloy::primitives::Address;
use sqlx::{AnyPool, Row};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedKey {
    pub encryption_key: [u8; 32],
    pub signature: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct AccountKeys {
    pool: AnyPool,
}

impl AccountKeys {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Stores (or replaces) `address`'s key. The caller has checked the signature.
    pub async fn publish(&self, address: Address, key: &PublishedKey, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO account_keys (address, encryption_key, signature, updated_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (address) DO UPDATE SET encryption_key = excluded.encryption_key, \
             signature = excluded.signature, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(address.to_vec())
        .bind(key.encryption_key.to_vec())
        .bind(key.signature.clone())
        .bind(now_ms as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get(&self, address: Address) -> Result<Option<PublishedKey>, sqlx::Error> {
        let row = sqlx::query("SELECT encryption_key, signature FROM account_keys WHERE address = $1")
            .bind(address.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let key: Vec<u8> = row.try_get("encryption_key")?;
            Ok(PublishedKey {
                encryption_key: key
                    .try_into()
                    .map_err(|_| sqlx::Error::Decode("a stored key is not 32 bytes".into()))?,
                signature: row.try_get("signature")?,
            })
        })
        .transpose()
    }
}
