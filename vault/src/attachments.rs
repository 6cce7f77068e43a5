//! Which record versions have an attachment, and how big it is. The ciphertext itself is in the
//! [`crate::blobs::BlobStore`]; a row here is written only after the blob is completely stored,
//! so a row always means a whole attachment.

use sqlx::AnyPool;

#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    #[error("this version already has an attachment; a new one needs a new version")]
    Exists,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Clone, Debug)]
pub struct Attachments {
    pool: AnyPool,
}

impl Attachments {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub async fn record(
        &self,
        record_id: &[u8; 16],
        version: u32,
        size: u64,
        now_ms: u64,
    ) -> Result<(), AttachmentError> {
        let inserted = sqlx::query(
            "INSERT INTO attachments (record_id, version, size, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (record_id, version) DO NOTHING",
        )
        .bind(record_id.to_vec())
        .bind(i64::from(version))
        .bind(size as i64)
        .bind(now_ms as i64)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 { Ok(()) } else { Err(AttachmentError::Exists) }
    }

    /// The attachment's size, if the version has one.
    pub async fn size(&self, record_id: &[u8; 16], version: u32) -> Result<Option<u64>, sqlx::Error> {
        let size: Option<i64> =
            sqlx::query_scalar("SELECT size FROM attachments WHERE record_id = $1 AND version = $2")
                .bind(record_id.to_vec())
                .bind(i64::from(version))
                .fetch_optional(&self.pool)
                .await?;
        Ok(size.map(|s| s as u64))
    }

    pub async fn forget(&self, record_id: &[u8; 16]) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM attachments WHERE record_id = $1")
            .bind(record_id.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
