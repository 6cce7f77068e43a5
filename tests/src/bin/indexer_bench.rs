//! Indexer benchmark (not a test): backfill throughput of 100,000+ grant events into SQLite and
//! PostgreSQL, and the delay from a grant's block being mined to its row in the mirror.
//!
//!     cargo run --release -p medkey-e2e --bin indexer_bench -- [events]
//!
//! Needs anvil (`make setup`) and PostgreSQL (MEDKEY_TEST_POSTGRES_URL, default
//! postgres://postgres@127.0.0.1:5432/test). Prints Markdown rows for BENCHMARKS.md.

use std::time::{Duration, Instant};

use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_protocol::Category;

const PER_TX: usize = 250;

#[tokio::main]
async fn main() {
    let events: usize = std::env::args().nth(1).map_or(100_000, |n| n.parse().expect("events is a number"));
    let chain = TestChain::start().await;
    let lab = chain.provider_account(0);
    chain.register_provider(lab).await;

    let started = Instant::now();
    let mut request = chain.request(lab, &[Category::LabResults]).await;
    request.expiresAt += 10 * 365 * 86_400;
    let txs = events.div_ceil(PER_TX);
    let registry = chain.registry();
    for i in 0..txs {
        let call = registry.grantBatch(vec![request.clone(); PER_TX]).from(chain.patient(i % 2)).gas(15_000_000);
        mined(call.send().await).await;
        if i % 50 == 49 {
            eprintln!("  generated {} grant events", (i + 1) * PER_TX);
        }
    }
    // Bury the history below the reorg window, as an old chain's history is.
    chain.mine(100).await;
    let total = txs * PER_TX;
    eprintln!("generated {total} grant events in {txs} blocks in {:.1} s", started.elapsed().as_secs_f64());

    let mut backfill =
        vec!["| backend | events | blocks | backfill time | events/s |".to_owned(), "|---|---|---|---|---|".into()];
    let mut latency = vec![
        "| backend | new-head source | samples | p50 | p95 | max |".to_owned(),
        "|---|---|---|---|---|---|".into(),
    ];
    let mut followed = 0; // grants made while measuring latency, mirrored by later runs
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend).await;
        let mut config = test_config(&chain, chain.rpc_url());
        config.exit_when_synced = true;
        config.rpc_timeout = Duration::from_secs(60);
        let started = Instant::now();
        let indexer = RunningIndexer::start(config, &db.url).await;
        indexer.finished().await.expect("backfill completes");
        let elapsed = started.elapsed().as_secs_f64();
        let store = medkey_indexer::Store::connect(&db.url).await.unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grants").fetch_one(store.pool()).await.unwrap();
        assert_eq!(rows as usize, total + followed, "every grant mirrored");
        store.close().await;
        let events = total + followed;
        backfill.push(format!(
            "| {backend:?} | {events} | {} | {elapsed:.2} s | {:.0} |",
            txs + followed,
            events as f64 / elapsed
        ));

        // Following, on the mirror just built: from a grant's receipt to its row.
        for (source, ws_url, poll) in [
            ("ws subscription", Some(chain.ws_url()), Duration::from_secs(1)),
            ("http poll 100 ms", None, Duration::from_millis(100)),
        ] {
            let mut config = test_config(&chain, chain.rpc_url());
            config.ws_url = ws_url;
            config.poll_interval = poll;
            let indexer = RunningIndexer::start(config, &db.url).await;
            indexer.wait_for_block(chain.head().await).await;
            let mut delays = Vec::new();
            for _ in 0..40 {
                let receipt = mined(registry.grant(request.clone()).from(chain.patient(0)).send().await).await;
                let mined_at = Instant::now();
                let grant_id = medkey_e2e::chain::created_grant_ids(&receipt)[0];
                while indexer.store.grant(chain.chain_id(), grant_id).await.unwrap().is_none() {
                    tokio::time::sleep(Duration::from_micros(500)).await;
                }
                delays.push(mined_at.elapsed());
                followed += 1;
                tokio::time::sleep(Duration::from_millis(37)).await; // spread over the poll phase
            }
            delays.sort();
            let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
            let p = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
            latency.push(format!(
                "| {backend:?} | {source} | {} | {} | {} | {} |",
                delays.len(),
                ms(p(0.5)),
                ms(p(0.95)),
                ms(*delays.last().unwrap())
            ));
            indexer.stop().await.close().await;
        }
        db.cleanup().await;
    }
    println!("{}\n\n{}", backfill.join("\n"), latency.join("\n"));
}
