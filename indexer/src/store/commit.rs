//! Applying a run of blocks to the mirror: every row and the new checkpoint in one transaction,
//! so a crash leaves the mirror exactly at the previous or at the new checkpoint.

use std::collections::HashMap;

use alloy::primitives::{Address, B256};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row};

use super::codec::{bytes, get_b256, get_opt_profile_hash, int, value_rows};
use super::{Backend, Store, StoreError};
use crate::changes::{Change, GrantCreated, LogPosition, PositionedChange, ProviderEvent};
use crate::model::{BlockRef, ProviderState, ProviderStatus};

/// Blocks `parent + 1 ..= tip.number`, ready to commit.
#[derive(Clone, Copy, Debug)]
pub struct BlockBatch<'a> {
    /// The checkpoint this batch continues from; the commit fails if the stored one has moved.
    pub parent: u64,
    pub tip: BlockRef,
    /// The batch's changes in log order.
    pub changes: &'a [PositionedChange],
    /// Hashes to remember for reorg detection (the tip's is always remembered).
    pub block_hashes: &'a [(u64, B256)],
    /// Remembered hashes of blocks below this are dropped: no reorg may reach them.
    pub forget_below: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    pub grants: usize,
    pub revocations: usize,
    pub other: usize,
}

impl CommitStats {
    pub fn events(&self) -> usize {
        self.grants + self.revocations + self.other
    }
}

const GRANT_COLUMNS: usize = 19;
/// Rows per INSERT: 19 columns × 1,000 rows stays under SQLite's 32,766 bound parameters.
const GRANT_ROWS_PER_INSERT: usize = 1_000;

struct GrantRow<'a> {
    created: &'a GrantCreated,
    position: &'a LogPosition,
    emergency: Option<B256>,
    revoked: Option<&'a LogPosition>,
}

impl Store {
    pub async fn commit(&self, chain_id: u64, batch: &BlockBatch<'_>) -> Result<CommitStats, StoreError> {
        let mut tx = self.pool.begin().await?;
        advance_checkpoint(&mut tx, chain_id, batch).await?;

        let mut stats = CommitStats::default();
        let mut grants: Vec<GrantRow> = Vec::new();
        let mut new_grant_index: HashMap<B256, usize> = HashMap::new();
        let mut providers: HashMap<Address, ProviderState> = HashMap::new();
        for PositionedChange { position, change } in batch.changes {
            match change {
                Change::GrantCreated(created) => {
                    new_grant_index.insert(created.grant_id, grants.len());
                    grants.push(GrantRow { created, position, emergency: None, revoked: None });
                    stats.grants += 1;
                }
                Change::GrantRevoked { grant_id } => {
                    match new_grant_index.get(grant_id) {
                        Some(&i) => grants[i].revoked = Some(position),
                        None => revoke_stored(&mut tx, chain_id, grant_id, position).await?,
                    }
                    stats.revocations += 1;
                }
                Change::EmergencyOpened { grant_id, reason_hash } => {
                    match new_grant_index.get(grant_id) {
                        Some(&i) => grants[i].emergency = Some(*reason_hash),
                        None => mark_stored_emergency(&mut tx, chain_id, grant_id, reason_hash).await?,
                    }
                    stats.other += 1;
                }
                Change::Provider { provider, event } => {
                    let previous = match providers.get(provider) {
                        Some(state) => Some(*state),
                        None => latest_provider_state(&mut tx, chain_id, provider).await?,
                    };
                    let state = next_provider_state(*provider, previous, event)?;
                    providers.insert(*provider, state);
                    insert_provider_event(&mut tx, chain_id, provider, event, state, position).await?;
                    stats.other += 1;
                }
                Change::EmergencyConfigured { patient, categories } => {
                    let sql = "INSERT INTO emergency_settings (chain_id, patient, categories, block_number, tx_hash, log_index) VALUES ($1, $2, $3, $4, $5, $6)";
                    let query = sqlx::query(sql).bind(int(chain_id)).bind(bytes(patient)).bind(i64::from(*categories));
                    bind_position(query, position).execute(&mut *tx).await?;
                    stats.other += 1;
                }
                Change::NonceIncremented { patient, nonce } => {
                    let sql = "INSERT INTO nonce_events (chain_id, patient, nonce, block_number, tx_hash, log_index) VALUES ($1, $2, $3, $4, $5, $6)";
                    let query = sqlx::query(sql).bind(int(chain_id)).bind(bytes(patient)).bind(int(*nonce));
                    bind_position(query, position).execute(&mut *tx).await?;
                    stats.other += 1;
                }
                Change::Paused { paused, account } => {
                    let sql = "INSERT INTO pause_events (chain_id, paused, account, block_number, tx_hash, log_index) VALUES ($1, $2, $3, $4, $5, $6)";
                    let query = sqlx::query(sql).bind(int(chain_id)).bind(i64::from(*paused)).bind(bytes(account));
                    bind_position(query, position).execute(&mut *tx).await?;
                    stats.other += 1;
                }
                Change::Role { role, account, granted } => {
                    let sql = "INSERT INTO role_events (chain_id, role, account, granted, block_number, tx_hash, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7)";
                    let query = sqlx::query(sql)
                        .bind(int(chain_id))
                        .bind(bytes(role))
                        .bind(bytes(account))
                        .bind(i64::from(*granted));
                    bind_position(query, position).execute(&mut *tx).await?;
                    stats.other += 1;
                }
                Change::AuditAnchored { operator, root, size } => {
                    let anchored_at = position.block_timestamp.ok_or_else(|| {
                        StoreError::Inconsistent("an audit anchor's block timestamp is unknown".into())
                    })?;
                    let sql = "INSERT INTO audit_anchors (chain_id, operator, root, size, anchored_at, block_number, tx_hash, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
                    let query = sqlx::query(sql)
                        .bind(int(chain_id))
                        .bind(bytes(operator))
                        .bind(bytes(root))
                        .bind(int(*size))
                        .bind(int(anchored_at));
                    bind_position(query, position).execute(&mut *tx).await?;
                    stats.other += 1;
                }
            }
        }
        for chunk in grants.chunks(GRANT_ROWS_PER_INSERT) {
            insert_grants(&mut tx, chain_id, chunk, self.backend).await?;
        }
        remember_blocks(&mut tx, chain_id, batch).await?;
        tx.commit().await?;
        self.wrote();
        Ok(stats)
    }
}

