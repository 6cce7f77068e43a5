//! Signed webhook notifications, against a local receiver that records every attempt and can be
//! told to fail: signatures check out (with the vault's helper and recomputed here), a receiver
//! failing twice gets the delivery on the third attempt, one that always fails ends in the dead
//! letters, a stored delivery survives a restart, grants, emergency access and revocations on
//! chain are announced, and no payload carries a note or any record content.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::sealed::{encryption_secret, upload};
use medkey_e2e::vault::TestVault;
use medkey_protocol::Category;
use medkey_vault::limits::LimitSettings;
use medkey_vault::notify::{self, NotifierConfig, verify_signature};
use serde_json::{Value, json};

const SECRET: &[u8] = b"webhook secret for tests, 32+ bytes long";
const NOTE: &str = "NOTE-FROM-THE-PROVIDER: please share your results";

/// One attempt the receiver saw.
#[derive(Clone, Debug)]
struct Attempt {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: Vec<u8>,
    /// What the receiver answered.
    accepted: bool,
}

impl Attempt {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inbox {
    attempts: Vec<Attempt>,
    /// Fail this many more attempts (500).
    fail_next: usize,
    fail_always: bool,
}

/// A webhook receiver on a free port.
struct Receiver {
    url: String,
    inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    async fn start() -> Self {
        async fn receive(State(inbox): State<Arc<Mutex<Inbox>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
            let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            let mut inbox = inbox.lock().unwrap();
            let fail = inbox.fail_always || inbox.fail_next > 0;
            inbox.fail_next = inbox.fail_next.saturating_sub(1);
            inbox.attempts.push(Attempt {
                id: header("medkey-webhook-id"),
                timestamp: header("medkey-webhook-timestamp"),
                signature: header("medkey-signature"),
                content_type: header("content-type"),
                body: body.to_vec(),
                accepted: !fail,
            });
            if fail { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::NO_CONTENT }
        }
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/medkey", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/hooks/medkey", axum::routing::post(receive)).with_state(inbox.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, inbox }
    }

    fn attempts(&self) -> Vec<Attempt> {
        self.inbox.lock().unwrap().attempts.clone()
    }

    fn attempts_of(&self, id: &str) -> Vec<Attempt> {
        self.attempts().into_iter().filter(|a| a.id == id).collect()
    }

    /// Accepted deliveries of `kind`, by payload.
    fn delivered(&self, kind: &str) -> Vec<Value> {
        self.attempts().iter().filter(|a| a.accepted).map(Attempt::json).filter(|p| p["type"] == kind).collect()
    }

    /// Waits (up to 20 s) for an accepted delivery of `kind` that `matches`.
    async fn wait_for(&self, kind: &str, matches: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..2_000 {
            if let Some(found) = self.delivered(kind).into_iter().find(&matches) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no {kind} delivery arrived; attempts: {:?}", self.attempts());
    }

    fn set(&self, fail_next: usize, fail_always: bool) {
        let mut inbox = self.inbox.lock().unwrap();
        (inbox.fail_next, inbox.fail_always) = (fail_next, fail_always);
    }
}

/// Quick retries for tests: 50 ms doubling to at most 200 ms, polled every 20 ms.
fn config(receiver: &Receiver, max_attempts: u32) -> NotifierConfig {
    let mut config = NotifierConfig::new(&receiver.url, SECRET).unwrap();
    config.max_attempts = max_attempts;
    config.first_retry = Duration::from_millis(50);
    config.max_backoff = Duration::from_millis(200);
    config.attempt_timeout = Duration::from_secs(2);
    config.poll = Duration::from_millis(20);
    config
}

/// The signature recomputed here, independently of the vault's code.
fn recomputed(attempt: &Attempt) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(format!("{}.{}.", attempt.id, attempt.timestamp).as_bytes());
    mac.update(&attempt.body);
    format!("v1={}", alloy::hex::encode(mac.finalize().into_bytes()))
}

fn check_signed(attempt: &Attempt) {
    assert_eq!(attempt.signature, recomputed(attempt), "{attempt:?}");
    assert!(verify_signature(SECRET, &attempt.id, &attempt.timestamp, &attempt.body, &attempt.signature));
    assert!(!verify_signature(
        b"some other secret, also 32 bytes long",
        &attempt.id,
        &attempt.timestamp,
        &attempt.body,
        &attempt.signature
    ));
    let mut tampered = attempt.body.clone();
    tampered.push(b' ');
    assert!(!verify_signature(SECRET, &attempt.id, &attempt.timestamp, &tampered, &attempt.signature));
    assert_eq!(attempt.content_type, "application/json");
    let sent_at: u64 = attempt.timestamp.parse().unwrap();
    let now = medkey_protocol::clock::now_ms() / 1_000;
    assert!(sent_at <= now && now - sent_at < 120, "timestamp {sent_at} vs now {now}");
    assert_eq!(attempt.json()["id"].as_str(), Some(attempt.id.as_str()), "the header names the payload");
}

