//! `POST /v1/records/batch`, on both backends: a patient stores many of her own records in one
//! call, each logged as a single create is; the providers she shares a category with are named
//! per record (who she is to every provider she shares anything with); and a batch is stored
//! whole or not at all: a taken id, a bad record, another patient's record or too many records
//! leave nothing behind.

use alloy::primitives::B256;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::RunningIndexer;
use medkey_e2e::on_both_backends;
use medkey_e2e::sealed::{encryption_secret, unb64, upload_as};
use medkey_e2e::vault::TestVault;
use medkey_protocol::Category;
use medkey_protocol::RecordId;
use medkey_protocol::envelope::{record, wrap};
use serde_json::{Value, json};

fn id(n: u16) -> RecordId {
    let mut id = [0xBA; 16];
    id[14..].copy_from_slice(&n.to_be_bytes());
    RecordId::from(id)
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

async fn an_import_stores_whole_batches_each_record_logged(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, bob, lab) = (chain.keys[1].clone(), chain.keys[2].clone(), chain.keys[3].clone());
    let (alice_secret, lab_secret) = (encryption_secret(0xA1), encryption_secret(0xB2));
    chain.register_provider(lab.address()).await;
    let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
    request.recordsRoot = B256::ZERO;
    chain.grant(alice.address(), request).await;
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let vault = TestVault::start(&indexer).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    let chain_id = chain.chain_id();
    let (alice_token, bob_token) = (vault.login(&alice, chain_id).await, vault.login(&bob, chain_id).await);
    let only_alice = [(alice.address(), &alice_secret)];
    let hex = |id: &RecordId| alloy::hex::encode(id);

    // 300 lab results (one already wrapped for the lab), two notes and who she is.
    let mut uploads: Vec<_> = (0..300u16)
        .map(|n| upload_as(id(n), alice.address(), Category::LabResults, "Observation", &only_alice))
        .collect();
    uploads[1] = upload_as(
        id(1),
        alice.address(),
        Category::LabResults,
        "Observation",
        &[(alice.address(), &alice_secret), (lab.address(), &lab_secret)],
    );
    uploads.push(upload_as(id(300), alice.address(), Category::ClinicalNotes, "DocumentReference", &only_alice));
    uploads.push(upload_as(id(301), alice.address(), Category::ClinicalNotes, "DocumentReference", &only_alice));
    uploads.push(upload_as(id(302), alice.address(), Category::Documents, "Patient", &only_alice));
    let body = json!({"records": uploads.iter().map(|u| u.body.clone()).collect::<Vec<_>>()});
    let (status, created) = vault.call("POST", "/v1/records/batch", Some(&alice_token), Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");
    let created = created["records"].as_array().unwrap();
    assert_eq!(created.len(), uploads.len());
    for (item, upload) in created.iter().zip(&uploads) {
        assert_eq!(item["record"]["record_id"], hex(&upload.id), "in the order sent");
        assert_eq!(
            item["record"]["owner"].as_str().unwrap().parse::<alloy::primitives::Address>().unwrap(),
            alice.address()
        );
        assert_eq!(item["record"]["version"], 1);
    }
    let needing = |i: usize| -> Vec<String> {
        created[i]["providers_needing_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["provider"].as_str().unwrap().to_lowercase())
            .collect()
    };
    let the_lab = vec![lab.address().to_string().to_lowercase()];
    assert_eq!(needing(0), the_lab, "a lab result needs the lab's key");
    assert!(needing(1).is_empty(), "already wrapped for the lab");
    assert!(needing(300).is_empty() && needing(301).is_empty(), "notes are not shared");
    assert_eq!(needing(302), the_lab, "who she is goes to whom she shares anything with");

    // Each record as she stored it, and each create in her log, as for one at a time.
    let (_, listed) = vault.call("GET", "/v1/records", Some(&alice_token), None).await;
    assert_eq!(listed.as_array().unwrap().len(), uploads.len());
    let (status, content) = vault.call("GET", &format!("/v1/records/{}", hex(&id(7))), Some(&alice_token), None).await;
    assert_eq!(status, 200);
    let key = wrap::unwrap(&unb64(&content["wrapped_key"]), &alice_secret, &uploads[7].binding).unwrap();
    record::open(&key, &uploads[7].binding, &unb64(&content["ciphertext"])).unwrap();
    let logged = vault.state.audit.for_patient(alice.address()).await.unwrap();
    let creates: Vec<_> = logged.iter().filter(|e| e.kind == "record_created").collect();
    assert_eq!(creates.len(), uploads.len());
    assert!(creates.iter().all(|e| e.actor == alice.address()));

    // Whole or nothing: a batch naming one taken id stores none of its new ones.
    let fresh = upload_as(id(400), alice.address(), Category::LabResults, "Observation", &only_alice);
    let again = json!({"records": [fresh.body.clone(), uploads[0].body.clone()]});
    let (status, refused) = vault.call("POST", "/v1/records/batch", Some(&alice_token), Some(again)).await;
    assert_eq!((status, code(&refused)), (409, "record_exists"), "{refused}");
    let (status, _) = vault.call("GET", &format!("/v1/records/{}", hex(&fresh.id)), Some(&alice_token), None).await;
    assert_eq!(status, 404, "the fresh record of a refused batch was not stored");

    // Bad input is refused before anything is written.
    let mut broken = fresh.body.clone();
    broken["ciphertext"] = json!("AAAA");
    broken["record_id"] = json!(hex(&id(401)));
    let mut for_bob = fresh.body.clone();
    for_bob["patient"] = json!(bob.address().to_string());
    let cases = [
        (json!({"records": []}), 400, "invalid_body"),
        (json!({"records": [fresh.body.clone(), fresh.body.clone()]}), 400, "duplicate_record"),
        (json!({"records": [fresh.body.clone(), broken]}), 400, "invalid_ciphertext"),
        (json!({"records": [for_bob]}), 400, "not_own_record"),
        (
            json!({"records": (0..501u16).map(|n| {
                let mut b = fresh.body.clone();
                b["record_id"] = json!(hex(&id(1_000 + n)));
                b
            }).collect::<Vec<_>>()}),
            413,
            "batch_too_large",
        ),
    ];
    for (body, status, expected) in cases {
        let (got, answer) = vault.call("POST", "/v1/records/batch", Some(&alice_token), Some(body)).await;
        assert_eq!((got, code(&answer)), (status, expected), "{answer}");
    }
    let (_, listed) = vault.call("GET", "/v1/records", Some(&alice_token), None).await;
    assert_eq!(listed.as_array().unwrap().len(), uploads.len(), "no refused batch left a record");
    let (status, _) = vault.call("POST", "/v1/records/batch", None, Some(json!({"records": []}))).await;
    assert_eq!(status, 401);

    // Bob's batch is his: it does not touch her records.
    let his = upload_as(
        id(500),
        bob.address(),
        Category::LabResults,
        "Observation",
        &[(bob.address(), &encryption_secret(0xB0))],
    );
    let (status, _) =
        vault.call("POST", "/v1/records/batch", Some(&bob_token), Some(json!({"records": [his.body.clone()]}))).await;
    assert_eq!(status, 201);
    let (_, listed) = vault.call("GET", "/v1/records", Some(&alice_token), None).await;
    assert_eq!(listed.as_array().unwrap().len(), uploads.len());
}

on_both_backends!(an_import_stores_whole_batches_each_record_logged);
