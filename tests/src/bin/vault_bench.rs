//! Key-release throughput (not a test): a provider holding a live grant asks for the wrapped keys
//! of 256 records, one picked at random per request, as fast as `oha` can, on loopback, audit logging on. Every answer must be
//! a 200 and every release must be in the access log afterwards.
//!
//!     cargo run --release -p medkey-e2e --bin vault_bench -- [sqlite|postgres] [seconds] [connections]
//!
//! Needs anvil (`make setup`) and `oha` on PATH (`cargo install oha --locked`). Prints one
//! Markdown row for BENCHMARKS.md.

use std::process::Command;

use alloy::primitives::B256;
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::sealed::{encryption_secret, upload_as};
use medkey_e2e::vault::TestVault;
use medkey_protocol::Category;
use medkey_vault::limits::LimitSettings;
use serde_json::Value;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let backend = match args.next().as_deref() {
        None | Some("sqlite") => Backend::Sqlite,
        Some("postgres") => Backend::Postgres,
        Some(other) => panic!("backend is sqlite or postgres, not {other}"),
    };
    let seconds: u64 = args.next().map_or(10, |s| s.parse().expect("seconds is a number"));
    let connections: u64 = args.next().map_or(32, |s| s.parse().expect("connections is a number"));

    let chain = TestChain::start().await;
    let (patient_signer, lab) = (chain.keys[1].clone(), chain.keys[3].clone());
    let alice = patient_signer.address();
    let lab_secret = encryption_secret(0xB2);
    let lab_key = B256::from(lab_secret.public_key().0);
    mined(chain.registry().registerProvider(lab.address(), lab_key).from(chain.admin()).send().await).await;
    let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
    request.recordsRoot = B256::ZERO;
    chain.grant(alice, request).await;

    let db = TestDb::new(backend).await;
    let mut config = test_config(&chain, chain.rpc_url());
    config.ws_url = Some(chain.ws_url());
    let indexer = RunningIndexer::start(config, &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let unlimited = LimitSettings {
        release_per_address_per_minute: u32::MAX / 2,
        release_per_ip_per_minute: u32::MAX / 2,
        ..Default::default()
    };
    let vault = TestVault::start_with(&indexer, unlimited).await;
    let patient = vault.login(&patient_signer, chain.chain_id()).await;
    let readers = [(alice, &encryption_secret(0xA1)), (lab.address(), &lab_secret)];
    // 256 records, ids 00…00 to 00…ff; oha picks one at random for every request.
    for n in 0..=255u8 {
        let mut id = [0u8; 16];
        id[15] = n;
        let record = upload_as(id, alice, Category::LabResults, "Observation", &readers);
        let (status, body) = vault.call("POST", "/v1/records", Some(&patient), Some(record.body)).await;
        assert_eq!(status, 201, "{body}");
    }
    let token = vault.login(&lab, chain.chain_id()).await;
    let first = format!("/v1/records/{}/key", "00".repeat(16));
    assert_eq!(vault.call("GET", &first, Some(&token), None).await.0, 200);
    let url = format!("{}/v1/records/{}[0-9a-f]{{2}}/key", vault.url, "00".repeat(15));
    let logged_before = vault.state.log.for_patient(alice).await.unwrap().len();

    // oha runs in its own process; the vault and indexer share this one's runtime.
    let oha = tokio::task::spawn_blocking(move || {
        Command::new("oha")
            .args(["--no-tui", "--output-format", "json", "-z", &format!("{seconds}s"), "-c", &connections.to_string()])
            .args(["--rand-regex-url", "-H", &format!("Authorization: Bearer {token}"), &url])
            .output()
            .expect("oha is on PATH (cargo install oha --locked)")
    })
    .await
    .unwrap();
    assert!(oha.status.success(), "oha failed: {}", String::from_utf8_lossy(&oha.stderr));
    let report: Value = serde_json::from_slice(&oha.stdout).expect("oha's JSON report");
    let codes = &report["statusCodeDistribution"];
    let ok = codes["200"].as_u64().unwrap_or(0);
    assert_eq!(codes.as_object().map_or(0, |c| c.len()), 1, "only 200s expected: {codes}");
    let logged = vault.state.log.for_patient(alice).await.unwrap().len() - logged_before;
    assert!(logged as u64 >= ok, "every release is logged: {logged} entries for {ok} releases");

    let ms = |key: &str| report["latencyPercentiles"][key].as_f64().unwrap_or(f64::NAN) * 1_000.0;
    println!("| backend | connections | releases/s | p50 ms | p99 ms | releases | logged |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {backend:?} | {connections} | {:.0} | {:.2} | {:.2} | {ok} | {logged} |",
        report["summary"]["requestsPerSec"].as_f64().unwrap_or(f64::NAN),
        ms("p50"),
        ms("p99"),
    );
    db.cleanup().await;
}