/// The delivery `id` once the vault has recorded how its last attempt went (the receiver may
/// see an attempt a moment before the vault writes it down).
async fn settled(indexer: &RunningIndexer, id: &str) -> notify::Delivery {
    for _ in 0..2_000 {
        let delivery = notify::delivery(indexer.store.pool(), id).await.unwrap().expect("stored");
        if delivery.status != "pending" {
            return delivery;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("delivery {id} never settled");
}

fn address(value: &Value) -> Address {
    value.as_str().unwrap().parse().unwrap()
}

struct World {
    chain: TestChain,
    db: TestDb,
    indexer: RunningIndexer,
    alice: PrivateKeySigner,
    bob: PrivateKeySigner,
    lab: PrivateKeySigner,
    clinic: PrivateKeySigner,
}

impl World {
    async fn start(backend: Backend) -> Self {
        let chain = TestChain::start().await;
        let db = TestDb::new(backend).await;
        let keys = chain.keys.clone();
        let (alice, bob, lab, clinic) = (keys[1].clone(), keys[2].clone(), keys[3].clone(), keys[4].clone());
        chain.register_provider(lab.address()).await;
        chain.register_provider(clinic.address()).await;
        let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
        indexer.wait_for_block(chain.head().await).await;
        Self { chain, db, indexer, alice, bob, lab, clinic }
    }

    async fn vault(&self, config: NotifierConfig) -> TestVault {
        let state = TestVault::state(&self.indexer, LimitSettings::default(), false).await;
        TestVault::serve(state.with_notifier(config).await.unwrap()).await
    }

    async fn ask(&self, vault: &TestVault, provider: &PrivateKeySigner, patient: Address) -> Value {
        let token = vault.login(provider, self.chain.chain_id()).await;
        let body = json!({"patient": patient, "categories": ["lab_results", "allergies"], "purpose": "TREAT",
            "duration_secs": 86_400, "note": NOTE});
        let (status, request) = vault.call("POST", "/v1/access-requests", Some(&token), Some(body)).await;
        assert_eq!(status, 201, "{request}");
        request
    }

    async fn synced(&self) {
        self.indexer.wait_for_block(self.chain.head().await).await;
    }
}

async fn deliveries_are_signed_retried_and_cover_every_event(backend: Backend) {
    let w = World::start(backend).await;
    let receiver = Receiver::start().await;
    let vault = w.vault(config(&receiver, 8)).await;
    let (alice, lab) = (w.alice.address(), w.lab.address());
    let id = w.chain.chain_id();

    // A record whose content must never reach a webhook.
    let alice_token = vault.login(&w.alice, id).await;
    let record = upload(alice, 0x5E, Category::LabResults, "Observation", &[(alice, &encryption_secret(0xA1))]);
    let ciphertext = record.body["ciphertext"].as_str().unwrap().to_owned();
    assert_eq!(vault.call("POST", "/v1/records", Some(&alice_token), Some(record.body)).await.0, 201);

    // The receiver fails twice: the third attempt delivers, same id and body each time.
    receiver.set(2, false);
    let request = w.ask(&vault, &w.lab, alice).await;
    let request_id = request["id"].as_str().unwrap().to_owned();
    let requested = receiver.wait_for("access_requested", |p| p["request_id"] == request_id.as_str()).await;
    let delivery_id = requested["id"].as_str().unwrap();
    let attempts = receiver.attempts_of(delivery_id);
    assert_eq!(attempts.iter().map(|a| a.accepted).collect::<Vec<_>>(), [false, false, true], "{attempts:?}");
    assert!(attempts.iter().all(|a| a.body == attempts[0].body), "the body is the same on every retry");
    attempts.iter().for_each(check_signed);
    assert_eq!((address(&requested["patient"]), address(&requested["provider"])), (alice, lab));
    assert_eq!(requested["categories"], json!(["lab_results", "allergies"]));
    assert!(requested["occurred_at"].as_str().unwrap().ends_with('Z'), "{requested}");
    assert!(requested.get("note").is_none() && requested.get("grant_id").is_none(), "{requested}");
    let stored = settled(&w.indexer, delivery_id).await;
    assert_eq!((stored.status.as_str(), stored.attempts, stored.last_error), ("delivered", 3, None));

    // The patient grants on chain (grant_created), approves (access_approved), revokes
    // (grant_revoked).
    let mut grant = w.chain.request(lab, &[Category::LabResults, Category::Allergies]).await;
    grant.recordsRoot = B256::ZERO;
    let grant_id = w.chain.grant(alice, grant).await;
    let created = receiver.wait_for("grant_created", |p| p["grant_id"] == json!(grant_id)).await;
    assert_eq!((address(&created["patient"]), address(&created["provider"])), (alice, lab));
    assert_eq!(created["categories"], json!(["lab_results", "allergies"]));
    assert!(created["block_number"].as_u64().unwrap() > 0, "{created}");
    w.synced().await;
    let approve = format!("/v1/access-requests/{request_id}/approve");
    let (status, body) = vault.call("POST", &approve, Some(&alice_token), Some(json!({"grant_id": grant_id}))).await;
    assert_eq!(status, 200, "{body}");
    let approved = receiver.wait_for("access_approved", |p| p["request_id"] == request_id.as_str()).await;
    assert_eq!(approved["grant_id"], json!(grant_id));
    w.chain.revoke(alice, grant_id).await;
    let revoked = receiver.wait_for("grant_revoked", |p| p["grant_id"] == json!(grant_id)).await;
    assert_eq!((address(&revoked["patient"]), address(&revoked["provider"])), (alice, lab));

    // Declines, and break-glass access by a provider to an opted-in patient.
    let bob = w.bob.address();
    let request = w.ask(&vault, &w.clinic, bob).await;
    let bob_token = vault.login(&w.bob, id).await;
    let decline = format!("/v1/access-requests/{}/decline", request["id"].as_str().unwrap());
    assert_eq!(vault.call("POST", &decline, Some(&bob_token), None).await.0, 200);
    let declined = receiver.wait_for("access_declined", |p| p["request_id"] == request["id"]).await;
    assert_eq!(address(&declined["provider"]), w.clinic.address());
    let registry = w.chain.registry();
    mined(registry.setEmergencyAccess(Category::mask([Category::Allergies])).from(bob).send().await).await;
    mined(registry.openEmergencyAccess(bob, B256::repeat_byte(0xEE)).from(w.clinic.address()).send().await).await;
    let emergency = receiver.wait_for("emergency_access", |p| address(&p["patient"]) == bob).await;
    assert_eq!(address(&emergency["provider"]), w.clinic.address());
    assert_eq!(emergency["categories"], json!(["allergies"]));
    assert!(receiver.delivered("grant_created").iter().all(|p| address(&p["patient"]) != bob), "not a grant");

    // A share link opened (its manifest answered), with the recipient's name kept out.
    let link = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [7u8; 32]);
    let jwe = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..cVdlcnR5dWlvcGFz.Y2lwaGVydGV4dA.dGFnLXRhZy10YWctdGFn";
    let body = json!({"id": link, "manifest_url": format!("{}/shl/{link}", vault.url), "label": "Dentist",
        "files": [{"content_type": "application/fhir+json", "jwe": jwe}]});
    assert_eq!(vault.call("POST", "/v1/share-links", Some(&alice_token), Some(body)).await.0, 201);
    let (status, _) =
        vault.call("POST", &format!("/shl/{link}"), None, Some(json!({"recipient": "RECIPIENT-NAME"}))).await;
    assert_eq!(status, 200);
    let opened = receiver.wait_for("share_link_opened", |p| address(&p["patient"]) == alice).await;
    assert_eq!((address(&opened["provider"]), opened["share_link"].as_str().map(str::len)), (Address::ZERO, Some(66)));

    // Every attempt is signed; no payload carries the note, a reason or any record content;
    // each event was delivered once.
    let all = receiver.attempts();
    all.iter().for_each(check_signed);
    let mut ids: Vec<&str> = all.iter().filter(|a| a.accepted).map(|a| a.id.as_str()).collect();
    let delivered = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), delivered, "an event delivered twice");
    for attempt in &all {
        let text = String::from_utf8(attempt.body.clone()).unwrap();
        for secret in [NOTE, "NOTE-FROM", "secret-94", &ciphertext[..24], "Observation", "eeeeeeee", "RECIPIENT", &link]
        {
            assert!(!text.contains(secret), "a webhook carries {secret:?}: {text}");
        }
        let payload = attempt.json();
        for field in payload.as_object().unwrap().keys() {
            let allowed = [
                "id",
                "type",
                "occurred_at",
                "patient",
                "provider",
                "grant_id",
                "request_id",
                "categories",
                "block_number",
                "share_link",
            ];
            assert!(allowed.contains(&field.as_str()), "unexpected field {field}");
        }
    }
    w.db.cleanup().await;
}
on_both_backends!(deliveries_are_signed_retried_and_cover_every_event);

