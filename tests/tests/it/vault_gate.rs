//! The key-release gate's authorization matrix, decided over a real mirror of a real chain, on
//! SQLite and PostgreSQL: each case gets exactly the right answer.

use std::collections::HashMap;
use std::time::Duration;

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_indexer::FreshnessPolicy;
use medkey_protocol::RecordId;
use medkey_protocol::clock::now_ms;
use medkey_protocol::consent::records_root;
use medkey_protocol::{Category, Purpose};
use medkey_vault::http::MIRROR_POLL;
use medkey_vault::{Decision, Denial, MirrorView, RecordSets, ReleaseGate, ReleaseRequest, StrictCheck};

struct Sets(HashMap<B256, Vec<RecordId>>);

impl RecordSets for Sets {
    async fn contains(&self, root: B256, record_id: &RecordId) -> Result<bool, medkey_indexer::StoreError> {
        Ok(self.0.get(&root).is_some_and(|ids| ids.contains(record_id)))
    }
}

/// A request for every record of the categories (zero records root).
async fn every_record(
    chain: &TestChain,
    provider: alloy::primitives::Address,
    categories: &[Category],
) -> medkey_protocol::bindings::IConsentRegistry::GrantRequest {
    let mut request = chain.request(provider, categories).await;
    request.recordsRoot = B256::ZERO;
    request
}

const RECORD: RecordId = RecordId::from_bytes([1; 16]);
const OTHER_RECORD: RecordId = RecordId::from_bytes([2; 16]);

async fn authorization_matrix(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, bob) = (chain.patient(0), chain.patient(1));
    let (lab, clinic, suspended) = (chain.provider_account(0), chain.provider_account(1), chain.provider_account(2));
    let stranger = chain.admin(); // never registered as a provider
    for p in [lab, clinic, suspended] {
        chain.register_provider(p).await;
    }

    let lab_grant = chain.grant(alice, every_record(&chain, lab, &[Category::LabResults]).await).await;
    chain.grant(alice, every_record(&chain, suspended, &[Category::LabResults]).await).await;
    mined(chain.registry().suspendProvider(suspended, medkey_e2e::chain::REASON_HASH).from(chain.admin()).send().await)
        .await;
    let revoked = chain.grant(alice, every_record(&chain, clinic, &[Category::Imaging]).await).await;
    chain.revoke(alice, revoked).await;
    let mut later = every_record(&chain, clinic, &[Category::Vitals]).await;
    later.notBefore += 3_600;
    chain.grant(alice, later).await;
    let mut short = every_record(&chain, clinic, &[Category::Allergies]).await;
    short.expiresAt = short.notBefore + 600;
    chain.grant(alice, short).await;
    let mut subset = every_record(&chain, clinic, &[Category::Conditions]).await;
    subset.recordsRoot = records_root(&[RECORD]);
    chain.grant(alice, subset.clone()).await;
    let bobs = chain.grant(bob, every_record(&chain, clinic, &[Category::Prescriptions]).await).await;

    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let policy = FreshnessPolicy { max_lag_blocks: 1, max_head_age: Duration::from_secs(5) };
    let view = MirrorView::follow(indexer.store.clone(), chain.chain_id(), MIRROR_POLL).await.unwrap();
    let gate = ReleaseGate::new(view.clone(), policy);
    let sets = Sets(HashMap::from([(subset.recordsRoot, vec![RECORD])]));
    let ask = |provider, patient, category, record| {
        let gate = gate.clone();
        let sets = &sets;
        async move {
            let request = ReleaseRequest { provider, patient, record_id: record, category };
            gate.decide(&request, sets).await.unwrap()
        }
    };

    match ask(lab, alice, Category::LabResults, RECORD).await {
        Decision::Release(r) => {
            assert_eq!((r.grant_id, r.purpose, r.emergency), (lab_grant, Purpose::Treat as u8, false));
        }
        other => panic!("granted provider refused: {other:?}"),
    }
    let deny = |d| Decision::Deny(d);
    assert_eq!(ask(lab, alice, Category::Prescriptions, RECORD).await, deny(Denial::NoLiveGrant), "other category");
    assert_eq!(ask(lab, bob, Category::LabResults, RECORD).await, deny(Denial::NoLiveGrant), "another patient");
    assert_eq!(
        ask(clinic, alice, Category::Prescriptions, RECORD).await,
        deny(Denial::NoLiveGrant),
        "bob's grant is bob's"
    );
    assert!(
        matches!(ask(clinic, bob, Category::Prescriptions, RECORD).await, Decision::Release(r) if r.grant_id == bobs)
    );
    assert_eq!(ask(stranger, alice, Category::LabResults, RECORD).await, deny(Denial::ProviderNotRegistered));
    assert_eq!(ask(suspended, alice, Category::LabResults, RECORD).await, deny(Denial::ProviderSuspended));
    assert_eq!(ask(clinic, alice, Category::Imaging, RECORD).await, deny(Denial::NoLiveGrant), "revoked");
    assert_eq!(ask(clinic, alice, Category::Vitals, RECORD).await, deny(Denial::NoLiveGrant), "not yet started");
    assert!(
        matches!(ask(clinic, alice, Category::Allergies, RECORD).await, Decision::Release(_)),
        "short grant, still live"
    );
    assert!(
        matches!(ask(clinic, alice, Category::Conditions, RECORD).await, Decision::Release(_)),
        "in the record set"
    );
    assert_eq!(ask(clinic, alice, Category::Conditions, OTHER_RECORD).await, deny(Denial::NotInRecordSet));
    assert_eq!(
        gate.decide(
            &ReleaseRequest { provider: clinic, patient: alice, record_id: RECORD, category: Category::Conditions },
            &()
        )
        .await
        .unwrap(),
        deny(Denial::NotInRecordSet),
        "an unknown record set covers nothing"
    );

    // The chain's clock moves past the short grant's end (anvil time travel): expired.
    let _: serde_json::Value = chain.provider.raw_request("evm_increaseTime".into(), (U256::from(900),)).await.unwrap();
    chain.mine(1).await;
    indexer.wait_for_block(chain.head().await).await;
    medkey_e2e::vault::wait_for_view(&view, chain.head().await).await;
    assert_eq!(ask(clinic, alice, Category::Allergies, RECORD).await, deny(Denial::NoLiveGrant), "expired on chain");
    // A wall clock ahead of the chain cannot stretch a grant either.
    let request = ReleaseRequest { provider: lab, patient: alice, record_id: RECORD, category: Category::LabResults };
    assert!(matches!(gate.decide_at(&request, &sets, now_ms() + 2 * 86_400_000).await.unwrap(), Decision::Deny(_)));

    // Stale mirror: the indexer stops, the chain moves on. Fail closed, even for a live grant.
    let store = indexer.stop().await;
    chain.mine(3).await;
    let head = chain.head().await;
    store.record_head(chain.chain_id(), head, now_ms()).await.unwrap();
    // The view follows the store's write signal, on its own task.
    while view.checkpoint().is_none_or(|c| c.head_number != head) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let decision = ask(lab, alice, Category::LabResults, RECORD).await;
    assert!(matches!(&decision, Decision::Deny(d @ Denial::MirrorStale(_)) if d.is_unavailable()), "{decision:?}");
    let later_ms = now_ms() + 10_000;
    let decision = gate.decide_at(&request, &sets, later_ms).await.unwrap();
    assert!(matches!(decision, Decision::Deny(Denial::MirrorStale(_))), "head not confirmed for 10 s: {decision:?}");
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(authorization_matrix);

