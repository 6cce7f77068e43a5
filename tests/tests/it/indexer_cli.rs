//! `medkey indexer` as an operator runs it: Prometheus metrics while it follows, and clear
//! errors for bad input.

use std::process::Stdio;
use std::time::{Duration, Instant};

use alloy::transports::http::reqwest;
use medkey_e2e::chain::TestChain;
use medkey_e2e::medkey;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn serves_lag_and_throughput_metrics_while_following() {
    let chain = TestChain::start().await;
    chain.register_provider(chain.provider_account(0)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("mirror.sqlite").display());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = medkey_e2e::medkey_command()
        .args(["indexer", "--rpc-url", &chain.rpc_url(), "--database-url", &db, "--metrics-addr", &addr])
        .args(["--registry", &chain.registry.to_string(), "--deploy-block", &chain.deploy_block.to_string()])
        .args(["--poll-interval-ms", "50"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let head = chain.head().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        assert!(child.try_wait().unwrap().is_none(), "medkey indexer exited");
        if let Ok(response) = reqwest::get(format!("http://{addr}/metrics")).await {
            let body = response.text().await.unwrap();
            if body.contains(&format!("medkey_indexer_indexed_block {head}")) {
                break body;
            }
        }
        assert!(Instant::now() < deadline, "metrics never showed block {head}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(body.contains("medkey_indexer_lag_blocks 0"), "{body}");
    assert!(body.contains(&format!("medkey_indexer_head_block {head}")), "{body}");
    // The deployment's four RoleGranted (admin, registrar, pauser, operator) and one ProviderRegistered.
    assert!(body.contains("medkey_indexer_events_total 5"), "five events: {body}");
    assert!(body.contains("# TYPE medkey_indexer_reorgs counter"), "{body}");
}

#[test]
fn rejects_bad_input_with_a_clear_error() {
    let out = medkey(
        &[
            "indexer",
            "--database-url",
            "mysql://x",
            "--registry",
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "--no-metrics",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with postgres://"), "{out:?}");

    let out = medkey(&["indexer", "--rpc-url", "http://127.0.0.1:9", "--no-metrics"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the chain at http://127.0.0.1:9"), "{out:?}");

    // A hosted node's URL carries its API key: never printed, neither by medkey's own words nor
    // by the HTTP client's error it quotes.
    for url in ["http://127.0.0.1:9/v3/secret-api-key-5150", "http://127.0.0.1:9/?apikey=secret-api-key-5150"] {
        let out = medkey(&["indexer", "--rpc-url", url, "--no-metrics"], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("cannot reach the chain at http://127.0.0.1:9/…"), "{stderr}");
        assert!(!stderr.contains("secret-api-key-5150"), "the API key was printed: {stderr}");
    }

    let out = medkey(&["indexer", "--registry", "0x12"], &[]);
    assert_eq!(out.status.code(), Some(2), "clap usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--registry"), "{out:?}");
}
