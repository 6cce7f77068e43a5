//! The vault's tables live in the same database as the chain mirror (one pool, one backup), with
//! their own migration history.

use alloy::primitives::Address;
use medkey_indexer::Store;
use medkey_indexer::store::{EmbeddedMigration, embedded_migrator};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

const POSTGRES: &[EmbeddedMigration] = &[
    (1, "identity", include_str!("../migrations/postgres/0001_identity.sql")),
    (2, "records", include_str!("../migrations/postgres/0002_records.sql")),
    (3, "access_log", include_str!("../migrations/postgres/0003_access_log.sql")),
    (4, "mfa", include_str!("../migrations/postgres/0004_mfa.sql")),
    (5, "attachments", include_str!("../migrations/postgres/0005_attachments.sql")),
    (6, "audit_tree", include_str!("../migrations/postgres/0006_audit_tree.sql")),
    (7, "access_requests", include_str!("../migrations/postgres/0007_access_requests.sql")),
    (8, "account_keys", include_str!("../migrations/postgres/0008_account_keys.sql")),
    (9, "emergency_providers", include_str!("../migrations/postgres/0009_emergency_providers.sql")),
    (10, "attachment_blobs", include_str!("../migrations/postgres/0010_attachment_blobs.sql")),
    (11, "provider_directory", include_str!("../migrations/postgres/0011_provider_directory.sql")),
    (12, "record_origin", include_str!("../migrations/postgres/0012_record_origin.sql")),
    (13, "share_links", include_str!("../migrations/postgres/0013_share_links.sql")),
    (14, "request_write", include_str!("../migrations/postgres/0014_request_write.sql")),
    (15, "identity_hidden", include_str!("../migrations/postgres/0015_identity_hidden.sql")),
    (16, "provider_connections", include_str!("../migrations/postgres/0016_provider_connections.sql")),
];
const SQLITE: &[EmbeddedMigration] = &[
    (1, "identity", include_str!("../migrations/sqlite/0001_identity.sql")),
    (2, "records", include_str!("../migrations/sqlite/0002_records.sql")),
    (3, "access_log", include_str!("../migrations/sqlite/0003_access_log.sql")),
    (4, "mfa", include_str!("../migrations/sqlite/0004_mfa.sql")),
    (5, "attachments", include_str!("../migrations/sqlite/0005_attachments.sql")),
    (6, "audit_tree", include_str!("../migrations/sqlite/0006_audit_tree.sql")),
    (7, "access_requests", include_str!("../migrations/sqlite/0007_access_requests.sql")),
    (8, "account_keys", include_str!("../migrations/sqlite/0008_account_keys.sql")),
    (9, "emergency_providers", include_str!("../migrations/sqlite/0009_emergency_providers.sql")),
    (10, "attachment_blobs", include_str!("../migrations/sqlite/0010_attachment_blobs.sql")),
    (11, "provider_directory", include_str!("../migrations/sqlite/0011_provider_directory.sql")),
    (12, "record_origin", include_str!("../migrations/sqlite/0012_record_origin.sql")),
    (13, "share_links", include_str!("../migrations/sqlite/0013_share_links.sql")),
    (14, "request_write", include_str!("../migrations/sqlite/0014_request_write.sql")),
    (15, "identity_hidden", include_str!("../migrations/sqlite/0015_identity_hidden.sql")),
    (16, "provider_connections", include_str!("../migrations/sqlite/0016_provider_connections.sql")),
];

/// Runs the vault's pending migrations on the mirror's database and returns its pool.
pub async fn migrate(store: &Store) -> Result<AnyPool, sqlx::migrate::MigrateError> {
    embedded_migrator("_medkey_vault_migrations", store.backend(), POSTGRES, SQLITE).run(store.pool()).await?;
    Ok(store.pool().clone())
}

/// Whether `err` means the database cannot be reached or is restarting (a lost connection, no
/// free connection in time, TLS failure, PostgreSQL's SQLSTATE classes 08 and 57P), rather than a
/// fault of the query: the vault then answers 503 `database_unavailable` and the client retries.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// A connection kept by a task that queries in a loop (the release reader, the audit writer).
///
/// Checking a connection out of sqlx's pool costs a ping, and putting it back another: for
/// SQLite, two extra hand-offs to the connection's worker thread per query; for PostgreSQL, two
/// extra round trips. A task that runs one query per batch keeps its own connection instead,
/// detached from the pool (so closing the pool never waits on it), and drops it after any
/// error: the next batch then takes a fresh one, tested by the pool as usual.
#[derive(Debug)]
pub struct HeldConnection {
    pool: AnyPool,
    conn: Option<sqlx::AnyConnection>,
}

impl HeldConnection {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool, conn: None }
    }

    /// Runs `work` on the kept connection (a new one from the pool if none is kept). On an
    /// error the connection is dropped, whatever the error was (a lost connection, or a failed
    /// statement that might have left it mid-way).
    pub async fn run<T, E: From<sqlx::Error>>(
        &mut self,
        work: impl AsyncFnOnce(&mut sqlx::AnyConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            empty => empty.insert(self.pool.acquire().await?.detach()),
        };
        let result = work(conn).await;
        if result.is_err() {
            self.conn = None;
        }
        result
    }
}

/// An address stored as its 20 bytes in `column`; anything else is a decode error naming the column.
pub fn address_column(row: &AnyRow, column: &str) -> Result<Address, sqlx::Error> {
    let bytes: Vec<u8> = row.try_get(column)?;
    Address::try_from(bytes.as_slice()).map_err(|_| sqlx::Error::Decode(format!("malformed {column}").into()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_vault_migrations_are_twins() {
        medkey_indexer::store::check_twins(super::POSTGRES, super::SQLITE).unwrap();
    }
}
