//! `medkey serve` over TLS end to end, against servers these tests start with a CA they
//! generate: the vault answers HTTPS only; PostgreSQL accepts TLS connections only
//! (`hostssl`), and the vault reaches it with `sslmode=verify-full`; Redis listens on a TLS
//! port only, and the vault reaches it over `rediss://` trusting the CA in `redis.ca_file`.
//! A certificate the configured CA did not sign stops the start with a message naming the key.

use std::time::Duration;

use alloy::transports::http::reqwest;
use medkey_e2e::chain::TestChain;
use medkey_e2e::engines::certs::TestCerts;
use medkey_e2e::engines::free_port;
use medkey_e2e::engines::postgres::TempPostgres;
use medkey_e2e::engines::redis::TempRedis;
use medkey_e2e::serve::{base_config, login, run, start_serve, write};

const VAULT_SECRET: &str = "7150e7150e7150e7150e7150e7150e7150e7150e7150e7150e7150e7150ea001";

fn https_client(ca: &std::path::Path) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    reqwest::Client::builder().add_root_certificate(ca).timeout(Duration::from_secs(10)).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_over_tls_postgres_and_redis() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::generate(dir.path());
    let postgres = TempPostgres::start(Some(&certs));
    let redis = TempRedis::start(Some(&certs));
    let chain = TestChain::start().await;
    let port = free_port();

    // PostgreSQL really refuses a connection without TLS.
    let plain = sqlx::PgPool::connect(&postgres.url("localhost", "sslmode=disable")).await;
    assert!(plain.is_err(), "the test server must refuse connections without TLS");

    let database = postgres.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", certs.ca.display()));
    let mut config = base_config(&chain.rpc_url(), &chain.registry.to_string(), chain.deploy_block, &database);
    config.push_str(&format!(
        r#"
[redis]
url = "rediss://localhost:{}/0"
ca_file = "{}"

[vault]
listen = "127.0.0.1:{port}"
tls_cert_file = "{}"
tls_key_file = "{}"
"#,
        redis.port,
        certs.ca.display(),
        certs.cert.display(),
        certs.key.display()
    ));
    let config_path = write(dir.path(), "medkey.toml", &config);
    let env = [("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned())];
    let mut serve = start_serve(dir.path(), &config_path, &env);
    serve.wait_for_output("Stop with Ctrl-C").await;
    assert!(serve.stdout().contains(&format!("vault            https://127.0.0.1:{port}")), "{}", serve.output());

    let https = https_client(&certs.ca);
    let base = format!("https://localhost:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = https.get(format!("{base}/readyz")).send().await;
        if response.as_ref().is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready over HTTPS: {response:?}\n{}", serve.output());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A sign-in takes a nonce from Redis (over TLS) and writes the session and the audit entry
    // into PostgreSQL (over TLS).
    let token = login(&https, &base, &chain.keys[1]).await;
    let grants = https.get(format!("{base}/v1/grants")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(grants.status(), 200);

    // Plain HTTP to the HTTPS port gets no answer; a client that does not trust the CA refuses it.
    let plain = reqwest::Client::new().get(format!("http://localhost:{port}/healthz")).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200), "plain HTTP must not be served");
    let untrusting = https_client(&certs.other_ca).get(format!("{base}/healthz")).send().await;
    assert!(untrusting.is_err(), "a client trusting another CA must refuse the vault's certificate");

    let (status, output) = serve.terminate();
    assert_eq!(status.code(), Some(0), "{output}");
    drop(redis);
    drop(postgres);
}

/// `sslmode=verify-full` with a CA that did not sign PostgreSQL's certificate: the start stops,
/// naming database.url. Half a certificate pair is refused by `--check`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_servers_its_ca_did_not_sign() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::generate(dir.path());
    let postgres = TempPostgres::start(Some(&certs));
    let chain = TestChain::start().await;
    let database = postgres.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", certs.other_ca.display()));
    let mut config = base_config(&chain.rpc_url(), &chain.registry.to_string(), chain.deploy_block, &database);
    config.push_str(&format!("\n[vault]\nlisten = \"127.0.0.1:{}\"\n", free_port()));
    let config_path = write(dir.path(), "medkey.toml", &config);
    let env = [("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned())];
    let (code, _stdout, stderr) = run(dir.path(), &["--config", config_path.to_str().unwrap()], &env);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("opening the database") && stderr.contains("(database.url)"), "{stderr}");

    // Half a TLS pair is refused up front.
    let half = config.replace("[vault]\n", &format!("[vault]\ntls_cert_file = \"{}\"\n", certs.cert.display()));
    let half_path = write(dir.path(), "half.toml", &half);
    let (code, _stdout, stderr) = run(dir.path(), &["--config", half_path.to_str().unwrap(), "--check"], &env);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("vault.tls_key_file") && stderr.contains("needs both"), "{stderr}");
}
