//! Key releases against the real `medkey serve` (not a test), with a load generator the project
//! did not write (wrk, from Debian), on loopback, audit logging on:
//!
//! 1. single releases: `GET /v1/records/{id}/key` for one of 256 records picked at random per
//!    request, alternated in one run with the same server's `/healthz` (twice each), so the ratio
//!    of the two rates says what a release costs beyond serving HTTP at all; p50/p99 from wrk,
//!    and the CPU split between the server, PostgreSQL and wrk (from /proc);
//! 2. a 1,000-record chart opened with `POST /v1/patients/{patient}/keys` (two batches of 500),
//!    the wall time of the whole chart, 20 times;
//! 3. 20 providers opening that chart at once, over and over: records released per second.
//!
//! Every answer must be a 200 and every release must be in the audit log afterwards.
//!
//!     cargo build --release --bin medkey
//!     cargo run --release -p medkey-e2e --bin vault_bench -- [sqlite|postgres] [seconds] [connections]
//!
//! Needs anvil (`make setup`) and `wrk` on PATH (`apt-get install wrk`). Prints Markdown rows
//! for BENCHMARKS.md.

use std::process::Command;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::daemon::Daemon;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::load::{audit_releases, release_script, wrk};
use medkey_e2e::medkey_bin;
use medkey_e2e::sealed::{encryption_secret, upload_as};
use medkey_e2e::serve::login;
use medkey_e2e::vault::DOMAIN;
use medkey_protocol::Category;
use medkey_protocol::RecordId;
use medkey_protocol::envelope::EncryptionSecret;
use serde_json::{Value, json};