/// Strict mode closes the window between a revocation's block and the mirror: the registry
/// itself is asked at release time.
async fn strict_mode_confirms_with_the_chain(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab) = (chain.patient(0), chain.provider_account(0));
    chain.register_provider(lab).await;
    let grant = chain.grant(alice, every_record(&chain, lab, &[Category::LabResults]).await).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    // The mirror freezes (indexer stopped) but stays within a lenient freshness policy.
    let store = indexer.stop().await;
    let policy = FreshnessPolicy { max_lag_blocks: 10, max_head_age: Duration::from_secs(60) };
    let lenient =
        ReleaseGate::new(MirrorView::follow(store.clone(), chain.chain_id(), MIRROR_POLL).await.unwrap(), policy);
    let strict = lenient
        .clone()
        .with_strict(StrictCheck::new(&chain.rpc_url(), chain.registry, Duration::from_secs(5)).unwrap());
    let request = ReleaseRequest { provider: lab, patient: alice, record_id: RECORD, category: Category::LabResults };
    assert!(matches!(strict.decide(&request, &()).await.unwrap(), Decision::Release(r) if r.grant_id == grant));

    chain.revoke(alice, grant).await;
    assert!(matches!(lenient.decide(&request, &()).await.unwrap(), Decision::Release(_)), "the mirror has not seen it");
    assert_eq!(strict.decide(&request, &()).await.unwrap(), Decision::Deny(Denial::RefusedByChain));

    let unreachable =
        lenient.with_strict(StrictCheck::new("http://127.0.0.1:9", chain.registry, Duration::from_secs(2)).unwrap());
    let decision = unreachable.decide(&request, &()).await.unwrap();
    assert!(matches!(&decision, Decision::Deny(d @ Denial::ChainUnavailable(_)) if d.is_unavailable()), "{decision:?}");
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(strict_mode_confirms_with_the_chain);