async fn a_receiver_that_always_fails_ends_in_dead_letters(backend: Backend) {
    let w = World::start(backend).await;
    let receiver = Receiver::start().await;
    receiver.set(0, true);
    let vault = w.vault(config(&receiver, 3)).await;
    let notifier = vault.state.notifier.clone().expect("notifications are on");
    let request = w.ask(&vault, &w.lab, w.alice.address()).await;

    let mut dead = Vec::new();
    for _ in 0..2_000 {
        dead = notifier.dead_letters(10).await.unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(dead.len(), 1, "{:?}", receiver.attempts());
    let letter = &dead[0];
    assert_eq!((letter.event_type.as_str(), letter.status.as_str(), letter.attempts), ("access_requested", "dead", 3));
    assert_eq!(letter.last_error.as_deref(), Some("HTTP 500"));
    let payload: Value = serde_json::from_str(&letter.payload).unwrap();
    assert_eq!(payload["request_id"], request["id"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attempts = receiver.attempts_of(&letter.id);
    assert_eq!(attempts.len(), 3, "no attempt after the last: {attempts:?}");
    attempts.iter().for_each(check_signed);
    // The library function reads the same from the database alone.
    assert_eq!(notify::dead_letters(w.indexer.store.pool(), 10).await.unwrap(), dead);

    // Requeued once the receiver is back, it is delivered.
    receiver.set(0, false);
    assert!(notifier.requeue(&letter.id).await.unwrap());
    assert!(!notifier.requeue(&letter.id).await.unwrap(), "only a dead letter is requeued");
    receiver.wait_for("access_requested", |p| p["id"] == letter.id.as_str()).await;
    assert_eq!(notifier.dead_letters(10).await.unwrap(), []);
    w.db.cleanup().await;
}
on_both_backends!(a_receiver_that_always_fails_ends_in_dead_letters);

async fn a_stored_delivery_survives_a_restart(backend: Backend) {
    let w = World::start(backend).await;
    let receiver = Receiver::start().await;

    // The first vault stores the notification, then stops before sending anything.
    let first = w.vault(config(&receiver, 8)).await;
    first.state.notifier.as_ref().unwrap().shutdown().await;
    let request = w.ask(&first, &w.lab, w.alice.address()).await;
    let outbox = notify::deliveries(w.indexer.store.pool()).await.unwrap();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!((outbox[0].status.as_str(), outbox[0].attempts), ("pending", 0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(receiver.attempts().is_empty());

    // A new vault on the same database sends it, as stored.
    let second = w.vault(config(&receiver, 8)).await;
    let delivered = receiver.wait_for("access_requested", |p| p["request_id"] == request["id"]).await;
    assert_eq!(delivered["id"].as_str(), Some(outbox[0].id.as_str()));
    let attempt = &receiver.attempts_of(&outbox[0].id)[0];
    assert_eq!(attempt.body, outbox[0].payload.as_bytes());
    check_signed(attempt);
    let stored = settled(&w.indexer, &outbox[0].id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("delivered", 1));

    // Chain events are resumed, not replayed: a grant made while no notifier ran is announced
    // once, by the next one.
    second.state.notifier.as_ref().unwrap().shutdown().await;
    let mut grant = w.chain.request(w.lab.address(), &[Category::Vitals]).await;
    grant.recordsRoot = B256::ZERO;
    let grant_id = w.chain.grant(w.alice.address(), grant).await;
    w.synced().await;
    let _third = w.vault(config(&receiver, 8)).await;
    receiver.wait_for("grant_created", |p| p["grant_id"] == json!(grant_id)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.delivered("grant_created").len(), 1, "{:?}", receiver.attempts());
    assert_eq!(receiver.delivered("access_requested").len(), 1);
    w.db.cleanup().await;
}
on_both_backends!(a_stored_delivery_survives_a_restart);
