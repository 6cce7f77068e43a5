//! What a provider sync keeps in the vault, on both backends: her provider connections as sealed
//! blobs (kept, listed, replaced only at the revision named, deleted, each account's apart,
//! bounded, adding and removing logged) with nothing of them in the database in the clear, and
//! a record pulled again replacing its sealed origin with the new version.

use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::RunningIndexer;
use medkey_e2e::on_both_backends;
use medkey_e2e::sealed::{b64, encryption_secret, unb64, upload_as};
use medkey_e2e::vault::TestVault;
use medkey_indexer::Store;
use medkey_protocol::envelope::connection::ConnectionKey;
use medkey_protocol::envelope::{DataKey, record, wrap};
use medkey_protocol::{Category, RecordId};
use serde_json::{Value, json};
use sqlx::Row;

/// What her client seals: the provider, her id there and a refresh token none of which may reach
/// the vault's database in the clear.
const CONNECTION: &str = r#"{"id":"00112233445566778899aabbccddeeff","server":{"fhirBase":"https://fhir.stmarys-hospital.example/R4"},"patient":"erXuFYUfucBZaryVksYEcMg3","refreshToken":"rt-SECRET-7f3a9c"}"#;
const ID: &str = "00112233445566778899aabbccddeeff";

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

/// Rows of `provider_connections` and the audit log whose bytes contain `needle`.
async fn occurrences(store: &Store, needle: &[u8]) -> usize {
    let mut found = 0;
    for sql in ["SELECT sealed FROM provider_connections", "SELECT outcome FROM access_log"] {
        for row in sqlx::query(sql).fetch_all(store.pool()).await.unwrap() {
            let bytes: Vec<u8> =
                row.try_get::<Option<Vec<u8>>, _>(0).ok().flatten().unwrap_or_else(|| {
                    row.try_get::<Option<String>, _>(0).ok().flatten().unwrap_or_default().into_bytes()
                });
            found += usize::from(bytes.windows(needle.len()).any(|w| w == needle));
        }
    }
    found
}

async fn her_connections_are_sealed_blobs_replaced_by_revision(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, bob) = (chain.keys[1].clone(), chain.keys[2].clone());
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let vault = TestVault::start(&indexer).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    let (alice_token, bob_token) =
        (vault.login(&alice, chain.chain_id()).await, vault.login(&bob, chain.chain_id()).await);
    let path = format!("/v1/connections/{ID}");
    let id: [u8; 16] = alloy::hex::decode(ID).unwrap().try_into().unwrap();
    let key = ConnectionKey::derive(&encryption_secret(0xA1));
    let seal = |json: &str| b64(&key.seal(&id, alice.address(), json.as_bytes()).unwrap());

    // Kept, then listed as kept; the same id again is a conflict, not a silent overwrite.
    let (status, kept) = vault.call("PUT", &path, Some(&alice_token), Some(json!({"sealed": seal(CONNECTION)}))).await;
    assert_eq!((status, kept["revision"].as_u64()), (200, Some(1)), "{kept}");
    let (status, again) = vault.call("PUT", &path, Some(&alice_token), Some(json!({"sealed": seal(CONNECTION)}))).await;
    assert_eq!((status, code(&again)), (409, Some("connection_changed")), "{again}");
    let (_, list) = vault.call("GET", "/v1/connections", Some(&alice_token), None).await;
    assert_eq!(list["connections"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["connections"][0]["id"], ID);
    let opened = key.open(&id, alice.address(), &unb64(&list["connections"][0]["sealed"])).unwrap();
    assert_eq!(&**opened, CONNECTION.as_bytes(), "she opens what she kept");

    // A rotated refresh token replaces the old one at the revision read; a device still holding
    // revision 1 is told to read again, and nothing it sent is kept.
    let rotated = CONNECTION.replace("rt-SECRET-7f3a9c", "rt-SECRET-rotated");
    let body = json!({"sealed": seal(&rotated), "revision": 1});
    let (status, kept) = vault.call("PUT", &path, Some(&alice_token), Some(body.clone())).await;
    assert_eq!((status, kept["revision"].as_u64()), (200, Some(2)), "{kept}");
    let (status, stale) = vault.call("PUT", &path, Some(&alice_token), Some(body)).await;
    assert_eq!((status, code(&stale)), (409, Some("connection_changed")), "{stale}");
    let (_, list) = vault.call("GET", "/v1/connections", Some(&alice_token), None).await;
    assert_eq!(list["connections"][0]["revision"], 2);
    let opened = key.open(&id, alice.address(), &unb64(&list["connections"][0]["sealed"])).unwrap();
    assert_eq!(&**opened, rotated.as_bytes());

    // Each account's apart: another sees none, and cannot replace or delete hers.
    let (_, list) = vault.call("GET", "/v1/connections", Some(&bob_token), None).await;
    assert_eq!(list["connections"], json!([]));
    let (status, body) =
        vault.call("PUT", &path, Some(&bob_token), Some(json!({"sealed": seal("{}"), "revision": 2}))).await;
    assert_eq!((status, code(&body)), (404, Some("not_found")), "{body}");
    let (status, _) = vault.call("DELETE", &path, Some(&bob_token), None).await;
    assert_eq!(status, 404);

    // Refusals, each before anything is written.
    for (bad_path, body, expected) in [
        ("/v1/connections/0011", json!({"sealed": seal("{}")}), (400, "invalid_connection_id")),
        (
            "/v1/connections/00112233445566778899AABBCCDDEEFF",
            json!({"sealed": seal("{}")}),
            (400, "invalid_connection_id"),
        ),
        ("/v1/connections/ffeeddccbbaa99887766554433221100", json!({"sealed": "not base64!"}), (400, "invalid_base64")),
        ("/v1/connections/ffeeddccbbaa99887766554433221100", json!({"sealed": ""}), (413, "connection_too_large")),
        (
            "/v1/connections/ffeeddccbbaa99887766554433221100",
            json!({"sealed": b64(&[1u8; 8 * 1024 + 1])}),
            (413, "connection_too_large"),
        ),
        (
            "/v1/connections/ffeeddccbbaa99887766554433221100",
            json!({"sealed": seal("{}"), "revision": 1}),
            (404, "not_found"),
        ),
        (
            "/v1/connections/ffeeddccbbaa99887766554433221100",
            json!({"sealed": seal("{}"), "extra": 1}),
            (400, "invalid_body"),
        ),
    ] {
        let (status, body) = vault.call("PUT", bad_path, Some(&alice_token), Some(body)).await;
        assert_eq!((status, code(&body).unwrap_or_default()), expected, "{bad_path}: {body}");
    }
    let (status, _) = vault.call("GET", "/v1/connections", None, None).await;
    assert_eq!(status, 401);
    let (_, list) = vault.call("GET", "/v1/connections", Some(&alice_token), None).await;
    assert_eq!(list["connections"].as_array().unwrap().len(), 1, "the refusals kept nothing: {list}");

    // Nothing of the connection in the clear, in its table or her log.
    let store = Store::connect(&db.url).await.unwrap();
    for needle in ["rt-SECRET", "stmarys-hospital", "erXuFYUfucBZaryVksYEcMg3", "fhirBase"] {
        assert_eq!(occurrences(&store, needle.as_bytes()).await, 0, "{needle} is in the database");
    }

    // Deleted, gone, and both ends logged in her audit log.
    let (status, _) = vault.call("DELETE", &path, Some(&alice_token), None).await;
    assert_eq!(status, 204);
    let (_, list) = vault.call("GET", "/v1/connections", Some(&alice_token), None).await;
    assert_eq!(list["connections"], json!([]));
    let (status, _) = vault.call("DELETE", &path, Some(&alice_token), None).await;
    assert_eq!(status, 404, "a second delete finds nothing");
    let kinds: Vec<String> =
        vault.state.audit.for_actor(alice.address()).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "connection_added").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "connection_removed").count(), 1, "{kinds:?}");
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(her_connections_are_sealed_blobs_replaced_by_revision);

