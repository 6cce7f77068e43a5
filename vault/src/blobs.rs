//! Where attachment ciphertext lives: a local directory by default, an S3-compatible bucket
//! when configured (built with the `s3` feature), both through `object_store`.
//!
//! An attachment is the STREAM ciphertext (`docs/envelope.md`) of a `Binary` record version.
//! Uploads and downloads are streamed in both directions, so the vault's memory stays flat
//! whatever the size; an upload that fails or exceeds the limit leaves nothing behind. Object
//! names are built from validated record ids, version numbers and random upload ids only, never
//! from user text.
//!
//! Every upload writes an object of its own ([`BlobStore::upload_name`]); the database row that
//! names it (`crate::attachments`) is the commit point. Two uploads racing for one version both
//! write, one row wins, and the loser deletes its object: a refused upload can never replace or
//! corrupt the accepted one.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use medkey_protocol::RecordId;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

/// Upload parts of this size; memory per upload is about two of them.
const PART_SIZE: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the attachment is larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("the upload broke off: {0}")]
    Body(String),
    #[error("the attachment is not a version-1 encrypted stream")]
    NotAStream,
    #[error("no such attachment")]
    NotFound,
    #[error("blob storage: {0}")]
    Storage(#[from] object_store::Error),
}

impl BlobStore {
    /// Blobs under `dir` (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir).map_err(|err| {
            BlobError::Storage(object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(err) })
        })?;
        Ok(Self { store: Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?) })
    }

    /// Blobs in an S3-compatible bucket; credentials, region and endpoint come from the usual
    /// `AWS_*` environment variables.
    #[cfg(feature = "s3")]
    pub fn s3(bucket: &str) -> Result<Self, BlobError> {
        // A store that does not answer is reported within seconds (503 blobs_unavailable, the
        // client retries) rather than after object_store's default three minutes of retries,
        // which would hold the request past the vault's own timeout.
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(5),
        };
        let store =
            object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).with_retry(retry).build()?;
        Ok(Self { store: Arc::new(store) })
    }

    /// Any store (tests use `object_store::memory::InMemory`).
    pub fn with_store(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// A fresh object name for one upload of `record_id` version `version`.
    pub fn upload_name(record_id: &RecordId, version: u32) -> String {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).expect("the OS random number generator works");
        format!("{}v{version}-{}", record_prefix(record_id), alloy::hex::encode(nonce))
    }

    /// The object name of an attachment stored before uploads had names of their own.
    pub fn legacy_name(record_id: &RecordId, version: u32) -> String {
        format!("{}{version}", record_prefix(record_id))
    }

    /// Streams `body` into the object `name`; returns its size. The first byte must be the
    /// envelope version; beyond `limit` bytes the upload is aborted.
    pub async fn put(
        &self,
        name: &str,
        body: impl Stream<Item = Result<Bytes, String>> + Unpin,
        limit: u64,
    ) -> Result<u64, BlobError> {
        let mut upload =
            WriteMultipart::new_with_chunk_size(self.store.put_multipart(&Path::from(name)).await?, PART_SIZE);
        match copy(body, &mut upload, limit).await {
            Ok(size) => {
                upload.finish().await?;
                Ok(size)
            }
            Err(err) => {
                // Nothing half-written stays behind.
                let _ = upload.abort().await;
                Err(err)
            }
        }
    }

    /// The object's ciphertext as a stream of chunks.
    pub async fn get(&self, name: &str) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        match self.store.get(&Path::from(name)).await {
            Ok(found) => Ok(found.into_stream().map(|chunk| chunk.map_err(BlobError::from)).boxed()),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound),
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes one object (gone already is fine).
    pub async fn delete(&self, name: &str) -> Result<(), BlobError> {
        match self.store.delete(&Path::from(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes every object of a record: those its attachment rows named (`named`) and anything
    /// else under its prefix, such as an upload that finished writing but has not committed (it
    /// will find the record erased and give up). Crypto-shredding removes the ciphertext too,
    /// though without the keys it is already unreadable.
    pub async fn erase_record(&self, record_id: &RecordId, named: &[String]) -> Result<(), BlobError> {
        for name in named {
            self.delete(name).await?;
        }
        let prefix = Path::from(record_prefix(record_id));
        let listed: Vec<_> = self.store.list(Some(&prefix)).collect().await;
        for meta in listed {
            match meta {
                Ok(meta) => self.delete(meta.location.as_ref()).await?,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }
}

/// Every object of a record lives under `attachments/<record id>/`.
fn record_prefix(record_id: &RecordId) -> String {
    format!("attachments/{}/", alloy::hex::encode(record_id))
}

async fn copy(
    mut body: impl Stream<Item = Result<Bytes, String>> + Unpin,
    upload: &mut WriteMultipart,
    limit: u64,
) -> Result<u64, BlobError> {
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(BlobError::Body)?;
        if size == 0 && chunk.first().is_some_and(|b| *b != medkey_protocol::envelope::VERSION) {
            return Err(BlobError::NotAStream);
        }
        size += chunk.len() as u64;
        if size > limit {
            return Err(BlobError::TooLarge { limit });
        }
        upload.wait_for_capacity(2).await?;
        upload.put(chunk);
    }
    if size < medkey_protocol::envelope::stream::HEADER_LEN as u64 {
        return Err(BlobError::NotAStream);
    }
    Ok(size)
}
