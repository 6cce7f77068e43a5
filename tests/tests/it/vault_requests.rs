//! Access requests end to end, on a real chain: a provider asks, the patient sees the request,
//! makes the grant with their own wallet on chain and approves with its id; every grant that
//! does not answer the request (another provider's, a revoked one, a narrower one, an unknown
//! one) is refused with its own code; declines; who may ask and who may answer; bad input; expiry
//! after 30 days; and every change in the audit log.

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::vault::TestVault;
use medkey_protocol::{Category, Purpose};
use medkey_vault::access_requests::{AccessRequests, NewRequest, PENDING_FOR_MS};
use serde_json::{Value, json};

const NOTE: &str = "Follow-up on your March lab results, Dr. Lee";

struct World {
    chain: TestChain,
    db: TestDb,
    indexer: RunningIndexer,
    vault: TestVault,
    alice: PrivateKeySigner,
    bob: PrivateKeySigner,
    lab: PrivateKeySigner,
    clinic: PrivateKeySigner,
    stranger: PrivateKeySigner,
}

impl World {
    /// Alice and Bob are patients; the lab and the clinic registered providers; the stranger is
    /// not registered.
    async fn start(backend: Backend) -> Self {
        let chain = TestChain::start().await;
        let db = TestDb::new(backend).await;
        let keys = chain.keys.clone();
        let (alice, bob, lab, clinic, stranger) =
            (keys[1].clone(), keys[2].clone(), keys[3].clone(), keys[4].clone(), keys[5].clone());
        chain.register_provider(lab.address()).await;
        chain.register_provider(clinic.address()).await;
        let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
        indexer.wait_for_block(chain.head().await).await;
        let vault = TestVault::start(&indexer).await;
        Self { chain, db, indexer, vault, alice, bob, lab, clinic, stranger }
    }

    async fn login(&self, who: &PrivateKeySigner) -> String {
        self.vault.login(who, self.chain.chain_id()).await
    }

    /// A grant made by `patient`'s own wallet, once the mirror has it.
    async fn grant(&self, patient: Address, provider: Address, categories: &[Category]) -> B256 {
        let mut request = self.chain.request(provider, categories).await;
        request.recordsRoot = B256::ZERO;
        let id = self.chain.grant(patient, request).await;
        self.synced().await;
        id
    }

    async fn synced(&self) {
        let head = self.chain.head().await;
        self.indexer.wait_for_block(head).await;
        self.vault.wait_for_mirror_head(head).await;
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.vault.call(method, path, Some(token), body).await
    }

    async fn request_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM access_requests").fetch_one(self.indexer.store.pool()).await.unwrap()
    }
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

fn ask(patient: Address) -> Value {
    json!({"patient": patient, "categories": ["lab_results", "prescriptions"], "purpose": "TREAT",
        "duration_secs": 30 * 86_400, "note": NOTE})
}

