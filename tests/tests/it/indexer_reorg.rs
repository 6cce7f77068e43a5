//! Reorgs made on a real anvil (evm_snapshot/evm_revert and anvil_reorg) are detected and
//! repaired; one deeper than the cap stops the indexer and leaves the mirror untouched.

use alloy::providers::Provider;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, dump, test_config};
use medkey_e2e::on_both_backends;
use medkey_indexer::IndexerError;
use medkey_indexer::model::GrantState;
use medkey_protocol::Category;

async fn repairs_a_reverted_chain(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab) = (chain.patient(0), chain.provider_account(0));
    chain.register_provider(lab).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;

    let kept = chain.grant(alice, chain.request(lab, &[Category::LabResults]).await).await;
    let fork_point = chain.head().await;
    let snapshot = chain.snapshot().await;
    let orphan = chain.grant(alice, chain.request(lab, &[Category::Imaging]).await).await;
    chain.revoke(alice, kept).await;
    indexer.wait_for_block(chain.head().await).await;
    let id = chain.chain_id();
    assert!(indexer.store.grant(id, orphan).await.unwrap().is_some());
    assert_eq!(indexer.store.grant(id, kept).await.unwrap().unwrap().revoked_block, Some(fork_point + 2));

    // The chain goes back to the fork point and grows a different, longer branch.
    chain.revert(snapshot).await;
    let replacement = chain.grant(alice, chain.request(lab, &[Category::Vitals]).await).await;
    chain.empty_block().await;
    chain.empty_block().await;
    let head = chain.head().await;
    assert!(head > fork_point + 2, "the new branch is longer than the orphaned one");
    indexer.wait_for_block(head).await;

    let store = &indexer.store;
    let now = chain.now().await;
    assert!(store.grant(id, orphan).await.unwrap().is_none(), "grant from an orphaned block is gone");
    assert_eq!(
        store.grant(id, kept).await.unwrap().unwrap().state_at(now),
        GrantState::Live,
        "orphaned revocation undone"
    );
    assert_eq!(store.grant(id, replacement).await.unwrap().unwrap().block_number, fork_point + 1);
    let checkpoint = store.checkpoint(id).await.unwrap().unwrap();
    let canonical = chain.provider.get_block_by_number(head.into()).await.unwrap().unwrap();
    assert_eq!(checkpoint.block.hash, canonical.header.hash, "mirror ends on the canonical chain");
    assert!(indexer.metrics.reorgs.get() >= 1, "the reorg was counted");

    // The repaired mirror equals one built from scratch on the canonical chain.
    let repaired = dump(store).await;
    let fresh_db = TestDb::new(backend).await;
    let fresh = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &fresh_db.url).await;
    fresh.wait_for_block(head).await;
    assert_eq!(repaired, dump(&fresh.store).await);
    fresh.stop().await.close().await;
    indexer.stop().await.close().await;
    db.cleanup().await;
    fresh_db.cleanup().await;
}
on_both_backends!(repairs_a_reverted_chain);

async fn repairs_a_same_height_reorg(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab) = (chain.patient(0), chain.provider_account(0));
    chain.register_provider(lab).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    let orphan = chain.grant(alice, chain.request(lab, &[Category::LabResults]).await).await;
    let height = chain.head().await;
    indexer.wait_for_block(height).await;

    // anvil_reorg replaces the last block with an empty one: same height, different hash.
    let _: serde_json::Value = chain
        .provider
        .raw_request("anvil_reorg".into(), (1_u64, Vec::<serde_json::Value>::new()))
        .await
        .expect("anvil_reorg");
    assert_eq!(chain.head().await, height);
    chain.empty_block().await;
    indexer.wait_for_block(height + 1).await;
    let id = chain.chain_id();
    assert!(indexer.store.grant(id, orphan).await.unwrap().is_none(), "the replaced block's grant is gone");
    assert!(indexer.metrics.reorgs.get() >= 1);
    indexer.stop().await.close().await;
    db.cleanup().await;
}
on_both_backends!(repairs_a_same_height_reorg);

async fn stops_at_a_reorg_deeper_than_the_cap(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab) = (chain.patient(0), chain.provider_account(0));
    chain.register_provider(lab).await;
    let snapshot = chain.snapshot().await;
    for category in [Category::LabResults, Category::Imaging, Category::Vitals, Category::Allergies] {
        chain.grant(alice, chain.request(lab, &[category]).await).await;
    }
    let mut config = test_config(&chain, chain.rpc_url());
    config.max_reorg_depth = 2;
    let indexer = RunningIndexer::start(config, &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let before = dump(&indexer.store).await;

    chain.revert(snapshot).await;
    for _ in 0..6 {
        chain.empty_block().await;
    }
    let store = indexer.store.clone();
    let err = indexer.finished().await.expect_err("a too-deep reorg stops the indexer");
    assert!(matches!(err, IndexerError::ReorgTooDeep { max: 2, .. }), "{err}");
    assert!(err.to_string().contains("refusing to delete mirrored history"), "{err}");
    assert_eq!(dump(&store).await, before, "nothing was deleted");
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(stops_at_a_reorg_deeper_than_the_cap);
