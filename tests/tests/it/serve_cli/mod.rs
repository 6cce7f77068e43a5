//! `medkey serve --config medkey.toml` as an operator runs it: the real binary, a config file in a
//! temp dir, secrets in the environment or in files, a real anvil, SQLite and PostgreSQL, Redis.
//! It serves the vault over the mirror it keeps, the environment overrides the file, SIGTERM
//! stops it cleanly, bad configurations fail with a message naming the problem, and no secret
//! is ever printed. With `[notifications]`, grants on chain reach a local webhook receiver,
//! signed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::engines::free_port;
use medkey_e2e::serve::{
    Serve, base_config, hex_key, login, new_nonce, run, start_serve, try_login, write, write_secret_file,
};
use medkey_e2e::vault::DOMAIN;
use medkey_e2e::{on_both_backends, spawn_anvil};
use medkey_protocol::{Category, Deployment};
use medkey_vault::notify::verify_signature;
use medkey_vault::redis_store::RedisStore;
use serde_json::{Value, json};

/// Test-only secrets, each distinctive so that a leak into the output is found by a substring search.
const VAULT_SECRET: &str = "5ec4e75ec4e75ec4e75ec4e75ec4e75ec4e75ec4e75ec4e75ec4e75ec4e7a001";
const AUDIT_SEED: &str = "a0d17a0d17a0d17a0d17a0d17a0d17a0d17a0d17a0d17a0d17a0d17a0d17b002";
/// A database password that must not be printed either.
const DB_PASSWORD: &str = "pg-pass-do-not-print-7731";
/// The webhooks' HMAC secret (used as is: 41 bytes).
const WEBHOOK_SECRET: &str = "whsec-medkey-serve-test-7e1f0c2b9a8d4e6f5";

/// Polls the patient's `/v1/grants` until `grant_id` shows up (the mirror caught up).
async fn wait_for_grant(http: &reqwest::Client, base: &str, token: &str, grant_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = http.get(format!("{base}/v1/grants")).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let list: Value = response.json().await.unwrap();
        if let Some(found) = list.as_array().unwrap().iter().find(|g| g["grant"]["grant_id"] == grant_id) {
            return found.clone();
        }
        assert!(Instant::now() < deadline, "grant {grant_id} never reached the mirror: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_no_secret(output: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!output.contains(secret), "a secret was printed:\n{output}");
        let upper = secret.to_ascii_uppercase();
        assert!(!output.contains(&upper), "a secret was printed:\n{output}");
    }
}

