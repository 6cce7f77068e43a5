//! The mirror's queries (the vault's key-release question among them) and the checkpoint.

use alloy::primitives::{Address, B256};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::codec::{bytes, get_address, get_b256, get_opt_b256, get_opt_profile_hash, get_opt_u64, get_u64, int};
use super::commit::remember_block;
use super::{Store, StoreError};
use crate::freshness::{Freshness, FreshnessPolicy, Stale};
use crate::model::{
    BlockRef, Checkpoint, MirroredAnchor, MirroredGrant, MirroredProvider, ProviderHistoryEntry, ProviderStatus,
    RoleEvent,
};

const GRANT_COLUMNS: &str = "grant_id, patient, provider, categories, records_root, purpose, not_before, expires_at, \
     write_access, emergency, reason_hash, block_number, tx_hash, log_index, revoked_block";

#[derive(Debug, thiserror::Error)]
pub enum FreshnessError {
    #[error(transparent)]
    Stale(#[from] Stale),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Starts a mirror at `start` (the block before the deploy block) unless one exists; returns
    /// the checkpoint to resume from. Refuses a database that mirrors another registry.
    pub async fn init_checkpoint(
        &self,
        chain_id: u64,
        registry: Address,
        deploy_block: u64,
        start: BlockRef,
    ) -> Result<Checkpoint, StoreError> {
        if let Some(existing) = self.checkpoint(chain_id).await? {
            if existing.registry != registry {
                return Err(StoreError::OtherRegistry { chain_id, stored: existing.registry, requested: registry });
            }
            return Ok(existing);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO indexer_checkpoint (chain_id, registry, deploy_block, block_number, block_hash, \
             block_timestamp, head_number, head_seen_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $4, 0)",
        )
        .bind(int(chain_id))
        .bind(bytes(registry))
        .bind(int(deploy_block))
        .bind(int(start.number))
        .bind(bytes(start.hash))
        .bind(int(start.timestamp))
        .execute(&mut *tx)
        .await?;
        remember_block(&mut tx, chain_id, start.number, &start.hash).await?;
        tx.commit().await?;
        self.wrote();
        self.checkpoint(chain_id).await?.ok_or_else(|| StoreError::Inconsistent("checkpoint vanished".into()))
    }

    pub async fn checkpoint(&self, chain_id: u64) -> Result<Option<Checkpoint>, StoreError> {
        let row = sqlx::query(
            "SELECT registry, deploy_block, block_number, block_hash, block_timestamp, head_number, head_seen_at_ms \
             FROM indexer_checkpoint WHERE chain_id = $1",
        )
        .bind(int(chain_id))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Checkpoint {
                chain_id,
                registry: get_address(&row, "registry")?,
                deploy_block: get_u64(&row, "deploy_block")?,
                block: BlockRef {
                    number: get_u64(&row, "block_number")?,
                    hash: get_b256(&row, "block_hash")?,
                    timestamp: get_u64(&row, "block_timestamp")?,
                },
                head_number: get_u64(&row, "head_number")?,
                head_seen_at_ms: get_u64(&row, "head_seen_at_ms")?,
            })
        })
        .transpose()
    }

    /// Records that the chain head was `head` at `seen_at_ms`: the freshness heartbeat.
    pub async fn record_head(&self, chain_id: u64, head: u64, seen_at_ms: u64) -> Result<(), StoreError> {
        sqlx::query("UPDATE indexer_checkpoint SET head_number = $1, head_seen_at_ms = $2 WHERE chain_id = $3")
            .bind(int(head))
            .bind(int(seen_at_ms))
            .bind(int(chain_id))
            .execute(&self.pool)
            .await?;
        self.wrote();
        Ok(())
    }

    /// How far the mirror is behind the chain, or why it cannot say.
    pub async fn freshness(&self, chain_id: u64, now_ms: u64) -> Result<Freshness, FreshnessError> {
        let checkpoint = self.checkpoint(chain_id).await?.ok_or(Stale::NoCheckpoint { chain_id })?;
        Ok(Freshness::of(&checkpoint, now_ms))
    }

    /// Fails closed unless the mirror is within `policy` of the chain.
    pub async fn ensure_fresh(
        &self,
        chain_id: u64,
        now_ms: u64,
        policy: &FreshnessPolicy,
    ) -> Result<Freshness, FreshnessError> {
        let freshness = self.freshness(chain_id, now_ms).await?;
        freshness.check(policy)?;
        Ok(freshness)
    }

    /// The remembered hash of block `number`, if the mirror processed it recently.
    pub async fn block_hash(&self, chain_id: u64, number: u64) -> Result<Option<B256>, StoreError> {
        let row = sqlx::query("SELECT hash FROM indexed_blocks WHERE chain_id = $1 AND number = $2")
            .bind(int(chain_id))
            .bind(int(number))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| get_b256(&row, "hash")).transpose()
    }

    pub async fn grant(&self, chain_id: u64, grant_id: B256) -> Result<Option<MirroredGrant>, StoreError> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM grants WHERE chain_id = $1 AND grant_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(int(chain_id))
            .bind(bytes(grant_id))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(grant_from_row).transpose()
    }

    /// Every grant a patient made, oldest first, in every state.
    pub async fn grants_of_patient(&self, chain_id: u64, patient: Address) -> Result<Vec<MirroredGrant>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE chain_id = $1 AND patient = $2 ORDER BY block_number, log_index"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(int(chain_id))
            .bind(bytes(patient))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(grant_from_row).collect()
    }

    /// Every grant made to `provider`, oldest first (what a provider's client lists as "my patients").
    pub async fn grants_to_provider(&self, chain_id: u64, provider: Address) -> Result<Vec<MirroredGrant>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE chain_id = $1 AND provider = $2 ORDER BY block_number, log_index"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(int(chain_id))
            .bind(bytes(provider))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(grant_from_row).collect()
    }

    /// The key-release question: grants from `patient` to `provider` that are unrevoked, inside
    /// their window at `now` and cover `category_index`. Served by the `grants_live` index.
    /// Provider status and mirror freshness are separate checks.
    pub async fn live_grants(
        &self,
        chain_id: u64,
        provider: Address,
        patient: Address,
        category_index: u8,
        now: u64,
    ) -> Result<Vec<MirroredGrant>, StoreError> {
        self.unrevoked_grants(chain_id, provider, patient, category_index, now, now).await
    }

    /// Unrevoked grants covering `category_index` that have not expired by `at`, started or not:
    /// what a cache can hold for as long as the mirror does not move (time only filters more out).
    pub async fn unexpired_grants(
        &self,
        chain_id: u64,
        provider: Address,
        patient: Address,
        category_index: u8,
        at: u64,
    ) -> Result<Vec<MirroredGrant>, StoreError> {
        self.unrevoked_grants(chain_id, provider, patient, category_index, at, u64::MAX).await
    }

    async fn unrevoked_grants(
        &self,
        chain_id: u64,
        provider: Address,
        patient: Address,
        category_index: u8,
        expires_after: u64,
        started_by: u64,
    ) -> Result<Vec<MirroredGrant>, StoreError> {
        if category_index >= 16 {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE chain_id = $1 AND provider = $2 AND patient = $3 \
             AND revoked_block IS NULL AND expires_at > $4 AND not_before <= $5 AND (categories & $6) <> 0 \
             ORDER BY block_number, log_index"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(int(chain_id))
            .bind(bytes(provider))
            .bind(bytes(patient))
            .bind(int(expires_after))
            .bind(i64::try_from(started_by).unwrap_or(i64::MAX))
            .bind(1_i64 << category_index)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(grant_from_row).collect()
    }

    pub async fn provider(&self, chain_id: u64, provider: Address) -> Result<Option<MirroredProvider>, StoreError> {
        let row = sqlx::query(
            "SELECT provider, status, encryption_key, profile_hash, block_number FROM provider_events \
             WHERE chain_id = $1 AND provider = $2 ORDER BY block_number DESC, log_index DESC LIMIT 1",
        )
        .bind(int(chain_id))
        .bind(bytes(provider))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(provider_from_row).transpose()
    }

    /// Every provider ever registered, with its current state, by address.
    pub async fn providers(&self, chain_id: u64) -> Result<Vec<MirroredProvider>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.provider, e.status, e.encryption_key, e.profile_hash, e.block_number FROM provider_events e \
             WHERE e.chain_id = $1 AND NOT EXISTS (SELECT 1 FROM provider_events later \
               WHERE later.chain_id = e.chain_id AND later.provider = e.provider \
               AND (later.block_number > e.block_number \
                    OR (later.block_number = e.block_number AND later.log_index > e.log_index))) \
             ORDER BY e.provider",
        )
        .bind(int(chain_id))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(provider_from_row).collect()
    }

    /// The current state of every provider with an event after block `after` (what a reader that
    /// has seen the mirror up to `after` must look at again).
    pub async fn providers_changed_after(
        &self,
        chain_id: u64,
        after: u64,
    ) -> Result<Vec<MirroredProvider>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.provider, e.status, e.encryption_key, e.profile_hash, e.block_number FROM provider_events e \
             WHERE e.chain_id = $1 AND e.provider IN \
               (SELECT provider FROM provider_events WHERE chain_id = $2 AND block_number > $3) \
             AND NOT EXISTS (SELECT 1 FROM provider_events later \
               WHERE later.chain_id = e.chain_id AND later.provider = e.provider \
               AND (later.block_number > e.block_number \
                    OR (later.block_number = e.block_number AND later.log_index > e.log_index))) \
             ORDER BY e.provider",
        )
        .bind(int(chain_id))
        .bind(int(chain_id))
        .bind(int(after))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(provider_from_row).collect()
    }

    pub async fn provider_history(
        &self,
        chain_id: u64,
        provider: Address,
    ) -> Result<Vec<ProviderHistoryEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, status, encryption_key, profile_hash, reason_hash, block_timestamp, block_number, tx_hash, \
             log_index FROM provider_events \
             WHERE chain_id = $1 AND provider = $2 ORDER BY block_number, log_index",
        )
        .bind(int(chain_id))
        .bind(bytes(provider))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ProviderHistoryEntry {
                    kind: row.try_get("kind")?,
                    status: status_from_row(row)?,
                    encryption_key: get_b256(row, "encryption_key")?,
                    profile_hash: get_opt_profile_hash(row, "profile_hash")?.unwrap_or_default(),
                    reason_hash: get_opt_b256(row, "reason_hash")?,
                    block_timestamp: get_opt_u64(row, "block_timestamp")?,
                    block_number: get_u64(row, "block_number")?,
                    tx_hash: get_b256(row, "tx_hash")?,
                    log_index: get_u64(row, "log_index")?,
                })
            })
            .collect()
    }

    /// Every role grant and revocation, oldest first: who holds which role is the last event of
    /// each (role, account).
    pub async fn role_events(&self, chain_id: u64) -> Result<Vec<RoleEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT role, account, granted, block_number, tx_hash FROM role_events WHERE chain_id = $1 \
             ORDER BY block_number, log_index",
        )
        .bind(int(chain_id))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RoleEvent {
                    role: get_b256(row, "role")?,
                    account: get_address(row, "account")?,
                    granted: row.try_get::<i64, _>("granted")? != 0,
                    block_number: get_u64(row, "block_number")?,
                    tx_hash: get_b256(row, "tx_hash")?,
                })
            })
            .collect()
    }

    /// Whether `account` holds `role` at the mirror's checkpoint.
    pub async fn has_role(&self, chain_id: u64, role: B256, account: Address) -> Result<bool, StoreError> {
        let granted: Option<i64> = sqlx::query_scalar(
            "SELECT granted FROM role_events WHERE chain_id = $1 AND role = $2 AND account = $3 \
             ORDER BY block_number DESC, log_index DESC LIMIT 1",
        )
        .bind(int(chain_id))
        .bind(bytes(role))
        .bind(bytes(account))
        .fetch_optional(&self.pool)
        .await?;
        Ok(granted.is_some_and(|g| g != 0))
    }

    /// The categories a patient opened to break-glass access (0 when never configured).
    pub async fn emergency_categories(&self, chain_id: u64, patient: Address) -> Result<u16, StoreError> {
        let value: Option<i64> = sqlx::query_scalar(
            "SELECT categories FROM emergency_settings WHERE chain_id = $1 AND patient = $2 \
             ORDER BY block_number DESC, log_index DESC LIMIT 1",
        )
        .bind(int(chain_id))
        .bind(bytes(patient))
        .fetch_optional(&self.pool)
        .await?;
        value.map_or(Ok(0), |v| u16::try_from(v).map_err(|_| StoreError::Malformed { column: "categories" }))
    }

    /// A patient's signature nonce epoch (0 until the first `incrementNonce`).
    pub async fn nonce(&self, chain_id: u64, patient: Address) -> Result<u64, StoreError> {
        let value: Option<i64> = sqlx::query_scalar(
            "SELECT nonce FROM nonce_events WHERE chain_id = $1 AND patient = $2 \
             ORDER BY block_number DESC, log_index DESC LIMIT 1",
        )
        .bind(int(chain_id))
        .bind(bytes(patient))
        .fetch_optional(&self.pool)
        .await?;
        value.map_or(Ok(0), |v| u64::try_from(v).map_err(|_| StoreError::Malformed { column: "nonce" }))
    }

    pub async fn paused(&self, chain_id: u64) -> Result<bool, StoreError> {
        let value: Option<i64> = sqlx::query_scalar(
            "SELECT paused FROM pause_events WHERE chain_id = $1 ORDER BY block_number DESC, log_index DESC LIMIT 1",
        )
        .bind(int(chain_id))
        .fetch_optional(&self.pool)
        .await?;
        Ok(value == Some(1))
    }

    pub async fn latest_anchor(&self, chain_id: u64) -> Result<Option<MirroredAnchor>, StoreError> {
        let row = sqlx::query(
            "SELECT operator, root, size, anchored_at, block_number FROM audit_anchors \
             WHERE chain_id = $1 ORDER BY size DESC LIMIT 1",
        )
        .bind(int(chain_id))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(MirroredAnchor {
                operator: get_address(&row, "operator")?,
                root: get_b256(&row, "root")?,
                size: get_u64(&row, "size")?,
                anchored_at: get_u64(&row, "anchored_at")?,
                block_number: get_u64(&row, "block_number")?,
            })
        })
        .transpose()
    }
}

