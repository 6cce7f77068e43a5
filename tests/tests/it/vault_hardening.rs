//! The vault as a public service meets it: behind a reverse proxy, clients are told apart by the
//! forwarding headers of trusted proxies only; slow and idle connections are cut off while a
//! normal client keeps being served, and connections are capped; and once any endpoint has shown
//! a grant, the gate does not refuse it from an older mirror block.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::transports::http::reqwest;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::RunningIndexer;
use medkey_e2e::sealed::{encryption_secret, upload};
use medkey_e2e::vault::{TestVault, siwe_message};
use medkey_protocol::Category;
use medkey_vault::http::{ServerLimits, TrustedProxies};
use medkey_vault::limits::LimitSettings;
use medkey_vault::{MirrorView, ReleaseGate};
use serde_json::json;

/// A login naming `victim` with a signature that is not theirs, sent as if from `forwarded_for`.
async fn bad_login(vault: &TestVault, victim: Address, chain_id: u64, forwarded_for: &str) -> (u16, String) {
    let message = siwe_message(victim, chain_id, "abcdefgh12345678");
    let body = json!({"message": message, "signature": format!("0x{}", "11".repeat(65))});
    let response = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", vault.url))
        .header("x-forwarded-for", forwarded_for)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

/// A real login by `signer`, as if from `forwarded_for`.
async fn login_from(
    vault: &TestVault,
    signer: &alloy::signers::local::PrivateKeySigner,
    chain_id: u64,
    from: &str,
) -> u16 {
    let client = reqwest::Client::new();
    let nonce: serde_json::Value = client
        .get(format!("{}/v1/auth/nonce", vault.url))
        .header("x-forwarded-for", from)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message = siwe_message(signer.address(), chain_id, nonce["nonce"].as_str().unwrap());
    use alloy::signers::SignerSync;
    let signature = signer.sign_message_sync(message.as_bytes()).unwrap();
    let body = json!({"message": message, "signature": alloy::hex::encode_prefixed(signature.as_bytes())});
    let response = client
        .post(format!("{}/v1/auth/login", vault.url))
        .header("x-forwarded-for", from)
        .json(&body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let chain = TestChain::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let (victim, id) = (chain.keys[1].clone(), chain.chain_id());
    let limits = LimitSettings { lockout_after: 5, ..LimitSettings::default() };

    // Behind a trusted proxy (the test connects from 127.0.0.1): the attacker's five bad logins
    // lock out the attacker's address for the victim, not the victim herself.
    let proxied = TestVault::serve(
        TestVault::state(&indexer, limits, false)
            .await
            .with_trusted_proxies(TrustedProxies::parse(&["127.0.0.1/32"]).unwrap()),
    )
    .await;
    // The client forges a leftmost entry; the proxy appends the address it saw.
    let attacker = "1.2.3.4, 203.0.113.7";
    for _ in 0..5 {
        assert_eq!(bad_login(&proxied, victim.address(), id, attacker).await, (401, "bad_signature".into()));
    }
    assert_eq!(bad_login(&proxied, victim.address(), id, attacker).await, (429, "locked_out".into()));
    assert_eq!(login_from(&proxied, &victim, id, "198.51.100.9").await, 200, "the victim still signs in");

    // No trusted proxy (the default): the header is anyone's to write, so it is ignored; the
    // peer is the client, and changing the header each time evades nothing.
    let direct = TestVault::start_with(&indexer, limits).await;
    for i in 0..5 {
        let spoofed = format!("198.51.100.{i}");
        assert_eq!(bad_login(&direct, victim.address(), id, &spoofed).await, (401, "bad_signature".into()));
    }
    assert_eq!(bad_login(&direct, victim.address(), id, "198.51.100.200").await, (429, "locked_out".into()));

    // Sign-in rate limits see real clients too: one noisy client behind the proxy does not
    // exhaust sign-in for the others.
    let strict = LimitSettings { login_per_ip_per_minute: 3, ..limits };
    let proxied = TestVault::serve(
        TestVault::state(&indexer, strict, false)
            .await
            .with_trusted_proxies(TrustedProxies::parse(&["127.0.0.1"]).unwrap()),
    )
    .await;
    let nonce = |from: &'static str| {
        let url = format!("{}/v1/auth/nonce", proxied.url);
        async move {
            reqwest::Client::new().get(url).header("x-forwarded-for", from).send().await.unwrap().status().as_u16()
        }
    };
    for _ in 0..3 {
        assert_eq!(nonce("203.0.113.7").await, 200);
    }
    assert_eq!(nonce("203.0.113.7").await, 429);
    assert_eq!(nonce("198.51.100.9").await, 200);
    db.cleanup().await;
}

/// Through the shipped HAProxy rules, a client that writes its own `Forwarded` or
/// `X-Forwarded-For` is still counted under the address the proxy saw: the proxy drops both before
/// adding its own, and the vault reads only the header the proxy writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_behind_haproxy_cannot_choose_its_address() {
    let chain = TestChain::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let limits = LimitSettings { login_per_ip_per_minute: 3, ..LimitSettings::default() };
    let vault = TestVault::serve(
        TestVault::state(&indexer, limits, false)
            .await
            .with_trusted_proxies(TrustedProxies::parse(&["127.0.0.1"]).unwrap()),
    )
    .await;
    let vault_port: u16 = vault.url.rsplit(':').next().unwrap().parse().unwrap();
    let haproxy = medkey_e2e::engines::haproxy::Haproxy::start(&[vault_port]);
    let url = format!("http://127.0.0.1:{}/v1/auth/nonce", haproxy.port);
    let client = reqwest::Client::new();
    // HAProxy health-checks the replica before it sends it anything.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let health = client.get(format!("http://127.0.0.1:{}/healthz", haproxy.port)).send().await;
        if health.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "HAProxy never reached the vault");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut statuses = Vec::new();
    for i in 0..6 {
        let response = client
            .get(&url)
            .header("forwarded", format!("for=198.51.100.{i}"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429], "three nonces a minute from one client, whatever it claims");
    drop(haproxy);
    db.cleanup().await;
}

