//! Who she is, for the providers she shares with: her own Patient record (name, birth date, as
//! she stored it; never one a provider wrote) is released to any provider she shares anything
//! with, unless she hid it from that provider. This store keeps those she hid it from; the gate
//! decides and the audit log records each release or refusal like any other
//! (`release::identity_decision`, `docs/consent-model.md`).

use alloy::primitives::Address;
use sqlx::AnyPool;

use crate::db::address_column;
use crate::records::RecordMeta;

#[derive(Clone, Debug)]
pub struct IdentitySharing {
    pool: AnyPool,
}

/// Her own Patient record: the one record that says who she is.
pub fn is_identity(meta: &RecordMeta) -> bool {
    meta.resource_type == "Patient" && meta.created_by == meta.owner
}

impl IdentitySharing {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Whether `patient` hid who she is from `provider`.
    pub async fn hidden(&self, patient: Address, provider: Address) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT 1 AS hidden FROM identity_hidden WHERE patient = $1 AND provider = $2")
            .bind(patient.to_vec())
            .bind(provider.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Hides who she is from `provider` (`hide`) or shows it again; idempotent.
    pub async fn set(&self, patient: Address, provider: Address, hide: bool, now_ms: u64) -> Result<(), sqlx::Error> {
        let query = if hide {
            sqlx::query(
                "INSERT INTO identity_hidden (patient, provider, hidden_at_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (patient, provider) DO NOTHING",
            )
            .bind(patient.to_vec())
            .bind(provider.to_vec())
            .bind(now_ms as i64)
        } else {
            sqlx::query("DELETE FROM identity_hidden WHERE patient = $1 AND provider = $2")
                .bind(patient.to_vec())
                .bind(provider.to_vec())
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// The providers she hid who she is from, in address order.
    pub async fn hidden_from(&self, patient: Address) -> Result<Vec<Address>, sqlx::Error> {
        let rows = sqlx::query("SELECT provider FROM identity_hidden WHERE patient = $1 ORDER BY provider")
            .bind(patient.to_vec())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| address_column(row, "provider")).collect()
    }
}
