//! Test databases: a fresh SQLite file, or a fresh PostgreSQL database on the server CI starts
//! (`MEDKEY_TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/test). A missing
//! PostgreSQL fails the test; it is never skipped.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AnyPool, AssertSqlSafe, Executor};
use tempfile::TempDir;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub url: String,
    backend: Backend,
    name: String,
    _dir: Option<TempDir>,
}

fn admin_url() -> String {
    std::env::var("MEDKEY_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        // Process id, a counter and the clock: a reused pid cannot meet a database left behind
        // by an earlier run's failed test.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("medkey_t{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join(format!("{name}.sqlite")).display());
                Self { url, backend, name, _dir: Some(dir) }
            }
            Backend::Postgres => {
                let admin = admin_pool().await;
                admin
                    .execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .await
                    .expect("DROP");
                admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("CREATE DATABASE");
                admin.close().await;
                let base = admin_url();
                let server = &base[..base.rfind('/').expect("URL has a database path")];
                Self { url: format!("{server}/{name}"), backend, name, _dir: None }
            }
        }
    }

    /// A connection pool on the test database, for a test that reaches past the API (to tamper
    /// with what the vault stores, say).
    pub async fn pool(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        AnyPool::connect(&self.url).await.unwrap_or_else(|err| panic!("connecting to {}: {err}", self.url))
    }

    /// Drops a PostgreSQL test database (SQLite files go with their temp dir).
    pub async fn cleanup(self) {
        if self.backend == Backend::Postgres {
            let admin = admin_pool().await;
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            admin.execute(AssertSqlSafe(sql)).await.expect("DROP DATABASE");
            admin.close().await;
        }
    }
}

async fn admin_pool() -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = admin_url();
    AnyPool::connect(&url)
        .await
        .unwrap_or_else(|err| panic!("PostgreSQL at {url} is required by the tests (CI starts it): {err}"))
}

/// Declares one test per backend from an `async fn(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::db::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario($crate::db::Backend::Postgres).await
            }
        }
    };
}
