//! Records as the vault keeps them: envelope ciphertext per version, wrapped data keys per
//! recipient, and the plaintext metadata access control needs. Nothing here can decrypt.

use std::collections::HashMap;

use alloy::primitives::{Address, B256};
use medkey_indexer::{Backend, StoreError};
use medkey_protocol::envelope::{record, wrap};
use medkey_protocol::{Category, consent::records_root, fhir};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};

use crate::blobs::BlobStore;
use medkey_protocol::RecordId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordMeta {
    pub record_id: RecordId,
    pub owner: Address,
    pub category: Category,
    pub resource_type: String,
    pub current_version: u32,
    pub created_by: Address,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    pub erased: bool,
    /// Bytes of the current version's encrypted attachment, if it has one.
    pub attachment_size: Option<u64>,
}

/// One stored version of a record (see [`Records::versions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionMeta {
    pub version: u32,
    pub size: u64,
    pub created_by: Address,
    pub created_at_ms: u64,
    pub attachment_size: Option<u64>,
}

/// A record as a key release sees it (see [`Records::for_release`]).
#[derive(Clone, Debug)]
pub struct ReleaseView {
    pub meta: RecordMeta,
    pub ciphertext: Option<Vec<u8>>,
    pub wrapped_key: Option<Vec<u8>>,
}

/// A new record's identity and metadata, as the client declares it.
#[derive(Clone, Debug)]
pub struct NewRecord {
    pub record_id: RecordId,
    pub owner: Address,
    pub category: Category,
    pub resource_type: String,
    /// The sealed origin the patient's client stored with it (opaque here).
    pub origin: Option<Vec<u8>>,
}

/// The largest sealed origin accepted (see `envelope::origin`).
pub use medkey_protocol::envelope::origin::MAX_SEALED_BYTES as MAX_ORIGIN_BYTES;

/// One version's ciphertext and the data key wrapped for each reader (the owner included).
#[derive(Clone, Debug)]
pub struct NewVersion {
    pub ciphertext: Vec<u8>,
    pub wrapped_keys: Vec<(Address, Vec<u8>)>,
}

/// Who adds keys to an existing version, which decides what happens to a key already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAdder {
    /// The record's owner: may replace any key (her client re-wraps for her readers).
    Owner,
    /// The provider that wrote the record under a write grant: may add keys only for readers
    /// that have none, so it can never lock the patient (or anyone) out of the record.
    Writer,
}

/// What an erase leaves for the caller to delete outside the database: the attachment objects.
#[derive(Clone, Debug, Default)]
pub struct Erased {
    /// The objects the record's attachment rows named.
    pub attachment_blobs: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("no such record")]
    NotFound,
    #[error("a record with this id already exists")]
    Exists,
    #[error("the record has been erased")]
    Erased,
    #[error("'{0}' is not a FHIR R4 resource type")]
    UnknownResourceType(String),
    #[error("the ciphertext is not a version-1 sealed record")]
    InvalidCiphertext,
    #[error("the wrapped key for {0} is not a version-1 wrapped key (81 bytes)")]
    InvalidWrappedKey(Address),
    #[error("every version must carry a data key wrapped for the record's owner")]
    MissingOwnerKey,
    #[error("{0} appears more than once among the wrapped keys")]
    DuplicateRecipient(Address),
    #[error("a different key is already wrapped for {0} on this version; only the record's owner can replace it")]
    WrappedKeyExists(Address),
    #[error("the sealed origin is larger than {MAX_ORIGIN_BYTES} bytes")]
    OriginTooLarge,
    #[error("record {0} in the set does not belong to the patient")]
    ForeignRecordInSet(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Clone, Debug)]
pub struct Records {
    pool: AnyPool,
    backend: Backend,
}

