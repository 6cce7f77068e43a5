//! Vault replicas sharing Redis (the real one at 127.0.0.1:6379, or `MEDKEY_TEST_REDIS_URL`;
//! CI starts it, and a missing Redis fails these tests, never skips them): SIWE nonces are single
//! use across replicas, rate limits and lockouts are counted once for all of them, and a vault
//! whose Redis is down refuses (503) instead of letting requests through unchecked. SQLite only:
//! the database is not what is under test.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::proxy::{FaultyProxy, Mode};
use medkey_e2e::vault::{TestVault, siwe_message};
use medkey_protocol::clock::now_ms;
use medkey_vault::identity::{Identity, IdentityConfig, LoginError};
use medkey_vault::limits::LimitSettings;
use medkey_vault::redis_store::{Bucket, RedisStore};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// The test Redis, checked to answer: panics (the test fails) when it does not.
async fn redis_url() -> String {
    let url = std::env::var("MEDKEY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let store = RedisStore::connect(&url, "medkey-test").unwrap_or_else(|err| panic!("bad Redis URL {url}: {err}"));
    if let Err(err) = store.ping().await {
        panic!("Redis at {url} is required by these tests (CI starts it): {err}");
    }
    url
}

/// A key prefix no other test (or earlier run) uses.
fn fresh_prefix() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("medkey-test:{}:{}:{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

struct Setup {
    chain: TestChain,
    db: TestDb,
    indexer: RunningIndexer,
}

async fn setup() -> Setup {
    let chain = TestChain::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    Setup { chain, db, indexer }
}

impl Setup {
    async fn stop(self) {
        self.indexer.stop().await.close().await;
        self.db.cleanup().await;
    }
}

/// One request, with the `Retry-After` header (seconds) if any.
async fn call(vault: &TestVault, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    let mut request = reqwest::Client::new().request(method.parse().unwrap(), format!("{}{path}", vault.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let text = response.text().await.unwrap();
    Answer { status, retry_after, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// A login body for `signer` over a nonce issued by `issuer`, signed by `by` (a forgery when
/// `by` is not `signer`).
async fn login_body(issuer: &TestVault, chain_id: u64, signer: &PrivateKeySigner, by: &PrivateKeySigner) -> Value {
    let answer = call(issuer, "GET", "/v1/auth/nonce", None, None).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let message = siwe_message(signer.address(), chain_id, answer.body["nonce"].as_str().unwrap());
    let signature = by.sign_message_sync(message.as_bytes()).unwrap();
    json!({"message": message, "signature": alloy::hex::encode_prefixed(signature.as_bytes())})
}

async fn login(vault: &TestVault, body: &Value) -> Answer {
    call(vault, "POST", "/v1/auth/login", None, Some(body.clone())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_are_single_use_across_replicas() {
    let redis = redis_url().await;
    let s = setup().await;
    let prefix = fresh_prefix();
    // Replays count as failed sign-ins: no lockout here, so each answer is about the nonce.
    let limits = LimitSettings { lockout_after: 1_000, ..Default::default() };
    let a = TestVault::start_with_redis(&s.indexer, limits, &redis, &prefix).await;
    let b = TestVault::start_with_redis(&s.indexer, limits, &redis, &prefix).await;
    let (alice, id) = (s.chain.keys[1].clone(), s.chain.chain_id());

    // Issued by A, spent on B; replayed on either: refused.
    let body = login_body(&a, id, &alice, &alice).await;
    assert_eq!(login(&b, &body).await.status, 200);
    for replica in [&a, &b] {
        let replay = login(replica, &body).await;
        assert_eq!((replay.status, replay.code()), (401, "nonce_rejected"), "{replay:?}");
    }
    // Issued by B, spent on A.
    let body = login_body(&b, id, &alice, &alice).await;
    assert_eq!(login(&a, &body).await.status, 200);
    assert_eq!(login(&b, &body).await.code(), "nonce_rejected");

    // The same signed login sent to both replicas at once, eight times: exactly one session.
    let body = login_body(&a, id, &alice, &alice).await;
    let attempts = (0..8).map(|i| {
        let (replica, body) = (if i % 2 == 0 { &a } else { &b }, body.clone());
        async move { login(replica, &body).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    assert_eq!(answers.iter().filter(|x| x.status == 200).count(), 1, "{answers:?}");
    assert!(answers.iter().filter(|x| x.status != 200).all(|x| x.code() == "nonce_rejected"), "{answers:?}");

    // Neither replica kept a nonce in the database: they live in Redis.
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM login_nonces").fetch_one(s.indexer.store.pool()).await.unwrap();
    assert_eq!(rows, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_shared_across_replicas() {
    let redis = redis_url().await;
    let s = setup().await;
    let prefix = fresh_prefix();
    let limits = LimitSettings { login_per_ip_per_minute: 6, release_per_address_per_minute: 3, ..Default::default() };
    let a = TestVault::start_with_redis(&s.indexer, limits, &redis, &prefix).await;
    let b = TestVault::start_with_redis(&s.indexer, limits, &redis, &prefix).await;
    let provider = s.chain.keys[3].clone();

    // Login requests from this IP: 2 for the sign-in, then 4 nonces alternating replicas. Six a
    // minute in all, not six per replica.
    let token = a.login(&provider, s.chain.chain_id()).await;
    for replica in [&b, &a, &b, &a] {
        assert_eq!(call(replica, "GET", "/v1/auth/nonce", None, None).await.status, 200);
    }
    for replica in [&b, &a] {
        let over = call(replica, "GET", "/v1/auth/nonce", None, None).await;
        assert_eq!((over.status, over.code()), (429, "rate_limited"), "{over:?}");
        let wait = over.retry_after.expect("Retry-After");
        assert!((1..=10).contains(&wait), "one request every 10 s comes back: {wait}");
    }

    // Key releases by this provider: 3 a minute across both replicas (counted before the record
    // is even looked up, so an unknown record is enough).
    let path = "/v1/records/00112233445566778899aabbccddeeff/key";
    for replica in [&a, &b, &a] {
        let answer = call(replica, "GET", path, Some(&token), None).await;
        assert_eq!((answer.status, answer.code()), (404, "not_found"), "{answer:?}");
    }
    let over = call(&b, "GET", path, Some(&token), None).await;
    assert_eq!((over.status, over.code()), (429, "rate_limited"), "{over:?}");
    assert!(over.retry_after.is_some_and(|s| (1..=20).contains(&s)), "{over:?}");

    // A vault with its own prefix is another deployment: its counts start afresh.
    let other = TestVault::start_with_redis(&s.indexer, limits, &redis, &fresh_prefix()).await;
    assert_eq!(call(&other, "GET", "/v1/auth/nonce", None, None).await.status, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_is_shared_across_replicas() {
    let redis = redis_url().await;
    let s = setup().await;
    let prefix = fresh_prefix();
    let limits = LimitSettings { lockout_after: 2, ..Default::default() };
    let a = TestVault::start_with_redis(&s.indexer, limits, &redis, &prefix).await;
    let b = TestVault::start_with_redis(&s.indexer, limits, &redis, &prefix).await;
    let (alice, bob, id) = (s.chain.keys[1].clone(), s.chain.keys[2].clone(), s.chain.chain_id());
    let forger = PrivateKeySigner::random();

    // One forged login for alice on each replica: two failures, so locked out on both.
    for replica in [&a, &b] {
        let forged = login(replica, &login_body(replica, id, &alice, &forger).await).await;
        assert_eq!((forged.status, forged.code()), (401, "bad_signature"), "{forged:?}");
    }
    for replica in [&a, &b] {
        let locked = login(replica, &login_body(replica, id, &alice, &alice).await).await;
        assert_eq!((locked.status, locked.code()), (429, "locked_out"), "even with a good signature: {locked:?}");
        let wait = locked.retry_after.expect("Retry-After");
        assert!((800..=900).contains(&wait), "locked for 15 minutes: {wait}");
    }
    // Bob, from the same client, is not affected; and his success clears nothing of alice's.
    assert_eq!(login(&b, &login_body(&a, id, &bob, &bob).await).await.status, 200);
    assert_eq!(login(&a, &login_body(&b, id, &alice, &alice).await).await.code(), "locked_out");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_fails_closed() {
    let redis = redis_url().await;
    let s = setup().await;
    let healthy = TestVault::start_with_redis(&s.indexer, LimitSettings::default(), &redis, &fresh_prefix()).await;
    let (alice, id) = (s.chain.keys[1].clone(), s.chain.chain_id());
    let token = healthy.login(&alice, id).await;
    let body = login_body(&healthy, id, &alice, &alice).await;

    // Nothing listens on port 1: the vault starts (Redis may come up later) but refuses.
    let dead = TestVault::start_with_redis(&s.indexer, LimitSettings::default(), "redis://127.0.0.1:1/", "x").await;
    let started = Instant::now();
    let nonce = call(&dead, "GET", "/v1/auth/nonce", None, None).await;
    assert_eq!((nonce.status, nonce.code()), (503, "limits_unavailable"), "{nonce:?}");
    let refused = login(&dead, &body).await;
    assert_eq!((refused.status, refused.code()), (503, "limits_unavailable"), "{refused:?}");
    let path = "/v1/records/00112233445566778899aabbccddeeff/key";
    let release = call(&dead, "GET", path, Some(&token), None).await;
    assert_eq!((release.status, release.code()), (503, "limits_unavailable"), "{release:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "refused promptly: {:?}", started.elapsed());

    // The nonce the refused login carried was not spent: the healthy replica still takes it.
    assert_eq!(login(&healthy, &body).await.status, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_mid_run_fails_closed_then_recovers() {
    let redis = redis_url().await;
    let s = setup().await;
    let upstream = redis.trim_start_matches("redis://").trim_end_matches('/').parse().expect("host:port Redis URL");
    let proxy = FaultyProxy::start(upstream).await;
    let through_proxy = format!("redis://{}/", proxy.url.trim_start_matches("http://"));
    let vault =
        TestVault::start_with_redis(&s.indexer, LimitSettings::default(), &through_proxy, &fresh_prefix()).await;
    let nonce = || call(&vault, "GET", "/v1/auth/nonce", None, None);
    assert_eq!(nonce().await.status, 200);

    for fault in [Mode::Drop, Mode::Hang] {
        proxy.set(fault);
        let started = Instant::now();
        let refused = nonce().await;
        assert_eq!((refused.status, refused.code()), (503, "limits_unavailable"), "{fault:?}: {refused:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "{fault:?}: refused promptly: {:?}", started.elapsed());

        proxy.set(Mode::Pass);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let answer = nonce().await;
            if answer.status == 200 {
                break;
            }
            assert_eq!(answer.code(), "limits_unavailable", "{answer:?}");
            assert!(Instant::now() < deadline, "{fault:?}: the vault reconnects once Redis is back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    s.stop().await;
}

/// The GCRA in Redis gives the same answers as governor's in memory: a full burst, then one cell
/// per interval, with the wait until the next one; several buckets are taken all or none.
#[tokio::test]
async fn buckets_in_redis_follow_the_quota_and_are_taken_all_or_none() {
    let store = RedisStore::connect(&redis_url().await, &fresh_prefix()).unwrap();
    let three = Bucket::per_minute("three".into(), 3);
    for _ in 0..3 {
        assert_eq!(store.take_cells(std::slice::from_ref(&three)).await.unwrap(), None);
    }
    let wait = store.take_cells(std::slice::from_ref(&three)).await.unwrap().expect("a burst of 3");
    assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20), "one every 20 s: {wait:?}");

    let (one, five) = (Bucket::per_minute("one".into(), 1), Bucket::per_minute("five".into(), 5));
    assert_eq!(store.take_cells(&[one.clone(), five.clone()]).await.unwrap(), None);
    assert!(store.take_cells(&[one.clone(), five.clone()]).await.unwrap().is_some(), "`one` is empty");
    for taken in 0..4 {
        assert_eq!(
            store.take_cells(std::slice::from_ref(&five)).await.unwrap(),
            None,
            "refused calls took none: {taken}"
        );
    }
    assert!(store.take_cells(std::slice::from_ref(&five)).await.unwrap().is_some());

    // Several cells at once (a batch of key releases counts its records), all or none.
    let ten = Bucket::per_minute("ten".into(), 10);
    assert_eq!(store.take_n_cells(std::slice::from_ref(&ten), 7).await.unwrap(), None);
    let wait = store.take_n_cells(std::slice::from_ref(&ten), 4).await.unwrap().expect("only 3 left");
    assert!(wait > Duration::from_secs(5) && wait <= Duration::from_secs(6), "one more cell in 6 s: {wait:?}");
    assert_eq!(store.take_n_cells(std::slice::from_ref(&ten), 3).await.unwrap(), None, "the refusal took none");
}

/// Lockouts and counting windows expire on Redis's clock.
#[tokio::test]
async fn failures_and_locks_expire_in_redis() {
    let store = RedisStore::connect(&redis_url().await, &fresh_prefix()).unwrap();
    let (window, lock_for) = (Duration::from_millis(300), Duration::from_millis(400));
    assert!(!store.count_failure("f", "l", window, 2, lock_for).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!store.count_failure("f", "l", window, 2, lock_for).await.unwrap(), "the first failure's window closed");
    assert!(store.count_failure("f", "l", window, 2, lock_for).await.unwrap(), "two within the window lock");
    let left = store.remaining("l").await.unwrap().expect("locked");
    assert!(left <= lock_for, "{left:?}");
    tokio::time::sleep(lock_for + Duration::from_millis(100)).await;
    assert_eq!(store.remaining("l").await.unwrap(), None, "the lock expired");
    assert!(!store.count_failure("f", "l", window, 2, lock_for).await.unwrap(), "counting starts afresh");
}

/// A nonce kept in Redis expires with its TTL, like one in the database.
#[tokio::test]
async fn nonces_in_redis_expire() {
    let store = RedisStore::connect(&redis_url().await, &fresh_prefix()).unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let mirror = medkey_indexer::Store::connect(&db.url).await.unwrap();
    let pool = medkey_vault::db::migrate(&mirror).await.unwrap();
    let config = IdentityConfig {
        domain: "vault.medkey.test".into(),
        origin: "https://vault.medkey.test".into(),
        chain_id: 31337,
        jwt_secret: Zeroizing::new(b"an HMAC key of at least 32 bytes, for tests only".to_vec()),
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(86_400),
        require_provider_mfa: false,
        nonce_ttl: Duration::from_millis(300),
    };
    let identity = Identity::new(pool, config).unwrap().with_redis(store);
    let alice = PrivateKeySigner::random();
    let signed = |nonce: &str| {
        let message = siwe_message(alice.address(), 31337, nonce);
        let signature = alice.sign_message_sync(message.as_bytes()).unwrap().as_bytes().to_vec();
        (message, signature)
    };
    let (message, signature) = signed(&identity.issue_nonce(now_ms()).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let stale = identity.login(&message, &signature, None, now_ms()).await;
    assert!(matches!(stale, Err(LoginError::NonceRejected)), "{stale:?}");
    let (message, signature) = signed(&identity.issue_nonce(now_ms()).await.unwrap());
    assert!(identity.login(&message, &signature, None, now_ms()).await.is_ok());
    mirror.close().await;
    db.cleanup().await;
}

/// In Redis as in memory, a batch takes a cell per record (all or none, across replicas), and a
/// provider's new patients an hour are counted once each.
#[tokio::test]
async fn batches_count_records_and_new_patients_in_redis() {
    use medkey_vault::limits::{LimitError, Limits};
    let store = RedisStore::connect(&redis_url().await, &fresh_prefix()).unwrap();
    let settings = LimitSettings {
        release_per_address_per_minute: 100,
        release_per_ip_per_minute: 1_000,
        patients_per_address_per_hour: 2,
        ..Default::default()
    };
    let (one, other) = (Limits::new(settings).with_redis(store.clone()), Limits::new(settings).with_redis(store));
    let provider = alloy::primitives::Address::repeat_byte(0x11);
    let ip = std::net::IpAddr::from([10, 0, 0, 1]);
    one.release_attempts(provider, ip, 60).await.unwrap();
    assert!(matches!(other.release_attempts(provider, ip, 60).await, Err(LimitError::Throttled(_))), "shared");
    other.release_attempts(provider, ip, 40).await.unwrap();
    assert!(matches!(
        one.release_attempts(provider, ip, 101).await,
        Err(LimitError::TooMany { records: 101, allowed: 100 })
    ));

    let patient = |b: u8| alloy::primitives::Address::repeat_byte(b);
    one.patient_opened(provider, patient(1)).await.unwrap();
    other.patient_opened(provider, patient(1)).await.unwrap();
    other.patient_opened(provider, patient(2)).await.unwrap();
    assert!(matches!(one.patient_opened(provider, patient(3)).await, Err(LimitError::Throttled(_))));
    assert!(matches!(one.patient_opened(provider, patient(3)).await, Err(LimitError::Throttled(_))), "still new");
    one.patient_opened(provider, patient(2)).await.unwrap();
}
