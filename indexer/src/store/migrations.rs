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

/// The twin-migration rule: every PostgreSQL migration has its SQLite twin with the same version
/// and name, versions run 1, 2, 3, … with no gap, and both create and alter the same tables and
/// indexes (only type names differ). An error names the first difference.
pub fn check_twins(postgres: &[EmbeddedMigration], sqlite: &[EmbeddedMigration]) -> Result<(), String> {
    if postgres.len() != sqlite.len() {
        return Err(format!("{} PostgreSQL migrations but {} SQLite ones", postgres.len(), sqlite.len()));
    }
    for (i, (pg, lite)) in postgres.iter().zip(sqlite).enumerate() {
        if pg.0 != i as i64 + 1 || (pg.0, pg.1) != (lite.0, lite.1) {
            return Err(format!(
                "migration {}: PostgreSQL has ({}, {}), SQLite ({}, {})",
                i + 1,
                pg.0,
                pg.1,
                lite.0,
                lite.1
            ));
        }
        let (pg_objects, lite_objects) = (schema_objects(pg.2), schema_objects(lite.2));
        if pg_objects != lite_objects {
            return Err(format!(
                "migration {} ({}): PostgreSQL touches {pg_objects:?}, SQLite {lite_objects:?}",
                pg.0, pg.1
            ));
        }
    }
    Ok(())
}

/// The tables and indexes a migration creates, alters or drops, by name.
fn schema_objects(sql: &str) -> std::collections::BTreeSet<String> {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let mut found = std::collections::BTreeSet::new();
    for (i, word) in words.iter().enumerate() {
        if matches!(word.as_str(), "table" | "index")
            && i > 0
            && matches!(words[i - 1].as_str(), "create" | "alter" | "drop" | "unique")
        {
            let rest = &words[i + 1..];
            let skip = rest.iter().take_while(|w| matches!(w.as_str(), "if" | "not" | "exists")).count();
            if let Some(name) = rest.get(skip) {
                found.insert(format!("{word} {}", name.trim_matches('"')));
            }
        }
    }
    found
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_migrations_are_twins() {
        check_twins(POSTGRES, SQLITE).unwrap();
    }

    #[test]
    fn a_missing_or_different_twin_is_named() {
        let pg = [(1, "a", "CREATE TABLE x (id BIGINT)"), (2, "b", "CREATE INDEX y ON x (id)")];
        assert!(check_twins(&pg, &pg[..1]).unwrap_err().contains("2 PostgreSQL migrations but 1 SQLite"));
        let lite = [(1, "a", "CREATE TABLE x (id INTEGER)"), (2, "b", "CREATE INDEX z ON x (id)")];
        assert!(check_twins(&pg, &lite).unwrap_err().contains("migration 2 (b)"));
        let lite = [(1, "a", "CREATE TABLE IF NOT EXISTS x (id INTEGER)"), (2, "b", "create index y on x (id)")];
        check_twins(&pg, &lite).unwrap();
    }
}