impl Records {
    pub fn new(pool: AnyPool, backend: Backend) -> Self {
        Self { pool, backend }
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn create(
        &self,
        new: &NewRecord,
        created_by: Address,
        version: &NewVersion,
        now_ms: u64,
    ) -> Result<RecordMeta, RecordError> {
        check_new(new, version)?;
        if self.find(&new.record_id).await?.is_some() {
            return Err(RecordError::Exists);
        }
        let mut tx = self.pool.begin().await?;
        insert_record(&mut tx, new, created_by, version, now_ms).await?;
        tx.commit().await?;
        self.get(&new.record_id).await
    }

    /// Many new records in one transaction: all are stored or none is (a record id already
    /// taken refuses the whole batch), so an import that stops halfway leaves whole batches.
    pub async fn create_all(
        &self,
        records: &[(NewRecord, NewVersion)],
        created_by: Address,
        now_ms: u64,
    ) -> Result<Vec<RecordMeta>, RecordError> {
        for (new, version) in records {
            check_new(new, version)?;
        }
        let mut tx = self.pool.begin().await?;
        for (new, version) in records {
            insert_record(&mut tx, new, created_by, version, now_ms).await?;
        }
        tx.commit().await?;
        Ok(records
            .iter()
            .map(|(new, _)| RecordMeta {
                record_id: new.record_id,
                owner: new.owner,
                category: new.category,
                resource_type: new.resource_type.clone(),
                current_version: 1,
                created_by,
                created_at_ms: now_ms,
                updated_at_ms: now_ms,
                erased: false,
                attachment_size: None,
            })
            .collect())
    }

    /// A new version (an update): the old ones stay until the record is erased.
    pub async fn update(
        &self,
        record_id: &RecordId,
        actor: Address,
        version: &NewVersion,
        now_ms: u64,
    ) -> Result<RecordMeta, RecordError> {
        self.update_with_origin(record_id, actor, version, None, now_ms).await
    }

    /// [`Records::update`], replacing the record's sealed origin with the same version (a record
    /// pulled again from a provider carries the new source); `None` keeps the origin it had.
    pub async fn update_with_origin(
        &self,
        record_id: &RecordId,
        actor: Address,
        version: &NewVersion,
        origin: Option<&[u8]>,
        now_ms: u64,
    ) -> Result<RecordMeta, RecordError> {
        if origin.is_some_and(|o| o.len() > MAX_ORIGIN_BYTES) {
            return Err(RecordError::OriginTooLarge);
        }
        let meta = self.get(record_id).await?;
        if meta.erased {
            return Err(RecordError::Erased);
        }
        check_version(meta.owner, version)?;
        let next = meta.current_version + 1;
        let mut tx = self.pool.begin().await?;
        // Guarded on the version read above, so two concurrent updates cannot both be version n+1,
        // and on the record not being erased. As the transaction's first statement it takes the
        // record row's lock, so an erase running at the same time either waits for this version
        // (and shreds it too) or has committed, and this update finds nothing to move.
        let moved = sqlx::query(
            "UPDATE records SET current_version = $1, updated_at_ms = $2, origin = COALESCE($5, origin) \
             WHERE record_id = $3 AND current_version = $4 AND erased_at_ms IS NULL",
        )
        .bind(i64::from(next))
        .bind(now_ms as i64)
        .bind(record_id.to_vec())
        .bind(i64::from(meta.current_version))
        .bind(origin.map(<[u8]>::to_vec))
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            drop(tx);
            return Err(if self.get(record_id).await?.erased { RecordError::Erased } else { RecordError::Exists });
        }
        insert_version(&mut tx, record_id, next, actor, version, now_ms).await?;
        tx.commit().await?;
        self.get(record_id).await
    }

    pub async fn find(&self, record_id: &RecordId) -> Result<Option<RecordMeta>, RecordError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {META_COLUMNS} FROM records WHERE record_id = $1")))
            .bind(record_id.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(meta_from_row).transpose()
    }

    /// The sealed origins of those of `ids` that have one (live records only).
    pub async fn origins(&self, ids: &[RecordId]) -> Result<HashMap<RecordId, Vec<u8>>, RecordError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids = distinct_padded(ids.iter().copied());
        let sql = format!(
            "SELECT record_id, origin FROM records WHERE origin IS NOT NULL AND record_id IN ({})",
            placeholders(0, ids.len(), self.backend)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for id in &ids {
            query = query.bind(id.to_vec());
        }
        let mut origins = HashMap::new();
        for row in query.fetch_all(&self.pool).await? {
            let id: Vec<u8> = row.try_get("record_id")?;
            let id: RecordId = id.try_into().map_err(|_| sqlx::Error::Decode("malformed record id".into()))?;
            origins.insert(id, row.try_get("origin")?);
        }
        Ok(origins)
    }