/// Reads until the server closes the connection (or 10 s pass); returns what it sent and when it
/// closed.
fn read_until_closed(socket: &mut TcpStream) -> (String, Instant) {
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => return (String::from_utf8_lossy(&answer).into_owned(), Instant::now()),
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_and_connections_are_capped() {
    let chain = TestChain::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let limits = ServerLimits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        max_connections: 6,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let state = TestVault::state(&indexer, LimitSettings::default(), false).await;
    let vault = TestVault::serve_with(state, limits, listener).await;
    let addr = vault.url.trim_start_matches("http://").to_owned();

    let (slowloris, idle, slow_body) = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            let started = Instant::now();
            // Slow headers: a line every 300 ms, never finishing.
            let slow = std::thread::spawn({
                let addr = addr.clone();
                move || {
                    let mut socket = TcpStream::connect(&addr).unwrap();
                    socket.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n").unwrap();
                    for i in 0..40 {
                        std::thread::sleep(Duration::from_millis(300));
                        if socket.write_all(format!("x-slow-{i}: y\r\n").as_bytes()).is_err() {
                            return started.elapsed();
                        }
                    }
                    started.elapsed()
                }
            });
            // Idle: connects, sends nothing.
            let mut idle = TcpStream::connect(&addr).unwrap();
            let (idle_answer, idle_closed) = read_until_closed(&mut idle);
            assert!(idle_answer.is_empty(), "{idle_answer}");
            // Slow body: headers promise 100 bytes, 10 come.
            let mut body = TcpStream::connect(&addr).unwrap();
            body.write_all(
                b"POST /v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"message\"",
            )
            .unwrap();
            let sent = Instant::now();
            let (body_answer, body_closed) = read_until_closed(&mut body);
            (slow.join().unwrap(), idle_closed - started, (body_answer, body_closed - sent))
        }
    })
    .await
    .unwrap();
    // Generous bounds: the limits are 1-2 s, a connection left open would hold for the full 10 s.
    assert!(slowloris < Duration::from_secs(8), "slow headers kept the connection for {slowloris:?}");
    assert!(idle < Duration::from_secs(8), "an idle connection stayed open for {idle:?}");
    let (answer, after) = slow_body;
    assert!(after < Duration::from_secs(8), "a slow body kept the connection for {after:?}: {answer}");
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 4"), "{answer}");

    // The cap: six idle connections fill it; a seventh is served once the idle ones are cut off,
    // and a normal client is served throughout the rest of the time.
    let held: Vec<TcpStream> = (0..6).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let waited = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            let started = Instant::now();
            let mut socket = TcpStream::connect(&addr).unwrap();
            socket.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
            let (answer, _) = read_until_closed(&mut socket);
            (answer, started.elapsed())
        }
    })
    .await
    .unwrap();
    assert!(waited.0.starts_with("HTTP/1.1 200"), "{}", waited.0);
    assert!(waited.1 >= Duration::from_millis(500), "served at once despite the cap: {:?}", waited.1);
    drop(held);
    let (status, _) = vault.call("GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    db.cleanup().await;
}

/// A vault whose view of the mirror does not follow on its own (an indexer in another process,
/// between two polls) still releases a grant that `/v1/grants` has shown.
async fn a_grant_shown_is_a_grant_honoured(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab) = (chain.keys[1].clone(), chain.keys[3].clone());
    chain.register_provider(lab.address()).await;
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let mut state = TestVault::state(&indexer, LimitSettings::default(), false).await;
    // A store handle of its own gets no write signals from the indexer's, and the poll is an hour.
    let own_store = medkey_indexer::Store::connect(&db.url).await.unwrap();
    let view = MirrorView::follow(own_store, chain.chain_id(), Duration::from_secs(3_600)).await.unwrap();
    state.gate = ReleaseGate::new(view, state.freshness);
    let vault = TestVault::serve(state).await;
    let id = chain.chain_id();
    let (alice_token, lab_token) = (vault.login(&alice, id).await, vault.login(&lab, id).await);
    let readers = [(alice.address(), &encryption_secret(0xA1)), (lab.address(), &encryption_secret(0xB2))];
    let record = upload(alice.address(), 0x33, Category::LabResults, "Observation", &readers);
    assert_eq!(vault.call("POST", "/v1/records", Some(&alice_token), Some(record.body)).await.0, 201);

    // Refused before the grant: what the gate read is now cached for the view's block.
    let key = format!("/v1/records/{}/key", alloy::hex::encode(record.id));
    let (status, body) = vault.call("GET", &key, Some(&lab_token), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("no_live_grant")), "{body}");

    let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
    request.recordsRoot = B256::ZERO;
    chain.grant(alice.address(), request).await;
    indexer.wait_for_block(chain.head().await).await;
    let (status, grants) = vault.call("GET", "/v1/grants?as=provider", Some(&lab_token), None).await;
    assert_eq!(status, 200, "{grants}");
    assert_eq!(grants.as_array().map(Vec::len), Some(1), "the grant is shown: {grants}");
    let (status, body) = vault.call("GET", &key, Some(&lab_token), None).await;
    assert_eq!(status, 200, "a grant /v1/grants showed was refused: {body}");
    db.cleanup().await;
}
medkey_e2e::on_both_backends!(a_grant_shown_is_a_grant_honoured);