const SECRET: &str = "be7c4be7c4be7c4be7c4be7c4be7c4be7c4be7c4be7c4be7c4be7c4be7c4b001";
const CHART: usize = 1_000;
const PROVIDERS: usize = 20;

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
    assert!(Command::new("wrk").arg("--version").output().is_ok(), "wrk is not on PATH (apt-get install wrk)");

    // On chain: the lab and 20 clinics registered, each holding a live grant on lab results.
    let chain = TestChain::start().await;
    let (alice_signer, lab) = (chain.keys[1].clone(), chain.keys[3].clone());
    let alice = alice_signer.address();
    let lab_secret = encryption_secret(0xB2);
    let clinics: Vec<(PrivateKeySigner, EncryptionSecret)> =
        (0..PROVIDERS).map(|i| (PrivateKeySigner::random(), encryption_secret(0x10 + i as u8))).collect();
    let mut requests = Vec::new();
    for (provider, secret) in
        std::iter::once((lab.address(), &lab_secret)).chain(clinics.iter().map(|(s, k)| (s.address(), k)))
    {
        let key = B256::from(secret.public_key().0);
        mined(
            chain
                .registry()
                .registerProvider(provider, key, medkey_e2e::chain::PROFILE_HASH)
                .from(chain.admin())
                .send()
                .await,
        )
        .await;
        let mut request = chain.request(provider, &[Category::LabResults]).await;
        request.recordsRoot = B256::ZERO;
        requests.push(request);
    }
    chain.grant_batch(alice, requests).await;

    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = format!(
        r#"
[chain]
rpc_url = "{rpc}"
ws_url = "{ws}"
chain_id = {chain_id}
registry = "{registry}"
deploy_block = {deploy_block}

[database]
url = "{database}"

[vault]
listen = "127.0.0.1:{port}"
max_connections = 4096

[identity]
domain = "{DOMAIN}"

[limits]
login_per_ip_per_minute = 1000
release_per_address_per_minute = 1000000000
release_per_ip_per_minute = 1000000000

[blobs]
dir = "blobs"
"#,
        rpc = chain.rpc_url(),
        ws = chain.ws_url(),
        chain_id = chain.chain_id(),
        registry = chain.registry,
        deploy_block = chain.deploy_block,
        database = db.url,
    );
    let config_path = dir.path().join("medkey.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut command = Command::new(medkey_bin());
    command.args(["serve", "--config", config_path.to_str().unwrap()]).current_dir(dir.path());
    command.env("MEDKEY_VAULT_SECRET", SECRET).env("MEDKEY_LOG", "warn");
    let mut serve = Daemon::spawn("medkey serve", command);
    let base = format!("http://127.0.0.1:{port}");
    serve.wait_for(&format!("{base}/readyz")).await;

    // 1,000 records of Alice's, each wrapped for her, the lab and the 20 clinics.
    let http = reqwest::Client::new();
    let alice_token = login(&http, &base, &alice_signer).await;
    let alice_secret = encryption_secret(0xA1);
    let mut readers: Vec<(Address, &EncryptionSecret)> = vec![(alice, &alice_secret), (lab.address(), &lab_secret)];
    readers.extend(clinics.iter().map(|(s, k)| (s.address(), k)));
    let mut ids = Vec::with_capacity(CHART);
    for n in 0..CHART as u16 {
        let mut id = [0u8; 16];
        id[14..].copy_from_slice(&n.to_be_bytes());
        let record = upload_as(RecordId::from(id), alice, Category::LabResults, "Observation", &readers);
        let response =
            http.post(format!("{base}/v1/records")).bearer_auth(&alice_token).json(&record.body).send().await.unwrap();
        assert_eq!(response.status(), 201);
        ids.push(alloy::hex::encode(id));
    }
    let lab_token = login(&http, &base, &lab).await;
    let key = |id: &str| format!("{base}/v1/records/{id}/key");
    assert_eq!(http.get(key(&ids[0])).bearer_auth(&lab_token).send().await.unwrap().status(), 200);

    // 1. Single releases alternated with /healthz, twice each.
    let script = dir.path().join("release.lua");
    release_script(&script, &ids[..256], &lab_token);
    let released_before = audit_releases(&db.url).await;
    let mut rows = Vec::new();
    let mut releases = 0u64;
    for _ in 0..2 {
        for (what, script) in [("/healthz", None), ("key release", Some(script.as_path()))] {
            let url = if script.is_some() { base.clone() } else { format!("{base}/healthz") };
            let run = wrk(&url, script, seconds, connections, &[serve.pid()], None).await;
            if script.is_some() {
                releases += run.requests;
            }
            rows.push((what, run));
        }
    }
    let logged = audit_releases(&db.url).await - released_before;
    assert!(logged >= releases, "every release is logged: {logged} entries for {releases} releases");

    println!("\n| {backend:?} | route | requests/s | p50 ms | p99 ms | CPU: server | database | wrk | idle |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (what, run) in &rows {
        println!(
            "| | {what} | {:.0} | {:.2} | {:.2} | {:.0} % | {:.0} % | {:.0} % | {:.0} % |",
            run.rate, run.p50_ms, run.p99_ms, run.cpu.server, run.cpu.database, run.cpu.wrk, run.cpu.idle
        );
    }
    let rate = |name: &str| {
        let runs: Vec<f64> = rows.iter().filter(|(w, _)| *w == name).map(|(_, r)| r.rate).collect();
        runs.iter().sum::<f64>() / runs.len() as f64
    };
    println!("\nrelease / healthz = {:.2} (mean of two runs each)", rate("key release") / rate("/healthz"));

    // 2. The whole chart, two batches of 500, 20 times.
    let chart_path = format!("{base}/v1/patients/{alice}/keys");
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(open_chart(&http, &chart_path, &lab_token, &ids).await, CHART);
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "\n{CHART}-record chart, two calls of 500: p50 {:.1} ms, max {:.1} ms (20 openings)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );

    // 3. 20 providers opening the chart at once, over and over.
    let mut tokens = Vec::new();
    for (signer, _) in &clinics {
        tokens.push(login(&http, &base, signer).await);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for token in tokens {
        let (http, path, ids) = (http.clone(), chart_path.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut opened = 0usize;
            while Instant::now() < deadline {
                opened += open_chart(&http, &path, &token, &ids).await;
            }
            opened
        }));
    }
    let mut total = 0usize;
    for task in tasks {
        total += task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{PROVIDERS} providers opening {CHART}-record charts at once: {:.0} records/s ({} charts in {elapsed:.1} s)",
        total as f64 / elapsed,
        total / CHART
    );
    let (status, _) = serve.terminate();
    assert!(status.success());
    db.cleanup().await;
}

/// Asks for every key of the chart in calls of 500; returns how many were released.
async fn open_chart(http: &reqwest::Client, path: &str, token: &str, ids: &[String]) -> usize {
    let mut released = 0;
    for chunk in ids.chunks(500) {
        let response = http.post(path).bearer_auth(token).json(&json!({"record_ids": chunk})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let batch: Value = response.json().await.unwrap();
        assert_eq!(batch["refused"].as_array().map(Vec::len), Some(0), "{}", batch["refused"]);
        released += batch["released"].as_array().map_or(0, Vec::len);
    }
    released
}
