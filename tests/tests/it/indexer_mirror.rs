//! The indexer against a real anvil: every kind of registry event lands in the mirror with the
//! right state, on SQLite and on PostgreSQL.

use alloy::primitives::B256;
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_indexer::model::{GrantState, ProviderStatus};
use medkey_indexer::store::BlockBatch;
use medkey_indexer::{FreshnessPolicy, StoreError};
use medkey_protocol::Category;
use medkey_protocol::clock::now_ms;

async fn mirrors_every_event_with_its_state(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, bob) = (chain.patient(0), chain.patient(1));
    let (lab, clinic, other) = (chain.provider_account(0), chain.provider_account(1), chain.provider_account(2));

    // Some history before the indexer starts (backfill) ...
    chain.register_provider(lab).await;
    chain.register_provider(clinic).await;
    let direct = chain.grant(alice, chain.request(lab, &[Category::LabResults]).await).await;
    let batch = chain
        .grant_batch(
            alice,
            vec![
                chain.request(clinic, &[Category::Prescriptions, Category::Vitals]).await,
                chain.request(lab, &[Category::Imaging]).await,
            ],
        )
        .await;
    let signed = chain.grant_by_sig(2, chain.request(clinic, &[Category::Allergies]).await).await;

    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;

    // ... and some while it follows.
    chain.revoke(alice, batch[1]).await;
    chain.revoke_by_sig(2, signed).await;
    chain.register_provider(other).await;
    mined(chain.registry().suspendProvider(lab, medkey_e2e::chain::REASON_HASH).from(chain.admin()).send().await).await;
    let rotated = B256::repeat_byte(0x77);
    mined(chain.registry().rotateEncryptionKey(rotated).from(clinic).send().await).await;
    mined(chain.registry().setEmergencyAccess(Category::mask([Category::Allergies])).from(bob).send().await).await;
    let reason = B256::repeat_byte(0x99);
    let receipt = mined(chain.registry().openEmergencyAccess(bob, reason).from(clinic).send().await).await;
    let emergency = medkey_e2e::chain::created_grant_ids(&receipt)[0];
    mined(chain.registry().incrementNonce().from(alice).send().await).await;
    mined(chain.registry().pause().from(chain.admin()).send().await).await;
    let root = B256::repeat_byte(0x55);
    mined(chain.registry().anchorAudit(root, 7).from(chain.admin()).send().await).await;
    let head = chain.head().await;
    indexer.wait_for_block(head).await;

    let store = &indexer.store;
    let id = chain.chain_id();
    let now = chain.now().await;

    let g = store.grant(id, direct).await.unwrap().expect("direct grant mirrored");
    assert_eq!((g.patient, g.provider, g.categories), (alice, lab, Category::LabResults.bit()));
    assert_eq!(g.state_at(now), GrantState::Live);
    assert_eq!(g.records_root, B256::repeat_byte(0x42));
    assert!(!g.emergency && !g.write);
    assert_eq!(store.grant(id, batch[0]).await.unwrap().unwrap().state_at(now), GrantState::Live);
    assert_eq!(store.grant(id, batch[1]).await.unwrap().unwrap().state_at(now), GrantState::Revoked);
    let s = store.grant(id, signed).await.unwrap().unwrap();
    assert_eq!((s.patient, s.state_at(now)), (bob, GrantState::Revoked), "by-signature grant belongs to the signer");
    assert_eq!(s.state_at(s.not_before - 1), GrantState::Revoked);
    let g = store.grant(id, batch[0]).await.unwrap().unwrap();
    assert_eq!(g.state_at(g.not_before.saturating_sub(1)), GrantState::Pending);
    assert_eq!(g.state_at(g.expires_at), GrantState::Expired);

    let e = store.grant(id, emergency).await.unwrap().unwrap();
    assert!(e.emergency && e.reason_hash == Some(reason));
    assert_eq!((e.patient, e.provider, e.categories), (bob, clinic, Category::Allergies.bit()));

    let providers = store.providers(id).await.unwrap();
    assert_eq!(providers.len(), 3);
    assert_eq!(store.provider(id, lab).await.unwrap().unwrap().status, ProviderStatus::Suspended);
    let c = store.provider(id, clinic).await.unwrap().unwrap();
    assert_eq!((c.status, c.encryption_key), (ProviderStatus::Active, rotated));
    let history: Vec<String> = store.provider_history(id, clinic).await.unwrap().into_iter().map(|h| h.kind).collect();
    assert_eq!(history, ["registered", "key_rotated"]);
    assert!(store.provider(id, alice).await.unwrap().is_none());

    assert_eq!(store.emergency_categories(id, bob).await.unwrap(), Category::Allergies.bit());
    assert_eq!(store.emergency_categories(id, alice).await.unwrap(), 0);
    assert_eq!(store.nonce(id, alice).await.unwrap(), 1);
    assert!(store.paused(id).await.unwrap());
    let anchor = store.latest_anchor(id).await.unwrap().unwrap();
    assert_eq!((anchor.root, anchor.size, anchor.operator), (root, 7, chain.admin()));
    assert!(anchor.anchored_at > 0);

    // The vault's question, by category: the live lab grant covers lab results only.
    let live = store.live_grants(id, lab, alice, Category::LabResults as u8, now).await.unwrap();
    assert_eq!(live.iter().map(|g| g.grant_id).collect::<Vec<_>>(), [direct]);
    assert!(store.live_grants(id, lab, alice, Category::Imaging as u8, now).await.unwrap().is_empty(), "revoked");
    assert!(store.live_grants(id, lab, alice, Category::Vitals as u8, now).await.unwrap().is_empty(), "other category");
    assert!(store.live_grants(id, clinic, alice, Category::LabResults as u8, now).await.unwrap().is_empty());
    assert!(store.live_grants(id, lab, alice, Category::LabResults as u8, now + 86_400).await.unwrap().is_empty());
    assert_eq!(store.grants_of_patient(id, alice).await.unwrap().len(), 3);

    // Fresh now; stale as soon as the chain moves on without the indexer.
    let policy = FreshnessPolicy { max_lag_blocks: 0, max_head_age: std::time::Duration::from_secs(5) };
    store.ensure_fresh(id, now_ms(), &policy).await.expect("fresh while following");
    let store = indexer.stop().await;
    chain.mine(2).await;
    let checkpoint = store.checkpoint(id).await.unwrap().unwrap();
    store.record_head(id, head + 2, now_ms()).await.unwrap();
    assert!(store.ensure_fresh(id, now_ms(), &policy).await.is_err(), "two blocks behind is stale");
    assert!(store.ensure_fresh(id, now_ms() + 6_000, &FreshnessPolicy { max_lag_blocks: 5, ..policy }).await.is_err());
    assert!(store.ensure_fresh(id + 1, now_ms(), &policy).await.is_err(), "no checkpoint is stale");

    // A second writer replaying committed blocks is refused, not duplicated.
    let replay = BlockBatch {
        parent: checkpoint.block.number - 1,
        tip: checkpoint.block,
        changes: &[],
        block_hashes: &[],
        forget_below: 0,
    };
    assert!(matches!(store.commit(id, &replay).await, Err(StoreError::CheckpointMoved { .. })));
    let metrics_events = medkey_e2e::mirror::dump(&store).await.len();
    assert!(metrics_events > 10);
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(mirrors_every_event_with_its_state);

