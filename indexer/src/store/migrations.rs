//! Migrations are embedded in the binary, one directory per backend (the schemas differ only in
//! type names: BYTEA/BIGINT against BLOB/INTEGER).

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::Backend;

const POSTGRES: &[(i64, &str, &str)] = &[(1, "mirror", include_str!("../../migrations/postgres/0001_mirror.sql"))];
const SQLITE: &[(i64, &str, &str)] = &[(1, "mirror", include_str!("../../migrations/sqlite/0001_mirror.sql"))];

pub fn migrator(backend: Backend) -> Migrator {
    let files = match backend {
        Backend::Postgres => POSTGRES,
        Backend::Sqlite => SQLITE,
    };
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    // The indexer and the vault share a database; each keeps its own migration history.
    migrator.table_name = "_medkey_indexer_migrations".into();
    migrator
}