    /// What key releases need, for many (record, reader) pairs in one query: each record, its
    /// current version's ciphertext (`None` once erased) and that version's key wrapped for the
    /// reader (`None` if not wrapped). Pairs whose record does not exist are absent.
    pub async fn for_release(
        &self,
        pairs: &[(RecordId, Address)],
    ) -> Result<HashMap<(RecordId, Address), ReleaseView>, RecordError> {
        self.for_release_on(&self.pool, pairs).await
    }

    /// [`Self::for_release`] on a given connection (the release reader keeps one).
    pub async fn for_release_on<'c>(
        &self,
        executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
        pairs: &[(RecordId, Address)],
    ) -> Result<HashMap<(RecordId, Address), ReleaseView>, RecordError> {
        let ids = distinct_padded(pairs.iter().map(|(id, _)| *id));
        let readers = distinct_padded(pairs.iter().map(|(_, reader)| *reader));
        // Bound in the order they appear in the text (SQLite's `?` are positional).
        let sql = format!(
            "SELECT r.record_id, r.owner, r.category, r.resource_type, r.current_version, r.created_by, \
                    r.created_at_ms, r.updated_at_ms, r.erased_at_ms, v.ciphertext, k.recipient, k.wrapped, \
                    (SELECT a.size FROM attachments a WHERE a.record_id = r.record_id \
                     AND a.version = r.current_version) AS attachment_size \
             FROM records r \
             JOIN record_versions v ON v.record_id = r.record_id AND v.version = r.current_version \
             LEFT JOIN wrapped_keys k \
               ON k.record_id = r.record_id AND k.version = r.current_version AND k.recipient IN ({}) \
             WHERE r.record_id IN ({})",
            placeholders(0, readers.len(), self.backend),
            placeholders(readers.len(), ids.len(), self.backend),
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for reader in &readers {
            query = query.bind(reader.to_vec());
        }
        for id in &ids {
            query = query.bind(id.to_vec());
        }
        let mut wrapped: HashMap<(RecordId, Address), Vec<u8>> = HashMap::new();
        let mut records: HashMap<RecordId, (RecordMeta, Option<Vec<u8>>)> = HashMap::new();
        for row in query.fetch_all(executor).await? {
            let meta = meta_from_row(&row)?;
            let recipient: Option<Vec<u8>> = row.try_get("recipient")?;
            let key: Option<Vec<u8>> = row.try_get("wrapped")?;
            if let (Some(Ok(recipient)), Some(key)) = (recipient.map(|r| Address::try_from(r.as_slice())), key) {
                wrapped.insert((meta.record_id, recipient), key);
            }
            let ciphertext = row.try_get("ciphertext")?;
            records.entry(meta.record_id).or_insert((meta, ciphertext));
        }
        Ok(pairs
            .iter()
            .filter_map(|pair| {
                let (meta, ciphertext) = records.get(&pair.0)?.clone();
                Some((*pair, ReleaseView { meta, ciphertext, wrapped_key: wrapped.get(pair).cloned() }))
            })
            .collect())
    }

    pub async fn get(&self, record_id: &RecordId) -> Result<RecordMeta, RecordError> {
        self.find(record_id).await?.ok_or(RecordError::NotFound)
    }

    /// A patient's records, optionally of one category, oldest first.
    pub async fn list(&self, owner: Address, category: Option<Category>) -> Result<Vec<RecordMeta>, RecordError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {META_COLUMNS} FROM records WHERE owner = $1 AND ($2 < 0 OR category = $2) \
             ORDER BY created_at_ms, record_id"
        )))
        .bind(owner.to_vec())
        .bind(category.map_or(-1, |c| i64::from(c.index())))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(meta_from_row).collect()
    }

    /// Every stored version of a record, newest first, with its attachment's size if it has one.
    /// Who wrote `version` of the record, if that version exists.
    pub async fn version_author(&self, record_id: &RecordId, version: u32) -> Result<Option<Address>, RecordError> {
        let author: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT created_by FROM record_versions WHERE record_id = $1 AND version = $2")
                .bind(record_id.to_vec())
                .bind(i64::from(version))
                .fetch_optional(&self.pool)
                .await?;
        Ok(author.map(|bytes| Address::from_slice(&bytes)))
    }

    pub async fn versions(&self, record_id: &RecordId) -> Result<Vec<VersionMeta>, RecordError> {
        let rows = sqlx::query(
            "SELECT v.version, v.size, v.created_by, v.created_at_ms, a.size AS attachment_size \
             FROM record_versions v \
             LEFT JOIN attachments a ON a.record_id = v.record_id AND a.version = v.version \
             WHERE v.record_id = $1 ORDER BY v.version DESC",
        )
        .bind(record_id.to_vec())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    pub async fn ciphertext(&self, record_id: &RecordId, version: u32) -> Result<Vec<u8>, RecordError> {
        let value: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT ciphertext FROM record_versions WHERE record_id = $1 AND version = $2")
                .bind(record_id.to_vec())
                .bind(i64::from(version))
                .fetch_optional(&self.pool)
                .await?;
        match value {
            None => Err(RecordError::NotFound),
            Some(None) => Err(RecordError::Erased),
            Some(Some(bytes)) => Ok(bytes),
        }
    }

    /// The data key of `version` wrapped for `recipient`, if the patient's client wrapped one.
    pub async fn wrapped_key(
        &self,
        record_id: &RecordId,
        version: u32,
        recipient: Address,
    ) -> Result<Option<Vec<u8>>, RecordError> {
        Ok(sqlx::query_scalar(
            "SELECT wrapped FROM wrapped_keys WHERE record_id = $1 AND version = $2 AND recipient = $3",
        )
        .bind(record_id.to_vec())
        .bind(i64::from(version))
        .bind(recipient.to_vec())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Adds keys wrapped for more readers of a version (e.g. a provider granted later), all or
    /// none. A key identical to the stored one is accepted as a repeat; a different one replaces
    /// it only for [`KeyAdder::Owner`], and is refused with [`RecordError::WrappedKeyExists`]
    /// otherwise.
    pub async fn add_wrapped_keys(
        &self,
        record_id: &RecordId,
        version: u32,
        keys: &[(Address, Vec<u8>)],
        adder: KeyAdder,
        now_ms: u64,
    ) -> Result<(), RecordError> {
        let meta = self.get(record_id).await?;
        if meta.erased {
            return Err(RecordError::Erased);
        }
        if version == 0 || version > meta.current_version {
            return Err(RecordError::NotFound);
        }
        check_keys(keys)?;
        let mut tx = self.pool.begin().await?;
        lock_live(&mut tx, record_id).await?;
        for (recipient, wrapped) in keys {
            let inserted = insert_wrapped(&mut tx, record_id, version, *recipient, wrapped, now_ms).await?;
            if inserted {
                continue;
            }
            let stored: Vec<u8> = sqlx::query_scalar(
                "SELECT wrapped FROM wrapped_keys WHERE record_id = $1 AND version = $2 AND recipient = $3",
            )
            .bind(record_id.to_vec())
            .bind(i64::from(version))
            .bind(recipient.to_vec())
            .fetch_one(&mut *tx)
            .await?;
            match (stored == *wrapped, adder) {
                (true, _) => {}
                (false, KeyAdder::Owner) => {
                    sqlx::query(
                        "UPDATE wrapped_keys SET wrapped = $1 WHERE record_id = $2 AND version = $3 AND recipient = $4",
                    )
                    .bind(wrapped.clone())
                    .bind(record_id.to_vec())
                    .bind(i64::from(version))
                    .bind(recipient.to_vec())
                    .execute(&mut *tx)
                    .await?;
                }
                (false, KeyAdder::Writer) => return Err(RecordError::WrappedKeyExists(*recipient)),
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Crypto-shredding: every version's ciphertext and every wrapped key is deleted, and so are
    /// the attachment rows (whose objects the caller deletes: see [`Erased`]); the metadata row
    /// stays (marked erased) so the audit trail can still name the record. Marking the record
    /// comes first and takes its row lock: an update, key addition or attachment commit racing
    /// this either finished before (and is shredded here) or finds the record erased.
    pub async fn erase(&self, record_id: &RecordId, now_ms: u64) -> Result<Erased, RecordError> {
        self.get(record_id).await?;
        let mut tx = self.pool.begin().await?;
        let marked = sqlx::query(
            "UPDATE records SET erased_at_ms = $1, updated_at_ms = $1, origin = NULL \
             WHERE record_id = $2 AND erased_at_ms IS NULL",
        )
        .bind(now_ms as i64)
        .bind(record_id.to_vec())
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() != 1 {
            return Err(RecordError::Erased);
        }
        sqlx::query("UPDATE record_versions SET ciphertext = NULL WHERE record_id = $1")
            .bind(record_id.to_vec())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM wrapped_keys WHERE record_id = $1").bind(record_id.to_vec()).execute(&mut *tx).await?;
        let rows = sqlx::query("SELECT version, blob FROM attachments WHERE record_id = $1")
            .bind(record_id.to_vec())
            .fetch_all(&mut *tx)
            .await?;
        let mut erased = Erased::default();
        for row in rows {
            let version = u32::try_from(row.try_get::<i64, _>("version")?)
                .map_err(|_| sqlx::Error::Decode("malformed attachment version".into()))?;
            let blob: Option<String> = row.try_get("blob")?;
            erased.attachment_blobs.push(blob.unwrap_or_else(|| BlobStore::legacy_name(record_id, version)));
        }
        sqlx::query("DELETE FROM attachments WHERE record_id = $1").bind(record_id.to_vec()).execute(&mut *tx).await?;
        tx.commit().await?;
        if self.backend == Backend::Sqlite {
            self.checkpoint_wal().await;
        }
        Ok(erased)
    }

    /// Moves SQLite's write-ahead log into the database file and truncates it, so the pages that
    /// held an erased record (zeroed there by `secure_delete`) leave no copy in the WAL either.
    /// Readers holding an older snapshot can make it give up (`busy`): then it is tried again a
    /// few times and otherwise left to SQLite's automatic checkpoints, which is logged.
    async fn checkpoint_wal(&self) {
        for attempt in 0..5u64 {
            match sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&self.pool).await {
                Ok(row) if row.try_get::<i64, _>(0).unwrap_or(1) == 0 => return,
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(20 * (attempt + 1))).await,
                Err(err) => {
                    tracing::warn!(%err, "could not checkpoint the SQLite WAL after an erase");
                    return;
                }
            }
        }
        tracing::warn!("the SQLite WAL was busy after an erase; erased pages leave it at the next checkpoint");
    }

    /// Registers the record ids a grant's records root commits to; returns that root.
    pub async fn register_record_set(&self, owner: Address, record_ids: &[RecordId]) -> Result<B256, RecordError> {
        for id in record_ids {
            let meta = self.find(id).await?;
            if meta.is_none_or(|m| m.owner != owner) {
                return Err(RecordError::ForeignRecordInSet(alloy::hex::encode(id)));
            }
        }
        let root = records_root(record_ids);
        let mut tx = self.pool.begin().await?;
        for id in record_ids {
            sqlx::query(
                "INSERT INTO record_sets (records_root, record_id, owner) VALUES ($1, $2, $3) \
                 ON CONFLICT (records_root, record_id) DO NOTHING",
            )
            .bind(root.to_vec())
            .bind(id.to_vec())
            .bind(owner.to_vec())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(root)
    }
}

/// The gate asks whether a grant's records root covers the record.
impl crate::gate::RecordSets for Records {
    async fn contains(&self, records_root: B256, record_id: &RecordId) -> Result<bool, StoreError> {
        let hit: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM record_sets WHERE records_root = $1 AND record_id = $2")
                .bind(records_root.to_vec())
                .bind(record_id.to_vec())
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::from)?;
        Ok(hit.is_some())
    }
}

const META_COLUMNS: &str = "record_id, owner, category, resource_type, current_version, created_by, created_at_ms, \
    updated_at_ms, erased_at_ms, (SELECT a.size FROM attachments a WHERE a.record_id = records.record_id \
    AND a.version = records.current_version) AS attachment_size";

fn meta_from_row(row: &AnyRow) -> Result<RecordMeta, RecordError> {
    let bytes = |column: &str| -> Result<Vec<u8>, sqlx::Error> { row.try_get::<Vec<u8>, _>(column) };
    let malformed = |column: &str| sqlx::Error::Decode(format!("malformed {column}").into());
    let category: i64 = row.try_get("category")?;
    Ok(RecordMeta {
        record_id: bytes("record_id")?.try_into().map_err(|_| malformed("record_id"))?,
        owner: Address::try_from(bytes("owner")?.as_slice()).map_err(|_| malformed("owner"))?,
        category: u8::try_from(category).ok().and_then(Category::from_index).ok_or_else(|| malformed("category"))?,
        resource_type: row.try_get("resource_type")?,
        current_version: u32::try_from(row.try_get::<i64, _>("current_version")?)
            .map_err(|_| malformed("current_version"))?,
        created_by: Address::try_from(bytes("created_by")?.as_slice()).map_err(|_| malformed("created_by"))?,
        created_at_ms: row.try_get::<i64, _>("created_at_ms")? as u64,
        updated_at_ms: row.try_get::<i64, _>("updated_at_ms")? as u64,
        erased: row.try_get::<Option<i64>, _>("erased_at_ms")?.is_some(),
        attachment_size: row
            .try_get::<Option<i64>, _>("attachment_size")?
            .map(|s| u64::try_from(s).map_err(|_| malformed("attachment_size")))
            .transpose()?,
    })
}

fn version_from_row(row: &AnyRow) -> Result<VersionMeta, RecordError> {
    let malformed = |column: &str| sqlx::Error::Decode(format!("malformed {column}").into());
    let unsigned = |column: &str| -> Result<u64, sqlx::Error> {
        u64::try_from(row.try_get::<i64, _>(column)?).map_err(|_| malformed(column))
    };
    let created_by: Vec<u8> = row.try_get("created_by")?;
    Ok(VersionMeta {
        version: u32::try_from(unsigned("version")?).map_err(|_| malformed("version"))?,
        size: unsigned("size")?,
        created_by: Address::try_from(created_by.as_slice()).map_err(|_| malformed("created_by"))?,
        created_at_ms: unsigned("created_at_ms")?,
        attachment_size: row
            .try_get::<Option<i64>, _>("attachment_size")?
            .map(|s| u64::try_from(s).map_err(|_| malformed("attachment_size")))
            .transpose()?,
    })
}

/// Shape checks only: the vault cannot (and must not be able to) check what is inside.
/// What a new record must be before anything is written: a FHIR R4 type, a well-formed first
/// version with the owner's key, an origin within bounds.
fn check_new(new: &NewRecord, version: &NewVersion) -> Result<(), RecordError> {
    if !fhir::is_r4_resource_type(&new.resource_type) {
        return Err(RecordError::UnknownResourceType(new.resource_type.clone()));
    }
    check_version(new.owner, version)?;
    if new.origin.as_ref().is_some_and(|o| o.len() > MAX_ORIGIN_BYTES) {
        return Err(RecordError::OriginTooLarge);
    }
    Ok(())
}

/// A new record's row and its first version, in the caller's transaction.
async fn insert_record(
    tx: &mut sqlx::AnyConnection,
    new: &NewRecord,
    created_by: Address,
    version: &NewVersion,
    now_ms: u64,
) -> Result<(), RecordError> {
    sqlx::query(
        "INSERT INTO records (record_id, owner, category, resource_type, current_version, created_by, \
         created_at_ms, updated_at_ms, origin) VALUES ($1, $2, $3, $4, 1, $5, $6, $6, $7)",
    )
    .bind(new.record_id.to_vec())
    .bind(new.owner.to_vec())
    .bind(i64::from(new.category.index()))
    .bind(&new.resource_type)
    .bind(created_by.to_vec())
    .bind(now_ms as i64)
    .bind(new.origin.clone())
    .execute(&mut *tx)
    .await
    .map_err(|err| if is_unique_violation(&err) { RecordError::Exists } else { err.into() })?;
    insert_version(tx, &new.record_id, 1, created_by, version, now_ms).await
}

fn check_version(owner: Address, version: &NewVersion) -> Result<(), RecordError> {
    if version.ciphertext.len() < record::OVERHEAD || version.ciphertext[0] != medkey_protocol::envelope::VERSION {
        return Err(RecordError::InvalidCiphertext);
    }
    check_keys(&version.wrapped_keys)?;
    if !version.wrapped_keys.iter().any(|(recipient, _)| *recipient == owner) {
        return Err(RecordError::MissingOwnerKey);
    }
    Ok(())
}

/// Each key well formed, each recipient once.
fn check_keys(keys: &[(Address, Vec<u8>)]) -> Result<(), RecordError> {
    let mut seen = std::collections::HashSet::new();
    for (recipient, wrapped) in keys {
        check_wrapped(*recipient, wrapped)?;
        if !seen.insert(*recipient) {
            return Err(RecordError::DuplicateRecipient(*recipient));
        }
    }
    Ok(())
}

/// The first statement of a transaction that adds to a record (a key, an attachment): takes the
/// record row's write lock (a row lock on PostgreSQL; SQLite has one writer) and refuses an
/// erased record. An erase takes the same lock first, so the two are ordered: whichever commits
/// second sees the other's work.
pub(crate) async fn lock_live(tx: &mut sqlx::AnyConnection, record_id: &RecordId) -> Result<(), RecordError> {
    let touched =
        sqlx::query("UPDATE records SET updated_at_ms = updated_at_ms WHERE record_id = $1 AND erased_at_ms IS NULL")
            .bind(record_id.to_vec())
            .execute(&mut *tx)
            .await?;
    if touched.rows_affected() != 1 {
        return Err(RecordError::Erased);
    }
    Ok(())
}

fn check_wrapped(recipient: Address, wrapped: &[u8]) -> Result<(), RecordError> {
    if wrapped.len() != wrap::WRAPPED_LEN || wrapped[0] != medkey_protocol::envelope::VERSION {
        return Err(RecordError::InvalidWrappedKey(recipient));
    }
    Ok(())
}

async fn insert_version(
    tx: &mut sqlx::AnyConnection,
    record_id: &RecordId,
    version: u32,
    actor: Address,
    new: &NewVersion,
    now_ms: u64,
) -> Result<(), RecordError> {
    sqlx::query(
        "INSERT INTO record_versions (record_id, version, ciphertext, size, created_by, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(record_id.to_vec())
    .bind(i64::from(version))
    .bind(new.ciphertext.clone())
    .bind(new.ciphertext.len() as i64)
    .bind(actor.to_vec())
    .bind(now_ms as i64)
    .execute(&mut *tx)
    .await?;
    for (recipient, wrapped) in &new.wrapped_keys {
        insert_wrapped(tx, record_id, version, *recipient, wrapped, now_ms).await?;
    }
    Ok(())
}

/// Stores a wrapped key unless the recipient has one for this version; true if it was stored.
async fn insert_wrapped(
    tx: &mut sqlx::AnyConnection,
    record_id: &RecordId,
    version: u32,
    recipient: Address,
    wrapped: &[u8],
    now_ms: u64,
) -> Result<bool, RecordError> {
    let inserted = sqlx::query(
        "INSERT INTO wrapped_keys (record_id, version, recipient, wrapped, created_at_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (record_id, version, recipient) DO NOTHING",
    )
    .bind(record_id.to_vec())
    .bind(i64::from(version))
    .bind(recipient.to_vec())
    .bind(wrapped.to_vec())
    .bind(now_ms as i64)
    .execute(&mut *tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The distinct values, the last repeated up to a power-of-two count, so that a handful of
/// statement shapes (each prepared once) serve every batch.
fn distinct_padded<T: Copy + Ord>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut distinct: Vec<T> = values.collect();
    distinct.sort_unstable();
    distinct.dedup();
    if let Some(&last) = distinct.last() {
        distinct.resize(distinct.len().next_power_of_two(), last);
    }
    distinct
}

/// `$k, $k+1, …` (PostgreSQL) or `?, ?, …` (SQLite) for `n` parameters after the first `start`.
fn placeholders(start: usize, n: usize, backend: Backend) -> String {
    let one = |i: usize| match backend {
        Backend::Postgres => format!("${}", start + i + 1),
        Backend::Sqlite => "?".to_owned(),
    };
    (0..n).map(one).collect::<Vec<_>>().join(", ")
}