async fn refuses_a_database_that_mirrors_another_registry(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.deploy_block).await;
    indexer.stop().await.close().await;

    let mut config = test_config(&chain, chain.rpc_url());
    config.registry = chain.admin();
    let other = RunningIndexer::start(config, &db.url).await;
    let err = other.finished().await.unwrap_err();
    assert!(err.to_string().contains("mirrors registry"), "{err}");
    db.cleanup().await;
}
on_both_backends!(refuses_a_database_that_mirrors_another_registry);

/// sqlx 0.9.0 leaves Nagle's algorithm on; the store turns it off on every PostgreSQL
/// connection, so a long message (a batch of audit entries) is not held back ~40 ms for the
/// server's delayed ACK. Checked on the socket itself, for a fresh connection and one the pool
/// hands out again.
#[tokio::test]
async fn postgres_connections_send_without_delay() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = medkey_indexer::Store::connect(&db.url).await.unwrap();
    for _ in 0..2 {
        let mut conn = store.pool().acquire().await.unwrap();
        assert_eq!(medkey_indexer::store::nodelay::is_set(&mut conn).await.unwrap(), Some(true));
    }
    let mut detached = store.pool().acquire().await.unwrap().detach();
    assert_eq!(medkey_indexer::store::nodelay::is_set(&mut detached).await.unwrap(), Some(true));
    drop(detached);
    store.close().await;
    db.cleanup().await;
}
