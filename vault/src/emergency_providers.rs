//! Each patient's chosen break-glass providers: the client wraps records in the patient's
//! emergency categories for them, and reads the list back on any device. Only addresses.

use alloy::primitives::Address;
use sqlx::AnyPool;

#[derive(Clone, Debug)]
pub struct EmergencyProviders {
    pool: AnyPool,
}

impl EmergencyProviders {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Replaces `patient`'s list with `providers`, in one transaction.
    pub async fn replace(&self, patient: Address, providers: &[Address], now_ms: u64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM emergency_providers WHERE patient = $1")
            .bind(patient.to_vec())
            .execute(&mut *tx)
            .await?;
        for provider in providers {
            sqlx::query("INSERT INTO emergency_providers (patient, provider, added_at_ms) VALUES ($1, $2, $3)")
                .bind(patient.to_vec())
                .bind(provider.to_vec())
                .bind(now_ms as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    pub async fn list(&self, patient: Address) -> Result<Vec<Address>, sqlx::Error> {
        let rows = sqlx::query("SELECT provider FROM emergency_providers WHERE patient = $1 ORDER BY provider")
            .bind(patient.to_vec())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| crate::db::address_column(row, "provider")).collect()
    }
}
