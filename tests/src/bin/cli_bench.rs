//! `medkey` CLI benchmark (not a test): how fast a patient's client works through a vault on
//! SQLite, with everything sealed and opened on the client. Times, for N records (copies of the
//! official HL7 R4 examples in one Bundle): upload, a grant that wraps every record for a
//! provider, export (decrypt all), and import into a fresh account.
//!
//!     cargo build --release --bin medkey
//!     cargo run --release -p medkey-e2e --bin cli_bench -- [records]
//!
//! Prints Markdown rows for BENCHMARKS.md.

use std::time::{Duration, Instant};

use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::vault::{DOMAIN, TestVault};
use medkey_e2e::workspace_root;
use medkey_vault::limits::LimitSettings;
use serde_json::{Value, json};

#[tokio::main]
async fn main() {
    let records: usize = std::env::args().nth(1).map_or(1_000, |n| n.parse().expect("records is a number"));
    let chain = TestChain::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let limits = LimitSettings {
        release_per_address_per_minute: 1_000_000,
        release_per_ip_per_minute: 1_000_000,
        ..Default::default()
    };
    let state = TestVault::state(&indexer, limits, false).await.with_relayer(chain.funded_relayer().await);
    let vault = TestVault::serve(state).await;
    let deployments = chain.deployments_dir();
    let (rpc, dir) = (chain.rpc_url(), deployments.path().display().to_string());
    let connect =
        ["--vault", vault.url.as_str(), "--siwe-domain", DOMAIN, "--rpc-url", &rpc, "--deployments-dir", &dir];
    let run = |key: &PrivateKeySigner, args: &[&str]| {
        let key = alloy::hex::encode_prefixed(key.to_bytes());
        let args: Vec<&str> = args.iter().chain(connect.iter()).copied().collect();
        let started = Instant::now();
        let out = medkey_e2e::medkey(&args, &[("MEDKEY_PRIVATE_KEY", &key)]);
        assert!(out.status.success(), "medkey {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        (started.elapsed(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (alice, bob, lab) = (chain.keys[1].clone(), chain.keys[2].clone(), chain.keys[3].clone());

    let fixtures: Vec<Value> = std::fs::read_dir(workspace_root().join("tests/fixtures/fhir-r4"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect();
    let entries: Vec<Value> = (0..records).map(|i| json!({"resource": fixtures[i % fixtures.len()]})).collect();
    let files = tempfile::tempdir().unwrap();
    let bundle = files.path().join("bundle.json");
    std::fs::write(&bundle, json!({"resourceType": "Bundle", "type": "collection", "entry": entries}).to_string())
        .unwrap();

    // The lab's encryption key, as its own medkey derives it, registered on chain.
    let lab_key = alloy::hex::encode_prefixed(lab.to_bytes());
    let shown = medkey_e2e::medkey(&["keys", "show", "--json"], &[("MEDKEY_PRIVATE_KEY", &lab_key)]);
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    let shown: Value = serde_json::from_str(&shown).unwrap();
    let key: B256 = shown["encryption_key"].as_str().unwrap().parse().unwrap();
    mined(
        chain
            .registry()
            .registerProvider(lab.address(), key, medkey_e2e::chain::PROFILE_HASH)
            .from(chain.admin())
            .send()
            .await,
    )
    .await;

    let mut rows: Vec<(&str, Duration)> = Vec::new();
    rows.push(("upload (seal + store)", run(&alice, &["upload", bundle.to_str().unwrap()]).0));
    let categories = "lab_results,vitals,prescriptions,conditions,allergies,immunizations,imaging,documents";
    let lab_address = lab.address().to_string();
    let grant = ["grant", "--provider", &lab_address, "--categories", categories, "--until", "2099-12-31"];
    rows.push(("grant (open + wrap for the provider)", run(&alice, &grant).0));
    let first = files.path().join("first.json");
    rows.push(("export (fetch + decrypt)", run(&alice, &["export", "--out", first.to_str().unwrap()]).0));
    // The fixtures repeat, so the copies are the same content: stored all the same here.
    rows.push(("import into a fresh account", run(&bob, &["import", first.to_str().unwrap(), "--allow-duplicates"]).0));

    println!("| step ({records} records, SQLite vault) | seconds | records/s |");
    println!("|---|---|---|");
    for (step, took) in rows {
        println!("| {step} | {:.2} | {:.0} |", took.as_secs_f64(), records as f64 / took.as_secs_f64());
    }

    // Attached files: 20 scanned documents of 5 MiB each, exported inside the Bundle (base64) and
    // imported into another fresh account; megabytes of files per second.
    let (files_n, mib) = (20usize, 5usize);
    let scan = files.path().join("scan.pdf");
    let bytes: Vec<u8> = (0..mib << 20).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&scan, &bytes).unwrap();
    let document = files.path().join("document.json");
    std::fs::write(&document, r#"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"application/pdf","title":"scan.pdf"}}]}"#).unwrap();
    let carol = chain.keys[4].clone();
    let mut upload = Duration::ZERO;
    for _ in 0..files_n {
        upload += run(&carol, &["upload", document.to_str().unwrap(), "--attach", scan.to_str().unwrap()]).0;
    }
    let with_files = files.path().join("with-files.json");
    let export = run(&carol, &["export", "--out", with_files.to_str().unwrap()]).0;
    let dave = chain.keys[5].clone();
    let import = run(&dave, &["import", with_files.to_str().unwrap()]).0;
    let total_mb = (files_n * mib) as f64 * 1.048_576;
    println!();
    println!("| step ({files_n} records, a {mib} MiB file each) | seconds | MB of files/s |");
    println!("|---|---|---|");
    for (step, took) in [
        ("upload with --attach (one command each)", upload),
        ("export, files inline", export),
        ("import, files restored", import),
    ] {
        println!("| {step} | {:.2} | {:.1} |", took.as_secs_f64(), total_mb / took.as_secs_f64());
    }
    db.cleanup().await;
}