async fn a_request_is_answered_with_the_patients_own_grant(backend: Backend) {
    let w = World::start(backend).await;
    let (alice, lab, clinic) = (w.alice.address(), w.lab.address(), w.clinic.address());
    let (alice_token, bob_token, lab_token) = (w.login(&w.alice).await, w.login(&w.bob).await, w.login(&w.lab).await);

    // The lab asks; a second request to the same patient waits for the first.
    let (status, request) = w.call("POST", "/v1/access-requests", &lab_token, Some(ask(alice))).await;
    assert_eq!(status, 201, "{request}");
    assert_eq!(request["status"], "pending");
    assert_eq!(request["categories"], json!(["lab_results", "prescriptions"]));
    assert_eq!((request["purpose"].as_str(), request["duration_secs"].as_u64()), (Some("TREAT"), Some(2_592_000)));
    assert_eq!(request["patient"].as_str().unwrap().parse::<Address>().unwrap(), alice);
    assert_eq!(request["provider"].as_str().unwrap().parse::<Address>().unwrap(), lab);
    assert!(request["grant_id"].is_null() && request["decided_at"].is_null(), "{request}");
    assert_eq!(request["write"], false, "read only unless asked: {request}");
    let id = request["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    let (status, body) = w.call("POST", "/v1/access-requests", &lab_token, Some(ask(alice))).await;
    assert_eq!((status, code(&body)), (409, Some("request_pending")), "{body}");

    // The patient sees it with the note, the provider sees what it sent, nobody else sees it.
    let (status, listed) = w.call("GET", "/v1/access-requests", &alice_token, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!((listed[0]["id"].as_str(), listed[0]["note"].as_str()), (Some(id.as_str()), Some(NOTE)));
    let (_, pending) = w.call("GET", "/v1/access-requests?status=pending", &alice_token, None).await;
    assert_eq!(pending.as_array().unwrap().len(), 1);
    let (_, approved) = w.call("GET", "/v1/access-requests?status=approved", &alice_token, None).await;
    assert_eq!(approved, json!([]));
    let (_, sent) = w.call("GET", "/v1/access-requests", &lab_token, None).await;
    assert_eq!(sent[0]["id"].as_str(), Some(id.as_str()));
    let (_, none) = w.call("GET", "/v1/access-requests", &bob_token, None).await;
    assert_eq!(none, json!([]));

    // Only the patient answers: the provider is told so, anyone else learns nothing.
    let approve = format!("/v1/access-requests/{id}/approve");
    let any_grant = json!({"grant_id": B256::repeat_byte(7)});
    let (status, body) = w.call("POST", &approve, &lab_token, Some(any_grant.clone())).await;
    assert_eq!((status, code(&body)), (403, Some("not_the_patient")));
    let (status, body) = w.call("POST", &approve, &bob_token, Some(any_grant.clone())).await;
    assert_eq!((status, code(&body)), (404, Some("not_found")));

    // Grants that do not answer the request are refused, each precisely.
    let (status, body) = w.call("POST", &approve, &alice_token, Some(json!({"grant_id": "0x1234"}))).await;
    assert_eq!((status, code(&body)), (400, Some("invalid_grant_id")));
    let (status, body) = w.call("POST", &approve, &alice_token, Some(any_grant)).await;
    assert_eq!((status, code(&body)), (409, Some("grant_not_found")), "{body}");
    let to_clinic = w.grant(alice, clinic, &[Category::LabResults, Category::Prescriptions]).await;
    let (status, body) = w.call("POST", &approve, &alice_token, Some(json!({"grant_id": to_clinic}))).await;
    assert_eq!((status, code(&body)), (409, Some("grant_wrong_parties")), "{body}");
    let narrow = w.grant(alice, lab, &[Category::LabResults]).await;
    let (status, body) = w.call("POST", &approve, &alice_token, Some(json!({"grant_id": narrow}))).await;
    assert_eq!((status, code(&body)), (409, Some("grant_insufficient")), "{body}");
    let revoked = w.grant(alice, lab, &[Category::LabResults, Category::Prescriptions]).await;
    w.chain.revoke(alice, revoked).await;
    w.synced().await;
    let (status, body) = w.call("POST", &approve, &alice_token, Some(json!({"grant_id": revoked}))).await;
    assert_eq!((status, code(&body)), (409, Some("grant_revoked")), "{body}");
    // Bob's grant to the lab is not Alice's answer either.
    let bobs = w.grant(w.bob.address(), lab, &[Category::LabResults, Category::Prescriptions]).await;
    let (status, body) = w.call("POST", &approve, &alice_token, Some(json!({"grant_id": bobs}))).await;
    assert_eq!((status, code(&body)), (409, Some("grant_wrong_parties")), "{body}");
    assert_eq!(
        w.call("GET", "/v1/access-requests?status=pending", &alice_token, None).await.1.as_array().unwrap().len(),
        1
    );

    // The patient's own live grant to the lab, covering everything asked (and more), answers it.
    let grant_id = w.grant(alice, lab, &[Category::LabResults, Category::Prescriptions, Category::Allergies]).await;
    let (status, done) = w.call("POST", &approve, &alice_token, Some(json!({"grant_id": grant_id}))).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "approved");
    assert_eq!(done["grant_id"].as_str().unwrap().parse::<B256>().unwrap(), grant_id);
    assert!(done["decided_at"].is_string(), "{done}");
    let (_, sent) = w.call("GET", "/v1/access-requests?status=approved", &lab_token, None).await;
    assert_eq!(sent[0]["grant_id"].as_str().unwrap().parse::<B256>().unwrap(), grant_id);

    // Answered once: approving again or declining now conflicts; a new request may be made.
    let (status, body) = w.call("POST", &approve, &alice_token, Some(json!({"grant_id": grant_id}))).await;
    assert_eq!((status, code(&body)), (409, Some("request_not_pending")));
    let (status, body) = w.call("POST", &format!("/v1/access-requests/{id}/decline"), &alice_token, None).await;
    assert_eq!((status, code(&body)), (409, Some("request_not_pending")));
    assert_eq!(w.call("POST", "/v1/access-requests", &lab_token, Some(ask(alice))).await.0, 201);

    // Every change is in the audit log, visible to both parties.
    let log = w.vault.state.audit.for_patient(alice).await.unwrap();
    let requested: Vec<_> = log.iter().filter(|e| e.kind == "access_requested").collect();
    assert_eq!(requested.len(), 2, "{log:?}");
    assert_eq!((requested[0].actor, requested[0].purpose), (lab, Some(Purpose::Treat.index())));
    let approved: Vec<_> = log.iter().filter(|e| e.kind == "access_approved").collect();
    assert_eq!(approved.len(), 1, "{log:?}");
    assert_eq!((approved[0].actor, approved[0].grant_id, approved[0].outcome.as_str()), (alice, Some(grant_id), "ok"));
    let (status, entries) = w.call("GET", "/v1/audit/entries", &lab_token, None).await;
    assert_eq!(status, 200, "{entries}");
    assert!(entries.to_string().contains("access_requested"), "{entries}");
    w.db.cleanup().await;
}
on_both_backends!(a_request_is_answered_with_the_patients_own_grant);

async fn declines_refusals_and_bad_input(backend: Backend) {
    let w = World::start(backend).await;
    let (alice, bob) = (w.alice.address(), w.bob.address());
    let (alice_token, bob_token) = (w.login(&w.alice).await, w.login(&w.bob).await);
    let (clinic_token, stranger_token) = (w.login(&w.clinic).await, w.login(&w.stranger).await);

    // The clinic asks Bob; Bob declines; the clinic may then ask again.
    let (status, request) = w.call("POST", "/v1/access-requests", &clinic_token, Some(ask(bob))).await;
    assert_eq!(status, 201, "{request}");
    let decline = format!("/v1/access-requests/{}/decline", request["id"].as_str().unwrap());
    let (status, body) = w.call("POST", &decline, &clinic_token, None).await;
    assert_eq!((status, code(&body)), (403, Some("not_the_patient")));
    let (status, body) = w.call("POST", &decline, &alice_token, None).await;
    assert_eq!((status, code(&body)), (404, Some("not_found")));
    let (status, declined) = w.call("POST", &decline, &bob_token, None).await;
    assert_eq!(status, 200, "{declined}");
    assert_eq!(declined["status"], "declined");
    let (status, body) = w.call("POST", &decline, &bob_token, None).await;
    assert_eq!((status, code(&body)), (409, Some("request_not_pending")));
    let (_, listed) = w.call("GET", "/v1/access-requests?status=declined", &bob_token, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(w.call("POST", "/v1/access-requests", &clinic_token, Some(ask(bob))).await.0, 201);
    let log = w.vault.state.audit.for_patient(bob).await.unwrap();
    let declines: Vec<_> = log.iter().filter(|e| e.kind == "access_declined").collect();
    assert_eq!(declines.len(), 1, "{log:?}");
    assert_eq!(declines[0].actor, bob);

    // Only a registered, active provider may ask.
    let rows = w.request_rows().await;
    let (status, body) = w.call("POST", "/v1/access-requests", &stranger_token, Some(ask(alice))).await;
    assert_eq!((status, code(&body)), (403, Some("provider_not_registered")));
    let (status, body) = w.call("POST", "/v1/access-requests", &bob_token, Some(ask(alice))).await;
    assert_eq!((status, code(&body)), (403, Some("provider_not_registered")));
    mined(
        w.chain
            .registry()
            .suspendProvider(w.lab.address(), medkey_e2e::chain::REASON_HASH)
            .from(w.chain.admin())
            .send()
            .await,
    )
    .await;
    w.synced().await;
    let lab_token = w.login(&w.lab).await;
    let (status, body) = w.call("POST", "/v1/access-requests", &lab_token, Some(ask(alice))).await;
    assert_eq!((status, code(&body)), (403, Some("provider_suspended")));
    let (status, body) = w.vault.call("POST", "/v1/access-requests", None, Some(ask(alice))).await;
    assert_eq!((status, code(&body)), (401, Some("missing_token")));

    // Bad input, each with its code, and nothing stored.
    let with = |field: &str, value: Value| {
        let mut body = ask(alice);
        body[field] = value;
        body
    };
    let cases = [
        (with("patient", json!("0x1234")), "invalid_address"),
        (with("patient", json!(w.clinic.address())), "invalid_request"),
        (with("categories", json!([])), "invalid_request"),
        (with("categories", json!(["lab_results", "horoscopes"])), "invalid_category"),
        (with("purpose", json!("SELL")), "invalid_purpose"),
        (with("duration_secs", json!(3_599)), "invalid_duration"),
        (with("duration_secs", json!(365 * 86_400 + 1)), "invalid_duration"),
        (with("duration_secs", json!(-3_600)), "invalid_duration"),
        (with("duration_secs", json!(3_600.5)), "invalid_duration"),
        (with("duration_secs", json!("1h")), "invalid_duration"),
        (with("note", json!("x".repeat(501))), "invalid_note"),
        (with("note", json!("line one\nline two")), "invalid_note"),
        (with("note", json!("escape \u{1b}[31m")), "invalid_note"),
        (with("grant", json!(true)), "invalid_body"),
        (with("write", json!("yes")), "invalid_body"),
        (json!({"patient": alice}), "invalid_body"),
    ];
    for (body, expected) in cases {
        let (status, answer) = w.call("POST", "/v1/access-requests", &clinic_token, Some(body.clone())).await;
        assert_eq!((status, code(&answer)), (400, Some(expected)), "{body}: {answer}");
    }
    let (status, body) =
        w.vault.raw("POST", "/v1/access-requests", &clinic_token, "application/json", b"{".to_vec()).await;
    assert_eq!((status, code(&body)), (400, Some("malformed_json")));
    let (status, body) = w.vault.raw("POST", "/v1/access-requests", &clinic_token, "text/plain", b"{}".to_vec()).await;
    assert_eq!((status, code(&body)), (415, Some("unsupported_media_type")));
    assert_eq!(w.request_rows().await, rows, "no bad request was stored");
    // Exactly at the limits is fine (and 500 characters of any script).
    let edge = json!({"patient": alice, "categories": ["genetics"], "purpose": "hresch", "duration_secs": 3_600,
        "note": "é".repeat(500), "write": true});
    let (status, body) = w.call("POST", "/v1/access-requests", &clinic_token, Some(edge)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!((body["purpose"].as_str(), body["categories"].clone()), (Some("HRESCH"), json!(["genetics"])));
    // Asking to add records too is kept, and the patient reads it in her list.
    assert_eq!(body["write"], true, "{body}");
    let (_, listed) = w.call("GET", "/v1/access-requests?status=pending", &alice_token, None).await;
    assert!(listed.as_array().unwrap().iter().any(|r| r["id"] == body["id"] && r["write"] == true), "{listed}");

    let (status, body) = w.call("GET", "/v1/access-requests?status=maybe", &alice_token, None).await;
    assert_eq!((status, code(&body)), (400, Some("invalid_status")));
    let (status, body) = w.call("GET", "/v1/access-requests?owner=me", &alice_token, None).await;
    assert_eq!((status, code(&body)), (400, Some("invalid_query")));
    for bad in ["xyz", "00112233445566778899aabbccddeefg", "0011", "00112233-4455-6677-8899-aabbccddeeff"] {
        let (status, body) = w.call("POST", &format!("/v1/access-requests/{bad}/decline"), &alice_token, None).await;
        assert_eq!((status, code(&body)), (400, Some("invalid_request_id")), "{bad}");
    }
    let unknown = "/v1/access-requests/00112233445566778899aabbccddeeff/approve";
    let (status, body) = w.call("POST", unknown, &alice_token, Some(json!({"grant_id": B256::ZERO}))).await;
    assert_eq!((status, code(&body)), (404, Some("not_found")));
    w.db.cleanup().await;
}
on_both_backends!(declines_refusals_and_bad_input);

async fn unanswered_requests_expire_after_thirty_days(backend: Backend) {
    let w = World::start(backend).await;
    let (alice, lab) = (w.alice.address(), w.lab.address());
    let (alice_token, lab_token) = (w.login(&w.alice).await, w.login(&w.lab).await);
    // Made 30 days and a minute ago, straight into the store.
    let store = AccessRequests::new(w.indexer.store.pool().clone());
    let now = medkey_protocol::clock::now_ms();
    let old = NewRequest {
        id: [0xAB; 16],
        provider: lab,
        patient: alice,
        categories: Category::mask([Category::Vitals]),
        purpose: Purpose::Treat.index(),
        duration_secs: 86_400,
        write: false,
        note: None,
    };
    store.create(&old, now - PENDING_FOR_MS - 60_000, None).await.unwrap();

    let (_, listed) = w.call("GET", "/v1/access-requests", &alice_token, None).await;
    assert_eq!(listed[0]["status"], "expired", "{listed}");
    assert_eq!(w.call("GET", "/v1/access-requests?status=pending", &alice_token, None).await.1, json!([]));
    let path = format!("/v1/access-requests/{}/approve", alloy::hex::encode([0xAB; 16]));
    let grant_id = w.grant(alice, lab, &[Category::Vitals]).await;
    let (status, body) = w.call("POST", &path, &alice_token, Some(json!({"grant_id": grant_id}))).await;
    assert_eq!((status, code(&body)), (409, Some("request_expired")), "{body}");
    // An expired request does not block a new one.
    assert_eq!(w.call("POST", "/v1/access-requests", &lab_token, Some(ask(alice))).await.0, 201);
    w.db.cleanup().await;
}
on_both_backends!(unanswered_requests_expire_after_thirty_days);

/// The new operations are in the OpenAPI document under the `requests` tag, secured, with every
/// code they give documented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_requests_are_documented() {
    let w = World::start(Backend::Sqlite).await;
    let (_, doc) = w.vault.call("GET", "/openapi.json", None, None).await;
    let tags: Vec<&str> = doc["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(tags.contains(&"requests"), "{tags:?}");
    for (path, method, codes) in [
        ("/v1/access-requests", "post", &["request_pending", "provider_not_registered", "invalid_note"][..]),
        ("/v1/access-requests", "get", &["invalid_status"][..]),
        ("/v1/access-requests/{id}/approve", "post", &["grant_wrong_parties", "grant_revoked", "not_the_patient"][..]),
        ("/v1/access-requests/{id}/decline", "post", &["request_not_pending", "not_the_patient"][..]),
    ] {
        let operation = &doc["paths"][path][method];
        assert_eq!(operation["tags"], json!(["requests"]), "{method} {path}");
        assert_eq!(operation["security"], json!([{"bearer": []}]), "{method} {path}");
        let text = operation["responses"].to_string();
        for code in codes.iter().chain(&["missing_token"]) {
            assert!(text.contains(code), "{method} {path} does not document {code}");
        }
    }
    w.db.cleanup().await;
}