async fn advance_checkpoint(tx: &mut AnyConnection, chain_id: u64, batch: &BlockBatch<'_>) -> Result<(), StoreError> {
    let tip = batch.tip;
    let result = sqlx::query(
        "UPDATE indexer_checkpoint SET block_number = $1, block_hash = $2, block_timestamp = $3, \
         head_number = CASE WHEN head_number < $1 THEN $1 ELSE head_number END \
         WHERE chain_id = $4 AND block_number = $5",
    )
    .bind(int(tip.number))
    .bind(bytes(tip.hash))
    .bind(int(tip.timestamp))
    .bind(int(chain_id))
    .bind(int(batch.parent))
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() == 1 {
        return Ok(());
    }
    let found: Option<i64> = sqlx::query_scalar("SELECT block_number FROM indexer_checkpoint WHERE chain_id = $1")
        .bind(int(chain_id))
        .fetch_optional(&mut *tx)
        .await?;
    Err(StoreError::CheckpointMoved { expected: batch.parent, found: found.unwrap_or(-1).max(0) as u64 })
}

async fn insert_grants(
    tx: &mut AnyConnection,
    chain_id: u64,
    rows: &[GrantRow<'_>],
    backend: Backend,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO grants (chain_id, grant_id, patient, provider, categories, records_root, purpose, not_before, \
         expires_at, write_access, emergency, reason_hash, block_number, block_hash, tx_hash, log_index, \
         revoked_block, revoked_tx, revoked_log_index) VALUES {}",
        value_rows(rows.len(), GRANT_COLUMNS, backend)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for row in rows {
        let g = row.created;
        query = query
            .bind(int(chain_id))
            .bind(bytes(g.grant_id))
            .bind(bytes(g.patient))
            .bind(bytes(g.provider))
            .bind(i64::from(g.categories))
            .bind(bytes(g.records_root))
            .bind(i64::from(g.purpose))
            .bind(i64::from(g.not_before))
            .bind(i64::from(g.expires_at))
            .bind(i64::from(g.write))
            .bind(i64::from(row.emergency.is_some()))
            .bind(row.emergency.map(bytes))
            .bind(int(row.position.block_number))
            .bind(bytes(row.position.block_hash))
            .bind(bytes(row.position.tx_hash))
            .bind(int(row.position.log_index))
            .bind(row.revoked.map(|p| int(p.block_number)))
            .bind(row.revoked.map(|p| bytes(p.tx_hash)))
            .bind(row.revoked.map(|p| int(p.log_index)));
    }
    query.execute(&mut *tx).await?;
    Ok(())
}

async fn revoke_stored(
    tx: &mut AnyConnection,
    chain_id: u64,
    grant_id: &B256,
    position: &LogPosition,
) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE grants SET revoked_block = $1, revoked_tx = $2, revoked_log_index = $3 \
         WHERE chain_id = $4 AND grant_id = $5 AND revoked_block IS NULL",
    )
    .bind(int(position.block_number))
    .bind(bytes(position.tx_hash))
    .bind(int(position.log_index))
    .bind(int(chain_id))
    .bind(bytes(grant_id))
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() != 1 {
        return Err(StoreError::Inconsistent(format!(
            "revocation of grant {grant_id}, which is not live in the mirror"
        )));
    }
    Ok(())
}

