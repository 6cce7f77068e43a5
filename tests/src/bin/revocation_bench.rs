//! Revocation delay (not a test): from a revoke transaction's receipt to the first refused key
//! release, with the mirror alone (indexer following over WebSocket) and in strict mode.
//!
//!     cargo run --release -p medkey-e2e --bin revocation_bench -- [rounds]
//!
//! Needs anvil (`make setup`); runs on SQLite. Prints Markdown rows for BENCHMARKS.md.

use std::time::{Duration, Instant};

use alloy::primitives::B256;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_indexer::FreshnessPolicy;
use medkey_protocol::Category;
use medkey_protocol::RecordId;
use medkey_vault::http::MIRROR_POLL;
use medkey_vault::{Decision, MirrorView, ReleaseGate, ReleaseRequest, StrictCheck};

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args().nth(1).map_or(40, |n| n.parse().expect("rounds is a number"));
    let chain = TestChain::start().await;
    let (alice, lab) = (chain.patient(0), chain.provider_account(0));
    chain.register_provider(lab).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let mut config = test_config(&chain, chain.rpc_url());
    config.ws_url = Some(chain.ws_url());
    let indexer = RunningIndexer::start(config, &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let policy = FreshnessPolicy { max_lag_blocks: 1, max_head_age: Duration::from_secs(5) };
    let mirror_gate = ReleaseGate::new(
        MirrorView::follow(indexer.store.clone(), chain.chain_id(), MIRROR_POLL).await.unwrap(),
        policy,
    );
    let strict_gate = mirror_gate
        .clone()
        .with_strict(StrictCheck::new(&chain.rpc_url(), chain.registry, Duration::from_secs(5)).unwrap());

    println!("| mode | rounds | p50 | p95 | max | first decision after the receipt refused |");
    println!("|---|---|---|---|---|---|");
    for (mode, gate) in [("mirror (new heads over ws)", &mirror_gate), ("strict (eth_call)", &strict_gate)] {
        let mut delays = Vec::new();
        let mut refused_at_once = 0;
        for i in 0..rounds {
            let mut request = chain.request(lab, &[Category::LabResults]).await;
            request.recordsRoot = B256::ZERO;
            request.expiresAt += i as u32;
            let grant = chain.grant(alice, request).await;
            indexer.wait_for_block(chain.head().await).await;
            let ask = ReleaseRequest {
                provider: lab,
                patient: alice,
                record_id: RecordId::from([1; 16]),
                category: Category::LabResults,
            };
            assert!(matches!(gate.decide(&ask, &()).await.unwrap(), Decision::Release(_)), "live before revoking");
            chain.revoke(alice, grant).await;
            let mined = Instant::now();
            let mut first = true;
            if std::env::var_os("TRACE_MIRROR").is_some() {
                let block = chain.head().await;
                indexer.wait_for_block(block).await;
                eprintln!("mirror has block {block} after {:?}", mined.elapsed());
            }
            while matches!(gate.decide(&ask, &()).await.unwrap(), Decision::Release(_)) {
                first = false;
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            delays.push(mined.elapsed());
            refused_at_once += usize::from(first);
        }
        delays.sort();
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
        let p = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {mode} | {rounds} | {} | {} | {} | {refused_at_once}/{rounds} |",
            ms(p(0.5)),
            ms(p(0.95)),
            ms(*delays.last().unwrap())
        );
    }
    indexer.stop().await.close().await;
    db.cleanup().await;
}