async fn a_record_pulled_again_carries_its_new_origin(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let alice = chain.keys[1].clone();
    let secret = encryption_secret(0xA1);
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let vault = TestVault::start(&indexer).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    let token = vault.login(&alice, chain.chain_id()).await;
    let id = RecordId::from([0xC4; 16]);
    let mut upload = upload_as(id, alice.address(), Category::Conditions, "Condition", &[(alice.address(), &secret)]);
    upload.body["origin"] = json!(b64(b"origin-v1"));
    assert_eq!(vault.call("POST", "/v1/records", Some(&token), Some(upload.body)).await.0, 201);
    let path = format!("/v1/records/{}", alloy::hex::encode(id));

    // Version 2 with a new origin; version 3 without one keeps it.
    let version = |n: u32, origin: Option<&[u8]>| {
        let mut binding = upload.binding.clone();
        binding.version = n;
        let key = DataKey::generate().unwrap();
        let mut body = json!({
            "ciphertext": b64(&record::seal(&key, &binding, br#"{"resourceType":"Condition"}"#).unwrap()),
            "wrapped_keys": [{"recipient": alice.address(), "wrapped": b64(&wrap::wrap(&key, &secret.public_key(), &binding).unwrap())}],
        });
        if let Some(origin) = origin {
            body["origin"] = json!(b64(origin));
        }
        body
    };
    let (status, view) = vault.call("PUT", &path, Some(&token), Some(version(2, Some(b"origin-v2")))).await;
    assert_eq!((status, view["version"].as_u64()), (200, Some(2)), "{view}");
    let (_, content) = vault.call("GET", &path, Some(&token), None).await;
    assert_eq!(unb64(&content["origin"]), b"origin-v2");
    let (status, _) = vault.call("PUT", &path, Some(&token), Some(version(3, None))).await;
    assert_eq!(status, 200);
    let (_, content) = vault.call("GET", &path, Some(&token), None).await;
    assert_eq!(unb64(&content["origin"]), b"origin-v2", "a version without an origin keeps the last");
    let (status, body) = vault.call("PUT", &path, Some(&token), Some(version(4, Some(&[0u8; 16 * 1024 + 1])))).await;
    assert_eq!((status, code(&body)), (400, Some("origin_too_large")), "{body}");
    let (_, content) = vault.call("GET", &path, Some(&token), None).await;
    assert_eq!(content["record"]["version"], 3, "the refused version was not stored");
    db.cleanup().await;
}
on_both_backends!(a_record_pulled_again_carries_its_new_origin);