/// The whole production shape on one backend: indexer and vault on one database, audit key from
/// a file, relayer and anchoring keys from the environment, the listen address from an
/// environment override, metrics on; a grant made on chain reaches the mirror and the patient
/// sees it after SIWE; SIGTERM stops it with exit 0.
async fn serves_the_vault_over_its_mirror(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let (file_port, env_port, metrics_port) = (free_port(), free_port(), free_port());
    let audit_file = write_secret_file(dir.path(), "audit.key", &format!("{AUDIT_SEED}\n"));
    let mut config = base_config(&chain.rpc_url(), &chain.registry.to_string(), chain.deploy_block, &db.url);
    config.push_str(&format!(
        r#"
[vault]
listen = "127.0.0.1:{file_port}"

[audit]
key_file = "{}"

[relayer]
enabled = true

[anchoring]
enabled = true
every_entries = 100
every_secs = 60

[metrics]
listen = "127.0.0.1:{metrics_port}"
"#,
        audit_file.display()
    ));
    config =
        config.replace("poll_interval_ms = 50", &format!("poll_interval_ms = 50\nws_url = \"{}\"", chain.ws_url()));
    let config_path = write(dir.path(), "medkey.toml", &config);
    let relayer: PrivateKeySigner = chain.anvil.keys()[9].clone().into();
    let operator = chain.keys[0].clone();
    let env = [
        ("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned()),
        ("MEDKEY_RELAYER_KEY", format!("0x{}", hex_key(&relayer))),
        ("MEDKEY_OPERATOR_KEY", hex_key(&operator)),
        ("MEDKEY_VAULT__LISTEN", format!("127.0.0.1:{env_port}")),
    ];
    let mut serve = start_serve(dir.path(), &config_path, &env);
    let base = format!("http://127.0.0.1:{env_port}");

    assert_eq!(serve.wait_for(&format!("{base}/healthz")).await["status"], "ok");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", file_port)).is_err(),
        "MEDKEY_VAULT__LISTEN must win over vault.listen in the file"
    );
    let ready = serve.wait_for(&format!("{base}/readyz")).await;
    assert_eq!(ready["status"], "ready", "{ready}");

    let seed: [u8; 32] = alloy::hex::decode(AUDIT_SEED).unwrap().try_into().unwrap();
    let audit_public = alloy::hex::encode(ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().as_bytes());
    let published = serve.wait_for(&format!("{base}/.well-known/medkey-audit-key")).await;
    assert_eq!(published, json!({"algorithm": "Ed25519", "public_key": audit_public, "chain_id": 31337}));
    let stdout = serve.stdout();
    assert!(stdout.contains(&format!("medkey deploy --audit-key {audit_public}")), "{stdout}");
    assert!(stdout.contains(&format!("{} pays for gasless grants", relayer.address())), "{stdout}");
    assert!(stdout.contains(&format!("anchored on chain by {}", operator.address())), "{stdout}");
    assert!(stdout.contains("new heads over WebSocket"), "{stdout}");

    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("medkey_indexer_indexed_block"), "{metrics}");

    let provider = chain.provider_account(0);
    chain.register_provider(provider).await;
    let request = chain.request(provider, &[Category::LabResults]).await;
    let grant_id = chain.grant(chain.patient(0), request).await.to_string();
    let http = reqwest::Client::new();
    let token = login(&http, &base, &chain.keys[1]).await;
    let mirrored = wait_for_grant(&http, &base, &token, &grant_id).await;
    assert_eq!(mirrored["state"], "live", "{mirrored}");
    assert_eq!(mirrored["categories"], json!(["lab_results"]), "{mirrored}");

    // The vault's own metrics, beside the indexer's: the sign-in, its audit entry, the routes,
    // an error by its code.
    assert_eq!(http.get(format!("{base}/v1/no-such-route")).send().await.unwrap().status(), 404);
    // Made-up methods are one label between them, not a series each kept forever.
    for made_up in ["BREW", "XYZZY1", "XYZZY2"] {
        let method = reqwest::Method::from_bytes(made_up.as_bytes()).unwrap();
        http.request(method, format!("{base}/v1/grants")).send().await.unwrap();
    }
    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics")).await.unwrap().text().await.unwrap();
    for expected in [
        r#"medkey_vault_sign_ins_total{outcome="ok"} 1"#,
        r#"medkey_vault_audit_entries_total{kind="login",outcome="ok"} 1"#,
        r#"medkey_vault_http_requests_total{route="/v1/auth/login",method="POST",status="200"} 1"#,
        r#"medkey_vault_http_request_duration_seconds_bucket{le="+Inf",route="/v1/grants",method="GET"}"#,
        r#"medkey_vault_http_errors_total{route="unmatched",code="not_found"} 1"#,
        r#"medkey_vault_http_requests_total{route="/v1/grants",method="other",status="405"} 3"#,
    ] {
        assert!(metrics.contains(expected), "{expected} missing from:\n{metrics}");
    }
    assert!(!metrics.contains("XYZZY"), "a made-up method is no label:\n{metrics}");
    assert!(!metrics.contains(&chain.patient(0).to_string().to_lowercase()[2..]), "metrics name no address");
    // The Grafana dashboard is built on metrics that exist.
    let dashboard =
        std::fs::read_to_string(medkey_e2e::workspace_root().join("docs/operations/grafana-dashboard.json")).unwrap();
    let mut names: Vec<&str> = dashboard
        .match_indices("medkey_")
        .map(|(at, _)| {
            let rest = &dashboard[at..];
            &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())]
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    assert!(names.len() >= 12, "{names:?}");
    for name in names {
        let family = name.trim_end_matches("_bucket").trim_end_matches("_total");
        assert!(metrics.contains(&format!("# TYPE {family} ")), "the dashboard's {name} is not exported:\n{metrics}");
    }

    let (status, output) = serve.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM must stop medkey serve cleanly:\n{output}");
    assert!(output.contains("medkey serve stopped"), "{output}");
    assert_no_secret(&output, &[VAULT_SECRET, AUDIT_SEED, &hex_key(&relayer), &hex_key(&operator)]);
    db.cleanup().await;
}

on_both_backends!(serves_the_vault_over_its_mirror);

