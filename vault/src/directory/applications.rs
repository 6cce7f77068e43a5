//! Applications: submitted by a wallet, read by it and by the registrar, declined with a reason.

use alloy::primitives::Address;
use sqlx::Row;

use super::{APPLICATION_COLUMNS, Application, ApplicationStatus, Directory, address_from, application_from_row};

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("an application from this wallet is already waiting for the registrar")]
    AlreadyPending,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Directory {
    /// Stores a new pending application; refused while another from the same wallet waits
    /// (the unique index decides, so two submissions at once cannot both wait).
    pub async fn submit(&self, application: &Application) -> Result<(), SubmitError> {
        let profile_json = serde_json::to_string(&application.profile).expect("a profile serializes");
        let inserted = sqlx::query(
            "INSERT INTO provider_applications (id, provider, kind, status, profile_json, signature, profile_hash, npi, \
             submitted_at_ms) VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8)",
        )
        .bind(alloy::hex::encode(application.id))
        .bind(application.profile.provider.to_vec())
        .bind(application.kind.as_str())
        .bind(profile_json)
        .bind(application.signature.clone())
        .bind(application.profile_hash.to_vec())
        .bind(application.profile.npi.clone())
        .bind(application.submitted_at_ms as i64)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Err(SubmitError::AlreadyPending),
            Err(err) => Err(err.into()),
        }
    }

    /// A wallet's applications, newest first.
    pub async fn applications_of(&self, provider: Address) -> Result<Vec<Application>, sqlx::Error> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM provider_applications a WHERE a.provider = $1 \
             ORDER BY a.submitted_at_ms DESC, a.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(provider.to_vec()).fetch_all(&self.pool).await?;
        rows.iter().map(application_from_row).collect()
    }

    /// Applications in `status`, oldest first (the registrar's queue).
    pub async fn applications(&self, status: ApplicationStatus, limit: u64) -> Result<Vec<Application>, sqlx::Error> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM provider_applications a WHERE a.status = $1 \
             ORDER BY a.submitted_at_ms, a.id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status.as_str())
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(application_from_row).collect()
    }

    pub async fn application(&self, id: [u8; 16]) -> Result<Option<Application>, sqlx::Error> {
        let sql = format!("SELECT {APPLICATION_COLUMNS} FROM provider_applications a WHERE a.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(alloy::hex::encode(id)).fetch_optional(&self.pool).await?;
        row.as_ref().map(application_from_row).transpose()
    }

    /// Declines a pending application; false if it was not pending (decided meanwhile).
    pub async fn decline(&self, id: [u8; 16], reason: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE provider_applications SET status = 'declined', reason = $1, decided_at_ms = $2 \
             WHERE id = $3 AND status = 'pending'",
        )
        .bind(reason.to_owned())
        .bind(now_ms as i64)
        .bind(alloy::hex::encode(id))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Listed providers other than `except` with this NPI.
    pub async fn npi_listed_for(&self, npi: &str, except: Address) -> Result<Vec<Address>, sqlx::Error> {
        let rows = sqlx::query("SELECT provider FROM directory WHERE npi = $1 AND provider <> $2")
            .bind(npi.to_owned())
            .bind(except.to_vec())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().filter_map(|row| address_from(&row.try_get::<Vec<u8>, _>("provider").ok()?)).collect())
    }
}