fn grant_from_row(row: &AnyRow) -> Result<MirroredGrant, StoreError> {
    let small = |column: &'static str| -> Result<i64, StoreError> { Ok(row.try_get::<i64, _>(column)?) };
    Ok(MirroredGrant {
        grant_id: get_b256(row, "grant_id")?,
        patient: get_address(row, "patient")?,
        provider: get_address(row, "provider")?,
        categories: u16::try_from(small("categories")?).map_err(|_| StoreError::Malformed { column: "categories" })?,
        records_root: get_b256(row, "records_root")?,
        purpose: u8::try_from(small("purpose")?).map_err(|_| StoreError::Malformed { column: "purpose" })?,
        not_before: get_u64(row, "not_before")?,
        expires_at: get_u64(row, "expires_at")?,
        write: small("write_access")? != 0,
        emergency: small("emergency")? != 0,
        reason_hash: get_opt_b256(row, "reason_hash")?,
        block_number: get_u64(row, "block_number")?,
        tx_hash: get_b256(row, "tx_hash")?,
        log_index: get_u64(row, "log_index")?,
        revoked_block: get_opt_u64(row, "revoked_block")?,
    })
}

fn status_from_row(row: &AnyRow) -> Result<ProviderStatus, StoreError> {
    let status: String = row.try_get("status")?;
    ProviderStatus::parse(&status).ok_or(StoreError::Malformed { column: "status" })
}

fn provider_from_row(row: &AnyRow) -> Result<MirroredProvider, StoreError> {
    Ok(MirroredProvider {
        address: get_address(row, "provider")?,
        status: status_from_row(row)?,
        encryption_key: get_b256(row, "encryption_key")?,
        profile_hash: get_opt_profile_hash(row, "profile_hash")?.unwrap_or_default(),
        updated_block: get_u64(row, "block_number")?,
    })
}