async fn mark_stored_emergency(
    tx: &mut AnyConnection,
    chain_id: u64,
    grant_id: &B256,
    reason_hash: &B256,
) -> Result<(), StoreError> {
    let result = sqlx::query("UPDATE grants SET emergency = 1, reason_hash = $1 WHERE chain_id = $2 AND grant_id = $3")
        .bind(bytes(reason_hash))
        .bind(int(chain_id))
        .bind(bytes(grant_id))
        .execute(&mut *tx)
        .await?;
    if result.rows_affected() != 1 {
        return Err(StoreError::Inconsistent(format!("emergency access opened on unknown grant {grant_id}")));
    }
    Ok(())
}

async fn latest_provider_state(
    tx: &mut AnyConnection,
    chain_id: u64,
    provider: &Address,
) -> Result<Option<ProviderState>, StoreError> {
    let row = sqlx::query(
        "SELECT status, encryption_key, profile_hash FROM provider_events WHERE chain_id = $1 AND provider = $2 \
         ORDER BY block_number DESC, log_index DESC LIMIT 1",
    )
    .bind(int(chain_id))
    .bind(bytes(provider))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let status: String = row.try_get("status")?;
    let status = ProviderStatus::parse(&status).ok_or(StoreError::Malformed { column: "status" })?;
    Ok(Some(ProviderState {
        status,
        encryption_key: get_b256(&row, "encryption_key")?,
        profile_hash: get_opt_profile_hash(&row, "profile_hash")?.unwrap_or_default(),
    }))
}

/// A provider's state after `event`: the same transitions the contract allows.
fn next_provider_state(
    provider: Address,
    previous: Option<ProviderState>,
    event: &ProviderEvent,
) -> Result<ProviderState, StoreError> {
    match (previous, event) {
        (None, ProviderEvent::Registered { encryption_key, profile_hash }) => Ok(ProviderState {
            status: ProviderStatus::Active,
            encryption_key: *encryption_key,
            profile_hash: *profile_hash,
        }),
        (Some(state), ProviderEvent::ProfileUpdated { profile_hash }) => {
            Ok(ProviderState { profile_hash: *profile_hash, ..state })
        }
        (Some(state), ProviderEvent::Suspended { .. }) => {
            Ok(ProviderState { status: ProviderStatus::Suspended, ..state })
        }
        (Some(state), ProviderEvent::Reinstated { .. }) => {
            Ok(ProviderState { status: ProviderStatus::Active, ..state })
        }
        (Some(state), ProviderEvent::KeyRotated { encryption_key }) => {
            Ok(ProviderState { encryption_key: *encryption_key, ..state })
        }
        _ => Err(StoreError::Inconsistent(format!(
            "provider {provider}: {} after {}",
            event.kind(),
            previous.map_or("nothing", |state| state.status.as_str())
        ))),
    }
}

async fn insert_provider_event(
    tx: &mut AnyConnection,
    chain_id: u64,
    provider: &Address,
    event: &ProviderEvent,
    state: ProviderState,
    position: &LogPosition,
) -> Result<(), StoreError> {
    let query = sqlx::query(
        "INSERT INTO provider_events (chain_id, provider, kind, status, encryption_key, profile_hash, reason_hash, \
         block_timestamp, block_number, tx_hash, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(int(chain_id))
    .bind(bytes(provider))
    .bind(event.kind())
    .bind(state.status.as_str())
    .bind(bytes(state.encryption_key))
    .bind(bytes(state.profile_hash))
    .bind(event.reason_hash().map(bytes))
    .bind(position.block_timestamp.map(int));
    bind_position(query, position).execute(&mut *tx).await?;
    Ok(())
}

fn bind_position<'q>(query: Query<'q, Any, AnyArguments>, position: &LogPosition) -> Query<'q, Any, AnyArguments> {
    query.bind(int(position.block_number)).bind(bytes(position.tx_hash)).bind(int(position.log_index))
}

async fn remember_blocks(tx: &mut AnyConnection, chain_id: u64, batch: &BlockBatch<'_>) -> Result<(), StoreError> {
    let tip = [(batch.tip.number, batch.tip.hash)];
    for (number, hash) in batch.block_hashes.iter().chain(&tip).filter(|(number, _)| *number >= batch.forget_below) {
        remember_block(tx, chain_id, *number, hash).await?;
    }
    sqlx::query("DELETE FROM indexed_blocks WHERE chain_id = $1 AND number < $2")
        .bind(int(chain_id))
        .bind(int(batch.forget_below))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Records (or, after a reorg, replaces) the hash of block `number`.
pub(super) async fn remember_block(
    tx: &mut AnyConnection,
    chain_id: u64,
    number: u64,
    hash: &B256,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO indexed_blocks (chain_id, number, hash) VALUES ($1, $2, $3) \
         ON CONFLICT (chain_id, number) DO UPDATE SET hash = excluded.hash",
    )
    .bind(int(chain_id))
    .bind(int(number))
    .bind(bytes(hash))
    .execute(&mut *tx)
    .await?;
    Ok(())
}