/// With `[redis]`, SIWE nonces live in Redis under the configured prefix (so replicas share
/// them); the registry comes from `deployments/<chain-id>.json`, and the audit key is derived
/// from the vault secret when none is configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_nonces_in_redis_and_reads_the_deployment_file() {
    let redis_url = std::env::var("MEDKEY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let redis_prefix = format!("medkey-serve-test:{}:{}", std::process::id(), free_port());
    let redis = RedisStore::connect(&redis_url, &redis_prefix).unwrap();
    if let Err(err) = redis.ping().await {
        panic!("Redis at {redis_url} is required by this test (CI starts it): {err}");
    }
    let chain = TestChain::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let deployment = Deployment {
        chain_id: 31337,
        contract: "ConsentRegistry".into(),
        address: chain.registry,
        deploy_block: chain.deploy_block,
        tx_hash: Default::default(),
        abi_hash: medkey_protocol::bindings::abi_hash(),
        deployer: chain.admin(),
        admin: chain.admin(),
        audit_key: None,
    };
    deployment.save(&dir.path().join("deployments")).unwrap();
    let port = free_port();
    let config = format!(
        r#"
[chain]
rpc_url = "{}"
chain_id = 31337
deployments_dir = "deployments"
poll_interval_ms = 50

[database]
url = "{}"

[redis]
url = "{redis_url}"
prefix = "{redis_prefix}"

[vault]
listen = "127.0.0.1:{port}"

[identity]
domain = "{DOMAIN}"

[blobs]
backend = "local"
dir = "blobs"
"#,
        chain.rpc_url(),
        db.url
    );
    let config_path = write(dir.path(), "medkey.toml", &config);
    let mut serve = start_serve(dir.path(), &config_path, &[("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned())]);
    let base = format!("http://127.0.0.1:{port}");
    serve.wait_for(&format!("{base}/readyz")).await;

    let stdout = serve.stdout();
    assert!(stdout.contains(&format!("{} from block {}", chain.registry, chain.deploy_block)), "{stdout}");
    assert!(stdout.contains("deployments/31337.json"), "{stdout}");
    assert!(stdout.contains(&format!("(keys {redis_prefix}:…)")), "{stdout}");
    let derived = medkey_vault::http::derived_audit_key(&alloy::hex::decode(VAULT_SECRET).unwrap());
    let derived = alloy::hex::encode(derived.verifying_key().as_bytes());
    let published = serve.wait_for(&format!("{base}/.well-known/medkey-audit-key")).await;
    assert_eq!(published["public_key"], derived.as_str());

    let http = reqwest::Client::new();
    let nonce = new_nonce(&http, &base).await;
    let ttl = redis.remaining(&format!("nonce:{nonce}")).await.unwrap();
    assert!(ttl.is_some_and(|ttl| ttl <= Duration::from_secs(300)), "the nonce is not in Redis under {redis_prefix}");
    // Spent through Redis, as another replica would: this vault must refuse it now.
    assert!(redis.take(&format!("nonce:{nonce}")).await.unwrap());
    let (status, body) = try_login(&http, &base, &chain.keys[1], Some(&nonce)).await;
    assert_eq!(status, 401, "{body}");
    login(&http, &base, &chain.keys[1]).await;

    let (status, output) = serve.terminate();
    assert_eq!(status.code(), Some(0), "{output}");
    assert_no_secret(&output, &[VAULT_SECRET]);
    db.cleanup().await;
}

/// One POST a [`WebhookReceiver`] saw: its headers and body, and whether it was answered 2xx.
#[derive(Clone, Debug)]
struct Hook {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    accepted: bool,
}

impl Hook {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver on a free port that answers 500 to its first `fail_first` POSTs, then 204.
struct WebhookReceiver {
    url: String,
    hooks: Arc<Mutex<(Vec<Hook>, usize)>>,
}

impl WebhookReceiver {
    async fn start(fail_first: usize) -> Self {
        type Inbox = Arc<Mutex<(Vec<Hook>, usize)>>;
        async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
            let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            let mut inbox = inbox.lock().unwrap();
            let accepted = inbox.1 == 0;
            inbox.1 = inbox.1.saturating_sub(1);
            inbox.0.push(Hook {
                id: header("medkey-webhook-id"),
                timestamp: header("medkey-webhook-timestamp"),
                signature: header("medkey-signature"),
                body: body.to_vec(),
                accepted,
            });
            if accepted { StatusCode::NO_CONTENT } else { StatusCode::INTERNAL_SERVER_ERROR }
        }
        let hooks: Inbox = Arc::new(Mutex::new((Vec::new(), fail_first)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/medkey", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/hooks/medkey", axum::routing::post(receive)).with_state(hooks.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, hooks }
    }

    fn hooks(&self) -> Vec<Hook> {
        self.hooks.lock().unwrap().0.clone()
    }

    /// Waits (up to 30 s) for an accepted delivery of `kind` that `matches`.
    async fn wait_for(&self, serve: &Serve, kind: &str, matches: impl Fn(&Value) -> bool) -> Hook {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = self.hooks().into_iter().find(|h| h.accepted && h.json()["type"] == kind && matches(&h.json()));
            if let Some(hook) = found {
                return hook;
            }
            assert!(
                Instant::now() < deadline,
                "no {kind} delivery arrived; received: {:?}\n{}",
                self.hooks(),
                serve.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// With `[notifications]` (the secret from `MEDKEY_WEBHOOK_SECRET`), `--check` shows the webhook
/// URL and where the secret comes from, not the secret; `medkey serve` prints the URL at start-up
/// and a grant made on chain reaches a local receiver as a `grant_created` delivery, signed with
/// that secret, retried after the receiver's first failure by the configured backoff; SIGTERM
/// stops the notifier with the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_signed_webhooks_for_grants_on_chain() {
    let chain = TestChain::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebhookReceiver::start(1).await;
    let port = free_port();
    let mut config = base_config(&chain.rpc_url(), &chain.registry.to_string(), chain.deploy_block, &db.url);
    config.push_str(&format!(
        r#"
[vault]
listen = "127.0.0.1:{port}"

[notifications]
url = "{}"
max_attempts = 5
first_retry_ms = 100
max_backoff_secs = 1
attempt_timeout_secs = 5
"#,
        receiver.url
    ));
    let config_path = write(dir.path(), "medkey.toml", &config);
    let env = [("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned()), ("MEDKEY_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned())];
    // The path may carry a token: only the scheme and host are shown.
    let shown_url = format!("{}/…", receiver.url.trim_end_matches("/hooks/medkey"));

    let (code, stdout, stderr) = run(dir.path(), &["--config", config_path.to_str().unwrap(), "--check"], &env);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let line = |key: &str| {
        stdout.lines().find(|l| l.starts_with(&format!("{key} = "))).unwrap_or_else(|| panic!("no {key} in:\n{stdout}"))
    };
    assert!(line("max_attempts").contains("= 5") && line("max_attempts").ends_with("medkey.toml"), "{stdout}");
    assert!(line("attempt_timeout_secs").contains("= 5"), "{stdout}");
    assert!(stdout.contains(&format!("[notifications]\nurl = \"{shown_url}\"")), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "# webhooks          {shown_url}, signed with a secret from MEDKEY_WEBHOOK_SECRET (not shown)"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("hooks/medkey"), "the URL's path is not printed:\n{stdout}");
    assert_no_secret(&format!("{stdout}{stderr}"), &[VAULT_SECRET, WEBHOOK_SECRET]);

    let mut serve = start_serve(dir.path(), &config_path, &env);
    let base = format!("http://127.0.0.1:{port}");
    serve.wait_for(&format!("{base}/readyz")).await;
    let stdout = serve.stdout();
    assert!(
        stdout.contains(&format!(
            "webhooks         {shown_url} (signed with the secret from MEDKEY_WEBHOOK_SECRET; up to 5 attempts)"
        )),
        "{stdout}"
    );

    let provider = chain.provider_account(0);
    chain.register_provider(provider).await;
    let request = chain.request(provider, &[Category::LabResults]).await;
    let patient = chain.patient(0);
    let grant_id = chain.grant(patient, request).await;
    let hook = receiver.wait_for(&serve, "grant_created", |p| p["grant_id"] == json!(grant_id)).await;
    let payload = hook.json();
    assert_eq!(payload["id"].as_str(), Some(hook.id.as_str()), "the id header names the payload");
    assert_eq!(payload["patient"], json!(patient), "{payload}");
    assert_eq!(payload["provider"], json!(provider), "{payload}");
    assert_eq!(payload["categories"], json!(["lab_results"]), "{payload}");
    assert!(payload["block_number"].as_u64().unwrap() > 0, "{payload}");
    assert!(
        verify_signature(WEBHOOK_SECRET.as_bytes(), &hook.id, &hook.timestamp, &hook.body, &hook.signature),
        "{hook:?}"
    );
    assert!(!verify_signature(VAULT_SECRET.as_bytes(), &hook.id, &hook.timestamp, &hook.body, &hook.signature));
    let sent_at: u64 = hook.timestamp.parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(sent_at <= now && now - sent_at < 120, "timestamp {sent_at} vs now {now}");
    // The receiver failed the first attempt: the same delivery came again, signed alike.
    let attempts: Vec<Hook> = receiver.hooks().into_iter().filter(|h| h.id == hook.id).collect();
    assert_eq!(attempts.iter().map(|h| h.accepted).collect::<Vec<_>>(), [false, true], "{attempts:?}");
    assert_eq!(attempts[0].body, hook.body);
    assert!(verify_signature(
        WEBHOOK_SECRET.as_bytes(),
        &attempts[0].id,
        &attempts[0].timestamp,
        &attempts[0].body,
        &attempts[0].signature
    ));

    let (status, output) = serve.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM must stop medkey serve and its notifier cleanly:\n{output}");
    assert!(output.contains("medkey serve stopped"), "{output}");
    assert_no_secret(&output, &[VAULT_SECRET, WEBHOOK_SECRET]);
    db.cleanup().await;
}

/// When the indexer stops for good while serving (here: the database mirrors another registry),
/// the vault stops with it and the process exits 1 with the reason, for a supervisor to see,
/// instead of serving from a mirror that no longer follows the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exits_when_the_indexer_cannot_go_on() {
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("mirror.sqlite").display());
    let port = free_port();
    let listen = format!("\n[vault]\nlisten = \"127.0.0.1:{port}\"\n");
    let config = base_config(&chain.rpc_url(), &chain.registry.to_string(), chain.deploy_block, &database) + &listen;
    let config_path = write(dir.path(), "medkey.toml", &config);
    let env = [("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned())];
    let mut serve = start_serve(dir.path(), &config_path, &env);
    serve.wait_for(&format!("http://127.0.0.1:{port}/readyz")).await;
    let (status, output) = serve.terminate();
    assert_eq!(status.code(), Some(0), "{output}");

    let other = "0x00000000000000000000000000000000000000aa";
    let config_path = write(dir.path(), "medkey.toml", &config.replace(&chain.registry.to_string(), other));
    let (code, stdout, stderr) = run(dir.path(), &["--config", config_path.to_str().unwrap()], &env);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("this database mirrors registry {}", chain.registry)), "{stderr}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the vault must stop too");
}

/// `freshness.strict = true` through `medkey serve`: with a mirror held three confirmations behind
/// the chain, a revocation is refused at once (`refused_by_chain`), before the mirror has seen it;
/// `--check` and the start-up lines say strict mode is on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_refuses_a_revocation_the_mirror_has_not_seen() {
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("mirror.sqlite").display());
    let port = free_port();
    let extra = format!(
        "\n[vault]\nlisten = \"127.0.0.1:{port}\"\n\n[freshness]\nmax_lag_blocks = 10\nstrict = true\nstrict_timeout_ms = 5000\n"
    );
    let config = base_config(&chain.rpc_url(), &chain.registry.to_string(), chain.deploy_block, &database)
        .replace("poll_interval_ms = 50", "poll_interval_ms = 50\nconfirmations = 3")
        + &extra;
    let config_path = write(dir.path(), "medkey.toml", &config);
    let env = [("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned())];
    let (code, stdout, stderr) = run(dir.path(), &["--config", config_path.to_str().unwrap(), "--check"], &env);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("strict = true")), "{stdout}");

    let mut serve = start_serve(dir.path(), &config_path, &env);
    let base = format!("http://127.0.0.1:{port}");
    serve.wait_for(&format!("{base}/readyz")).await;
    assert!(serve.stdout().contains("strict: each confirmed with canAccess on chain"), "{}", serve.stdout());

    let (alice, lab) = (chain.keys[1].clone(), chain.keys[3].clone());
    chain.register_provider(lab.address()).await;
    let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
    request.recordsRoot = alloy::primitives::B256::ZERO;
    let grant_id = chain.grant(alice.address(), request).await;
    chain.mine(4).await;
    let http = reqwest::Client::new();
    let (alice_token, lab_token) = (login(&http, &base, &alice).await, login(&http, &base, &lab).await);
    wait_for_grant(&http, &base, &alice_token, &grant_id.to_string()).await;
    let readers = [
        (alice.address(), &medkey_e2e::sealed::encryption_secret(0xA1)),
        (lab.address(), &medkey_e2e::sealed::encryption_secret(0xB2)),
    ];
    let record = medkey_e2e::sealed::upload(alice.address(), 0x44, Category::LabResults, "Observation", &readers);
    let stored =
        http.post(format!("{base}/v1/records")).bearer_auth(&alice_token).json(&record.body).send().await.unwrap();
    assert_eq!(stored.status(), 201);
    let key = format!("{base}/v1/records/{}/key", alloy::hex::encode(record.id));
    let release = |token: String| {
        let (http, key) = (http.clone(), key.clone());
        async move {
            let response = http.get(key).bearer_auth(token).send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    assert_eq!(release(lab_token.clone()).await.0, 200);

    // Revoked on chain; the mirror, three confirmations behind, still has the grant live.
    chain.revoke(alice.address(), grant_id).await;
    let list: Value =
        http.get(format!("{base}/v1/grants")).bearer_auth(&alice_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list[0]["state"], "live", "the mirror must not have seen the revocation yet: {list}");
    assert_eq!(release(lab_token).await, (403, "refused_by_chain".to_owned()));
    let (status, output) = serve.terminate();
    assert_eq!(status.code(), Some(0), "{output}");
}

/// `vault.web_root`: the app's files at `/` (and its client-side routes) with the security
/// headers and the deployment's `/app-config.json` (no dev RPC in production), while the API's
/// own unknown paths stay JSON 404s; the provider app under `/provider/` from its own directory;
/// a web root without an index.html is refused at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_patient_app_beside_the_api() {
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join("assets")).unwrap();
    std::fs::write(app.join("index.html"), "<!doctype html><title>Medkey</title><div id=root></div>").unwrap();
    std::fs::write(app.join("assets/app.js"), "console.log('medkey')").unwrap();
    let provider_app = dir.path().join("provider");
    std::fs::create_dir_all(provider_app.join("assets")).unwrap();
    std::fs::write(provider_app.join("index.html"), "<!doctype html><title>Medkey for providers</title>").unwrap();
    std::fs::write(provider_app.join("assets/p.js"), "console.log('provider')").unwrap();
    let database = format!("sqlite://{}", dir.path().join("mirror.sqlite").display());
    let port = free_port();
    let extra = format!(
        "\n[vault]\nlisten = \"127.0.0.1:{port}\"\nweb_root = \"{}\"\nprovider_web_root = \"{}\"\n",
        app.display(),
        provider_app.display()
    );
    let config = base_config(&chain.rpc_url(), &chain.registry.to_string(), chain.deploy_block, &database) + &extra;
    let config_path = write(dir.path(), "medkey.toml", &config);
    let env = [("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned())];
    let mut serve = start_serve(dir.path(), &config_path, &env);
    let base = format!("http://127.0.0.1:{port}");
    serve.wait_for(&format!("{base}/readyz")).await;
    assert!(serve.stdout().contains("patient app      served at /"), "{}", serve.stdout());

    let http = reqwest::Client::new();
    for path in ["/", "/records/some-client-route"] {
        let page = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self'") && csp.contains("connect-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        assert_eq!(page.headers()["cache-control"], "no-store");
        assert!(page.text().await.unwrap().contains("<div id=root>"), "{path}");
    }
    let script = http.get(format!("{base}/assets/app.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    for path in ["/provider/", "/provider/patients/0xabc", "/provider"] {
        let page = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
        assert!(page.text().await.unwrap().contains("Medkey for providers"), "{path}");
    }
    let provider_script = http.get(format!("{base}/provider/assets/p.js")).send().await.unwrap();
    assert_eq!(provider_script.text().await.unwrap(), "console.log('provider')");
    assert_eq!(script.headers()["x-content-type-options"], "nosniff");
    let config: Value = http.get(format!("{base}/app-config.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(config["chain_id"], chain.chain_id());
    assert_eq!(config["registry"].as_str().unwrap().to_lowercase(), chain.registry.to_string().to_lowercase());
    assert!(config["dev_rpc_url"].is_null(), "{config}");
    let unknown = http.get(format!("{base}/v1/no-such-thing")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let (status, output) = serve.terminate();
    assert_eq!(status.code(), Some(0), "{output}");

    std::fs::remove_file(app.join("index.html")).unwrap();
    let (code, _, stderr) = run(dir.path(), &["--config", config_path.to_str().unwrap()], &env);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("has no index.html"), "{stderr}");
}

mod config_checks;
