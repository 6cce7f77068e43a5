//! Which record versions have an attachment, where its ciphertext is and how big it is. The
//! ciphertext itself is in the [`crate::blobs::BlobStore`]; a row here is written only after the
//! blob is completely stored, and it is the commit point: the object it names is the version's
//! attachment, whatever other uploads wrote meanwhile.

use sqlx::{AnyPool, Row};

use crate::blobs::BlobStore;
use crate::records::{RecordError, lock_live};
use medkey_protocol::RecordId;

#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    #[error("this version already has an attachment; a new one needs a new version")]
    Exists,
    #[error("the record has been erased")]
    Erased,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A stored attachment: its object and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAttachment {
    pub blob: String,
    pub size: u64,
}

#[derive(Clone, Debug)]
pub struct Attachments {
    pool: AnyPool,
}

impl Attachments {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Makes the object `blob` the attachment of `record_id` version `version`, unless the
    /// version has one already or the record was erased (then the caller deletes its object).
    pub async fn commit(
        &self,
        record_id: &RecordId,
        version: u32,
        blob: &str,
        size: u64,
        now_ms: u64,
    ) -> Result<(), AttachmentError> {
        let mut tx = self.pool.begin().await?;
        lock_live(&mut tx, record_id).await.map_err(|err| match err {
            RecordError::Database(err) => AttachmentError::Database(err),
            _ => AttachmentError::Erased,
        })?;
        let inserted = sqlx::query(
            "INSERT INTO attachments (record_id, version, size, created_at_ms, blob) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (record_id, version) DO NOTHING",
        )
        .bind(record_id.to_vec())
        .bind(i64::from(version))
        .bind(size as i64)
        .bind(now_ms as i64)
        .bind(blob)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            return Err(AttachmentError::Exists);
        }
        tx.commit().await?;
        Ok(())
    }

    /// The version's attachment, if it has one.
    pub async fn find(&self, record_id: &RecordId, version: u32) -> Result<Option<StoredAttachment>, sqlx::Error> {
        let row = sqlx::query("SELECT size, blob FROM attachments WHERE record_id = $1 AND version = $2")
            .bind(record_id.to_vec())
            .bind(i64::from(version))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let blob: Option<String> = row.try_get("blob")?;
        Ok(Some(StoredAttachment {
            blob: blob.unwrap_or_else(|| BlobStore::legacy_name(record_id, version)),
            size: row.try_get::<i64, _>("size")? as u64,
        }))
    }
}
