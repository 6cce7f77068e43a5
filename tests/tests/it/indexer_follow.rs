//! Following the chain: the backfill-to-follow hand-off neither skips nor repeats a block, and a
//! node that errors, hangs or drops connections is retried until the mirror is complete.

use std::collections::BTreeSet;
use std::time::Duration;

use alloy::primitives::B256;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::proxy::{FaultyProxy, Mode};
use medkey_indexer::Store;
use medkey_protocol::Category;
use sqlx::Row;

const CATEGORIES: [Category; 4] = [Category::LabResults, Category::Imaging, Category::Vitals, Category::Allergies];

/// A grant in its own block; the category varies so no two requests are alike.
async fn grant_in_new_block(chain: &TestChain, i: usize) -> B256 {
    let request = chain.request(chain.provider_account(0), &[CATEGORIES[i % CATEGORIES.len()]]).await;
    chain.grant(chain.patient(i % 2), request).await
}

/// Every grant id in the mirror, with the number of rows each has, and the blocks they are in.
async fn mirrored(store: &Store) -> (Vec<(B256, i64)>, BTreeSet<i64>) {
    let rows = sqlx::query("SELECT grant_id, COUNT(*) AS n, MIN(block_number) AS b FROM grants GROUP BY grant_id")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let ids = rows.iter().map(|r| (B256::from_slice(&r.get::<Vec<u8>, _>("grant_id")), r.get::<i64, _>("n"))).collect();
    let blocks = rows.iter().map(|r| r.get::<i64, _>("b")).collect();
    (ids, blocks)
}

async fn hands_off_from_backfill_to_following_without_gap_or_repeat(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    chain.register_provider(chain.provider_account(0)).await;
    let mut expected = Vec::new();
    for i in 0..24 {
        expected.push(grant_in_new_block(&chain, i).await);
    }
    // Blocks deeper than 4 below the head are backfilled in ranges of 3; the last 4 are
    // followed one by one. Every block holds a grant, so whichever block the hand-off lands on,
    // its events are checked; more grants keep landing while the indexer switches over.
    let mut config = test_config(&chain, chain.rpc_url());
    config.max_reorg_depth = 4;
    config.initial_log_range = 3;
    config.max_log_range = 3;
    let indexer = RunningIndexer::start(config, &db.url).await;
    for i in 24..40 {
        expected.push(grant_in_new_block(&chain, i).await);
    }
    indexer.wait_for_block(chain.head().await).await;

    let (ids, blocks) = mirrored(&indexer.store).await;
    assert!(ids.iter().all(|(_, n)| *n == 1), "no grant is stored twice");
    let found: BTreeSet<B256> = ids.iter().map(|(id, _)| *id).collect();
    assert_eq!(found, expected.iter().copied().collect::<BTreeSet<_>>(), "every grant, nothing else");
    let first = *blocks.first().unwrap();
    assert_eq!(blocks, (first..first + 40).collect::<BTreeSet<_>>(), "one grant in each of 40 consecutive blocks");
    indexer.stop().await.close().await;
    db.cleanup().await;
}
on_both_backends!(hands_off_from_backfill_to_following_without_gap_or_repeat);

async fn rides_out_node_errors_hangs_and_disconnects(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    chain.register_provider(chain.provider_account(0)).await;
    let upstream = chain.rpc_url().trim_start_matches("http://").replace("localhost", "127.0.0.1").parse().unwrap();
    let proxy = FaultyProxy::start(upstream).await;
    let mut config = test_config(&chain, proxy.url.clone());
    config.rpc_timeout = Duration::from_millis(300);
    config.max_backoff = Duration::from_millis(200);
    let indexer = RunningIndexer::start(config, &db.url).await;

    let mut expected = Vec::new();
    let mut i = 0;
    for mode in [Mode::ServerError, Mode::Hang, Mode::Drop, Mode::ServerError] {
        expected.push(grant_in_new_block(&chain, i).await);
        i += 1;
        indexer.wait_for_block(chain.head().await).await;
        // The node misbehaves while the chain keeps moving (the test talks to anvil directly).
        proxy.set(mode);
        let stuck_at = indexer.store.checkpoint(chain.chain_id()).await.unwrap().unwrap().block.number;
        for _ in 0..3 {
            expected.push(grant_in_new_block(&chain, i).await);
            i += 1;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        let during = indexer.store.checkpoint(chain.chain_id()).await.unwrap().unwrap().block.number;
        assert_eq!(during, stuck_at, "{mode:?}: the mirror must not advance without the node");
        proxy.set(Mode::Pass);
    }
    indexer.wait_for_block(chain.head().await).await;

    let (ids, _) = mirrored(&indexer.store).await;
    let found: BTreeSet<B256> = ids.iter().map(|(id, _)| *id).collect();
    assert_eq!(found, expected.iter().copied().collect::<BTreeSet<_>>(), "no gap after the faults");
    assert!(ids.iter().all(|(_, n)| *n == 1));
    assert!(indexer.metrics.rpc_errors.get() >= 4, "each fault was seen and retried");
    indexer.stop().await.close().await;
    db.cleanup().await;
}
on_both_backends!(rides_out_node_errors_hangs_and_disconnects);

async fn finalized_mode_mirrors_only_finalized_blocks(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    chain.register_provider(chain.provider_account(0)).await;
    let early = grant_in_new_block(&chain, 0).await;
    chain.mine(70).await;
    let late = grant_in_new_block(&chain, 1).await;
    let mut config = test_config(&chain, chain.rpc_url());
    config.finality = medkey_indexer::Finality::Finalized;
    let indexer = RunningIndexer::start(config, &db.url).await;

    // anvil finalizes head - 64: the early grant is final, the late one not yet.
    let finalized = chain.head().await - 64;
    indexer.wait_for_block(finalized).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = chain.chain_id();
    assert_eq!(indexer.store.checkpoint(id).await.unwrap().unwrap().block.number, finalized, "never past finalized");
    assert!(indexer.store.grant(id, early).await.unwrap().is_some());
    assert!(indexer.store.grant(id, late).await.unwrap().is_none(), "not final yet");

    chain.mine(64).await;
    indexer.wait_for_block(chain.head().await - 64).await;
    assert!(indexer.store.grant(id, late).await.unwrap().is_some(), "mirrored once final");
    indexer.stop().await.close().await;
    db.cleanup().await;
}
on_both_backends!(finalized_mode_mirrors_only_finalized_blocks);

async fn follows_over_a_websocket_subscription(backend: Backend) {
    // Calls over the WebSocket itself, and calls over HTTP with heads from the WebSocket.
    for ws_only in [true, false] {
        follow_over_websocket(backend, ws_only).await;
    }
}

async fn follow_over_websocket(backend: Backend, ws_only: bool) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    chain.register_provider(chain.provider_account(0)).await;
    let mut config = test_config(&chain, if ws_only { chain.ws_url() } else { chain.rpc_url() });
    config.ws_url = (!ws_only).then(|| chain.ws_url());
    config.poll_interval = Duration::from_secs(30); // only the subscription can wake it in time
    let indexer = RunningIndexer::start(config, &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    for i in 0..3 {
        let grant = grant_in_new_block(&chain, i).await;
        indexer.wait_for_block(chain.head().await).await;
        assert!(indexer.store.grant(chain.chain_id(), grant).await.unwrap().is_some());
    }
    indexer.stop().await.close().await;
    db.cleanup().await;
}
on_both_backends!(follows_over_a_websocket_subscription);
