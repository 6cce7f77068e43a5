//! Migrations are embedded in the binary, one directory per backend (the schemas differ only in
//! type names: BYTEA/BIGINT against BLOB/INTEGER).

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::Backend;

/// One embedded migration: version, description, SQL.
pub type EmbeddedMigration = (i64, &'static str, &'static str);

const POSTGRES: &[EmbeddedMigration] = &[
    (1, "mirror", include_str!("../../migrations/postgres/0001_mirror.sql")),
    (2, "directory", include_str!("../../migrations/postgres/0002_directory.sql")),
];
const SQLITE: &[EmbeddedMigration] = &[
    (1, "mirror", include_str!("../../migrations/sqlite/0001_mirror.sql")),
    (2, "directory", include_str!("../../migrations/sqlite/0002_directory.sql")),
];

pub fn migrator(backend: Backend) -> Migrator {
    // The indexer and the vault share a database; each keeps its own migration history.
    embedded_migrator("_medkey_indexer_migrations", backend, POSTGRES, SQLITE)
}

/// A migrator over SQL embedded with `include_str!`, for whichever backend is in use, recording
/// its history in `table`.
pub fn embedded_migrator(
    table: &'static str,
    backend: Backend,
    postgres: &[EmbeddedMigration],
    sqlite: &[EmbeddedMigration],
) -> Migrator {
    let files = match backend {
        Backend::Postgres => postgres,
        Backend::Sqlite => sqlite,
    };
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    migrator.table_name = table.into();
    migrator
}
