//! Undoing the blocks a reorg orphaned. Every mirrored row records the block it came from, and
//! history tables are append-only, so unwinding to an ancestor is a set of deletes plus clearing
//! revocations made after it — in one transaction with the checkpoint.

use super::codec::{bytes, int};
use super::commit::remember_block;
use super::{Store, StoreError};
use crate::model::BlockRef;

/// Tables whose rows are wholly owned by the block in their `block_number` column.
const BLOCK_OWNED_TABLES: [&str; 7] =
    ["grants", "provider_events", "emergency_settings", "nonce_events", "pause_events", "audit_anchors", "role_events"];

impl Store {
    /// Rewinds the mirror from checkpoint `from` to `ancestor`, the newest block still canonical.
    pub async fn rollback(&self, chain_id: u64, from: u64, ancestor: BlockRef) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE indexer_checkpoint SET block_number = $1, block_hash = $2, block_timestamp = $3 \
             WHERE chain_id = $4 AND block_number = $5",
        )
        .bind(int(ancestor.number))
        .bind(bytes(ancestor.hash))
        .bind(int(ancestor.timestamp))
        .bind(int(chain_id))
        .bind(int(from))
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::CheckpointMoved { expected: from, found: ancestor.number });
        }
        sqlx::query(
            "UPDATE grants SET revoked_block = NULL, revoked_tx = NULL, revoked_log_index = NULL \
             WHERE chain_id = $1 AND revoked_block > $2",
        )
        .bind(int(chain_id))
        .bind(int(ancestor.number))
        .execute(&mut *tx)
        .await?;
        for table in BLOCK_OWNED_TABLES {
            let sql = format!("DELETE FROM {table} WHERE chain_id = $1 AND block_number > $2");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(int(chain_id))
                .bind(int(ancestor.number))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM indexed_blocks WHERE chain_id = $1 AND number > $2")
            .bind(int(chain_id))
            .bind(int(ancestor.number))
            .execute(&mut *tx)
            .await?;
        remember_block(&mut tx, chain_id, ancestor.number, &ancestor.hash).await?;
        tx.commit().await?;
        self.wrote();
        Ok(())
    }
}
