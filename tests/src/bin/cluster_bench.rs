//! Key releases through HAProxy to 1, 2 and 3 vault replicas (`medkey serve --role vault`) over
//! one PostgreSQL, with the indexer in its own process and Redis shared, on this machine: wrk
//! (Debian's) sends `GET /v1/records/{id}/key` for 256 records picked at random, then `/healthz`
//! through the same proxy for comparison. Prints Markdown rows for BENCHMARKS.md with the CPU
//! split between the Medkey processes, HAProxy, PostgreSQL and wrk. Every answer must be a 200
//! and every release must be in the audit log afterwards.
//!
//!     cargo build --release --bin medkey
//!     cargo run --release -p medkey-e2e --bin cluster_bench -- [seconds] [connections]
//!
//! Needs anvil (`make setup`), `wrk` and `haproxy` (`apt-get install wrk haproxy`).

use std::process::Command;

use alloy::primitives::B256;
use alloy::transports::http::reqwest;
use medkey_e2e::chain::TestChain;
use medkey_e2e::daemon::Daemon;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::engines::free_port;
use medkey_e2e::engines::haproxy::Haproxy;
use medkey_e2e::engines::redis::TempRedis;
use medkey_e2e::load::{audit_releases, release_script, wrk};
use medkey_e2e::sealed::{encryption_secret, upload_as};
use medkey_e2e::serve::{base_config, command, login, write};
use medkey_protocol::Category;
use medkey_protocol::RecordId;

const SECRET: &str = "c1b5c1b5c1b5c1b5c1b5c1b5c1b5c1b5c1b5c1b5c1b5c1b5c1b5c1b5c1b5c001";
const RECORDS: u16 = 256;
const REPLICAS: usize = 3;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map_or(10, |s| s.parse().expect("seconds is a number"));
    let connections: u64 = args.next().map_or(32, |s| s.parse().expect("connections is a number"));
    assert!(Command::new("wrk").arg("--version").output().is_ok(), "wrk is not on PATH (apt-get install wrk)");

    let chain = TestChain::start().await;
    let (alice, lab) = (chain.keys[1].clone(), chain.keys[3].clone());
    chain.register_provider(lab.address()).await;
    let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
    request.recordsRoot = B256::ZERO;
    chain.grant(alice.address(), request).await;

    let db = TestDb::new(Backend::Postgres).await;
    let redis = TempRedis::start(None);
    let dir = tempfile::tempdir().unwrap();
    let mut config = base_config(&chain.rpc_url(), &chain.registry.to_string(), chain.deploy_block, &db.url);
    config.push_str(&format!(
        "\n[redis]\nurl = \"redis://127.0.0.1:{}/0\"\n\n[vault]\ntrusted_proxies = [\"127.0.0.1\"]\nmax_connections = 4096\n\n\
         [limits]\nlogin_per_ip_per_minute = 1000\nrelease_per_address_per_minute = 1000000000\n\
         release_per_ip_per_minute = 1000000000\n",
        redis.port
    ));
    let config_path = write(dir.path(), "medkey.toml", &config);
    let start = |role: &str, port: u16| {
        let env = [
            ("MEDKEY_VAULT_SECRET", SECRET.to_owned()),
            ("MEDKEY_VAULT__LISTEN", format!("127.0.0.1:{port}")),
            ("MEDKEY_LOG", "warn".to_owned()),
        ];
        let args = ["--config", config_path.to_str().unwrap(), "--role", role];
        Daemon::spawn(&format!("medkey serve --role {role}"), command(dir.path(), &args, &env))
    };
    let mut indexer = start("indexer", free_port());
    indexer.wait_for_output("Stop with Ctrl-C").await;
    let ports: Vec<u16> = (0..REPLICAS).map(|_| free_port()).collect();
    let mut replicas = Vec::new();
    for port in &ports {
        let mut replica = start("vault", *port);
        replica.wait_for(&format!("http://127.0.0.1:{port}/readyz")).await;
        replicas.push(replica);
    }

    // 256 records of Alice's, wrapped for her and the lab.
    let http = reqwest::Client::new();
    let direct = format!("http://127.0.0.1:{}", ports[0]);
    let alice_token = login(&http, &direct, &alice).await;
    let (alice_secret, lab_secret) = (encryption_secret(0xA1), encryption_secret(0xB2));
    let readers = [(alice.address(), &alice_secret), (lab.address(), &lab_secret)];
    let mut ids = Vec::new();
    for n in 0..RECORDS {
        let mut id = [0u8; 16];
        id[14..].copy_from_slice(&n.to_be_bytes());
        let record = upload_as(RecordId::from(id), alice.address(), Category::LabResults, "Observation", &readers);
        let response = http
            .post(format!("{direct}/v1/records"))
            .bearer_auth(&alice_token)
            .json(&record.body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        ids.push(alloy::hex::encode(id));
    }
    let lab_token = login(&http, &direct, &lab).await;
    let script = dir.path().join("release.lua");
    release_script(&script, &ids, &lab_token);

    let released_before = audit_releases(&db.url).await;
    let mut releases = 0u64;
    println!(
        "\n| replicas | route (through HAProxy) | requests/s | p50 ms | p99 ms | CPU: Medkey | HAProxy | PostgreSQL | wrk | idle |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut pids: Vec<u32> = vec![indexer.pid()];
    for (n, replica) in replicas.iter().enumerate() {
        pids.push(replica.pid());
        let proxy = Haproxy::start(&ports[..=n]);
        let base = format!("http://127.0.0.1:{}", proxy.port);
        wait_for_all_up(&proxy, n + 1).await;
        for (route, script) in [("key release", Some(script.as_path())), ("/healthz", None)] {
            let url = if script.is_some() { base.clone() } else { format!("{base}/healthz") };
            let run = wrk(&url, script, seconds, connections, &pids, Some(proxy.pid())).await;
            if script.is_some() {
                releases += run.requests;
            }
            println!(
                "| {} | {route} | {:.0} | {:.2} | {:.2} | {:.0} % | {:.0} % | {:.0} % | {:.0} % | {:.0} % |",
                n + 1,
                run.rate,
                run.p50_ms,
                run.p99_ms,
                run.cpu.server,
                run.cpu.proxy,
                run.cpu.database,
                run.cpu.wrk,
                run.cpu.idle
            );
        }
    }
    let logged = audit_releases(&db.url).await - released_before;
    assert!(logged >= releases, "every release is logged: {logged} entries for {releases} releases");
    drop(replicas);
    drop(indexer);
    db.cleanup().await;
}

/// Waits until HAProxy's health checks count `n` replicas up (its CSV statistics).
async fn wait_for_all_up(proxy: &Haproxy, n: usize) {
    let url = format!("http://127.0.0.1:{}/stats;csv", proxy.stats_port);
    for _ in 0..200 {
        if let Ok(response) = reqwest::get(&url).await {
            let csv = response.text().await.unwrap_or_default();
            let up = csv.lines().filter(|l| l.starts_with("replicas,vault") && l.contains(",UP,")).count();
            if up == n {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("HAProxy never saw {n} replicas up");
}
