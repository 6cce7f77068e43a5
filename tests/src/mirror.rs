//! Running the indexer in-process against a test chain, waiting on it, and dumping the mirror
//! row by row for comparisons.

use std::time::Duration;

use medkey_indexer::{Indexer, IndexerConfig, IndexerError, Metrics, Store};
use prometheus_client::registry::Registry;
use sqlx::{Column, Row};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::chain::TestChain;

/// Quick settings for tests: 50 ms polls, short timeouts and backoff.
pub fn test_config(chain: &TestChain, rpc_url: String) -> IndexerConfig {
    IndexerConfig {
        rpc_url,
        ws_url: None,
        registry: chain.registry,
        deploy_block: chain.deploy_block,
        expected_chain_id: Some(chain.chain_id()),
        finality: medkey_indexer::Finality::Confirmations(0),
        max_reorg_depth: 64,
        poll_interval: Duration::from_millis(50),
        rpc_timeout: Duration::from_secs(2),
        max_backoff: Duration::from_millis(400),
        initial_log_range: 2_000,
        max_log_range: 50_000,
        exit_when_synced: false,
    }
}

pub struct RunningIndexer {
    pub store: Store,
    pub metrics: Metrics,
    pub chain_id: u64,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), IndexerError>>,
}

impl RunningIndexer {
    /// An indexer following `chain` live (new heads over WebSocket) into `database_url`, caught
    /// up with the chain's head when this returns.
    pub async fn following(chain: &TestChain, database_url: &str) -> Self {
        let mut config = test_config(chain, chain.rpc_url());
        config.ws_url = Some(chain.ws_url());
        let indexer = Self::start(config, database_url).await;
        indexer.wait_for_block(chain.head().await).await;
        indexer
    }

    pub async fn start(config: IndexerConfig, database_url: &str) -> Self {
        let chain_id = config.expected_chain_id.expect("test configs name their chain");
        let store = Store::connect(database_url).await.expect("mirror database opens");
        let metrics = Metrics::register(&mut Registry::default());
        let indexer = Indexer::connect(config, store.clone(), metrics.clone()).await.expect("indexer connects");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(indexer.run(async move {
            let _ = stopped.await;
        }));
        Self { store, metrics, chain_id, stop: Some(stop), task }
    }

    /// Waits until the mirror has committed block `number` (panics after 30 s, or if the
    /// indexer stopped with an error).
    pub async fn wait_for_block(&self, number: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            assert!(!self.task.is_finished(), "the indexer stopped while the test waited for block {number}");
            if let Some(cp) = self.store.checkpoint(self.chain_id).await.unwrap()
                && cp.block.number >= number
            {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "mirror did not reach block {number} within 30 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the indexer to stop on its own and returns its result.
    pub async fn finished(self) -> Result<(), IndexerError> {
        tokio::time::timeout(Duration::from_secs(30), self.task).await.expect("indexer stops").expect("no panic")
    }

    pub async fn stop(mut self) -> Store {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(10), self.task).await.expect("indexer stops");
        result.expect("no panic").expect("indexer ran without error");
        self.store
    }
}

/// Tables whose contents must be identical however the mirror was built (interrupted or not).
pub const MIRROR_TABLES: [(&str, &str); 6] = [
    ("grants", "chain_id, grant_id"),
    ("provider_events", "chain_id, block_number, log_index"),
    ("emergency_settings", "chain_id, block_number, log_index"),
    ("nonce_events", "chain_id, block_number, log_index"),
    ("pause_events", "chain_id, block_number, log_index"),
    ("audit_anchors", "chain_id, block_number, log_index"),
];

/// Every row of the mirror's tables, rendered column by column, in a stable order; plus the
/// checkpoint's block number and hash.
pub async fn dump(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for (table, order) in MIRROR_TABLES {
        let sql = format!("SELECT * FROM {table} ORDER BY {order}");
        for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(store.pool()).await.unwrap() {
            let cells: Vec<String> = (0..row.columns().len())
                .map(|i| {
                    let name = row.columns()[i].name().to_owned();
                    let value = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                        format!("{v:?}")
                    } else if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
                        v.map_or("NULL".into(), alloy::hex::encode)
                    } else {
                        format!("{:?}", row.try_get::<Option<String>, _>(i).unwrap())
                    };
                    format!("{name}={value}")
                })
                .collect();
            out.push(format!("{table}: {}", cells.join(" ")));
        }
    }
    let cp = sqlx::query("SELECT chain_id, block_number, block_hash FROM indexer_checkpoint ORDER BY chain_id")
        .fetch_all(store.pool())
        .await
        .unwrap();
    for row in cp {
        let hash: Vec<u8> = row.get(2);
        out.push(format!("checkpoint: {} {} {}", row.get::<i64, _>(0), row.get::<i64, _>(1), alloy::hex::encode(hash)));
    }
    out
}
