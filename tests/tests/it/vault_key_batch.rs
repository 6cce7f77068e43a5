//! `POST /v1/patients/{patient}/keys`, on both backends: a provider opens a chart in one call;
//! each record is released or refused with the single route's codes, each one logged; a
//! revocation, an erase and a suspension count at once for batches too; rate limits count
//! records and new patients; bad input is refused before anything is released.

use alloy::primitives::B256;
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::RunningIndexer;
use medkey_e2e::on_both_backends;
use medkey_e2e::sealed::{encryption_secret, unb64, upload_as};
use medkey_e2e::vault::TestVault;
use medkey_protocol::Category;
use medkey_protocol::RecordId;
use medkey_protocol::envelope::{record, wrap};
use medkey_vault::limits::LimitSettings;
use serde_json::{Value, json};

fn id(n: u16, patient: u8) -> RecordId {
    let mut id = [0u8; 16];
    id[0] = patient;
    id[14..].copy_from_slice(&n.to_be_bytes());
    RecordId::from(id)
}

fn codes(batch: &Value) -> Vec<(String, String)> {
    batch["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["record_id"].as_str().unwrap().to_owned(), r["error"]["code"].as_str().unwrap().to_owned()))
        .collect()
}

async fn a_chart_opens_in_one_call_and_every_record_is_decided_and_logged(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, bob, lab) = (chain.keys[1].clone(), chain.keys[2].clone(), chain.keys[3].clone());
    let (alice_secret, lab_secret) = (encryption_secret(0xA1), encryption_secret(0xB2));
    chain.register_provider(lab.address()).await;
    let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
    request.recordsRoot = B256::ZERO;
    let grant = chain.grant(alice.address(), request).await;
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let limits =
        LimitSettings { release_per_address_per_minute: 1_000, patients_per_address_per_hour: 1, ..Default::default() };
    let vault = TestVault::start_with(&indexer, limits).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    let chain_id = chain.chain_id();
    let (alice_token, bob_token, lab_token) =
        (vault.login(&alice, chain_id).await, vault.login(&bob, chain_id).await, vault.login(&lab, chain_id).await);

    // 120 lab results for the lab; one lab result not wrapped for it yet; two prescriptions; one
    // erased lab result; one of Bob's records; and an id nobody used.
    let both = [(alice.address(), &alice_secret), (lab.address(), &lab_secret)];
    let only_alice = [(alice.address(), &alice_secret)];
    let mut uploads = Vec::new();
    for n in 0..120u16 {
        uploads.push(upload_as(id(n, 0xA1), alice.address(), Category::LabResults, "Observation", &both));
    }
    let unwrapped = upload_as(id(500, 0xA1), alice.address(), Category::LabResults, "Observation", &only_alice);
    let prescriptions: Vec<_> = (600..602u16)
        .map(|n| upload_as(id(n, 0xA1), alice.address(), Category::Prescriptions, "MedicationRequest", &both))
        .collect();
    let erased = upload_as(id(700, 0xA1), alice.address(), Category::LabResults, "Observation", &both);
    for upload in uploads.iter().chain([&unwrapped, &erased]).chain(&prescriptions) {
        assert_eq!(vault.call("POST", "/v1/records", Some(&alice_token), Some(upload.body.clone())).await.0, 201);
    }
    let bobs = upload_as(
        id(1, 0xB0),
        bob.address(),
        Category::LabResults,
        "Observation",
        &[(bob.address(), &encryption_secret(0xB0))],
    );
    assert_eq!(vault.call("POST", "/v1/records", Some(&bob_token), Some(bobs.body.clone())).await.0, 201);
    let erase = format!("/v1/records/{}", alloy::hex::encode(erased.id));
    assert_eq!(vault.call("DELETE", &erase, Some(&alice_token), None).await.0, 204);

    let hex = |id: &RecordId| alloy::hex::encode(id);
    let mut asked: Vec<String> = uploads.iter().map(|u| hex(&u.id)).collect();
    let others = [
        hex(&unwrapped.id),
        hex(&prescriptions[0].id),
        hex(&prescriptions[1].id),
        hex(&erased.id),
        hex(&bobs.id),
        hex(&id(9, 0xEE)),
    ];
    asked.extend(others.iter().cloned());
    let path = format!("/v1/patients/{}/keys", alice.address());
    let (status, batch) = vault.call("POST", &path, Some(&lab_token), Some(json!({"record_ids": asked}))).await;
    assert_eq!(status, 200, "{batch}");

    // Every lab result opens with the lab's key; each refusal has the single route's code.
    let released = batch["released"].as_array().unwrap();
    assert_eq!(released.len(), 120);
    for (item, upload) in released.iter().zip(&uploads) {
        assert_eq!(item["record"]["record_id"], hex(&upload.id), "in the order asked");
        assert_eq!(item["grant_id"], grant.to_string());
        let key = wrap::unwrap(&unb64(&item["wrapped_key"]), &lab_secret, &upload.binding).unwrap();
        record::open(&key, &upload.binding, &unb64(&item["ciphertext"])).unwrap();
    }
    let expected: Vec<(String, String)> = [
        (others[0].clone(), "key_not_wrapped"),
        (others[3].clone(), "not_found"),
        (others[4].clone(), "not_found"),
        (others[5].clone(), "not_found"),
        (others[1].clone(), "no_live_grant"),
        (others[2].clone(), "no_live_grant"),
    ]
    .into_iter()
    .map(|(id, code)| (id, code.to_owned()))
    .collect();
    let mut refused = codes(&batch);
    let mut sorted_expected = expected.clone();
    refused.sort();
    sorted_expected.sort();
    assert_eq!(refused, sorted_expected);

    // One audit entry per record of hers, each with its outcome; the ids that name no record of
    // hers are one entry between them (the caller's words, not her records).
    let log = vault.state.audit.for_actor(lab.address()).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.kind == "key_released").count(), 120);
    let denied: Vec<&str> = log.iter().filter(|e| e.kind == "key_denied").map(|e| e.outcome.as_str()).collect();
    assert_eq!(denied.len(), 4, "{denied:?}");
    assert_eq!(denied.iter().filter(|c| **c == "no_live_grant").count(), 2);
    assert_eq!(denied.iter().filter(|c| **c == "not_found").count(), 1, "{denied:?}");
    assert!(log.iter().filter(|e| e.kind == "key_released").all(|e| e.patient == Some(alice.address())));

    // Bad input is refused before anything is released or counted.
    for (body, status, code) in [
        (json!({"record_ids": []}), 400, "invalid_body"),
        (json!({"record_ids": ["xyz"]}), 400, "invalid_record_id"),
        (json!({"record_ids": [hex(&uploads[0].id), hex(&uploads[0].id)]}), 400, "duplicate_record"),
        (json!({"record_ids": vec![hex(&uploads[0].id); 501]}), 413, "batch_too_large"),
        (json!({"ids": []}), 400, "invalid_body"),
    ] {
        let (got, answer) = vault.call("POST", &path, Some(&lab_token), Some(body)).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{answer}");
    }
    let bad_patient = vault
        .call("POST", "/v1/patients/0x12/keys", Some(&lab_token), Some(json!({"record_ids": [hex(&uploads[0].id)]})))
        .await;
    assert_eq!((bad_patient.0, bad_patient.1["error"]["code"].as_str()), (400, Some("invalid_address")));

    // Records count against the per-minute allowance: 126 + 800 fit in 1,000, 100 more do not.
    let many: Vec<String> = (0..400u16).map(|n| hex(&id(2_000 + n, 0xA1))).collect();
    for _ in 0..2 {
        let (status, answer) = vault.call("POST", &path, Some(&lab_token), Some(json!({"record_ids": many}))).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) =
        vault.call("POST", &path, Some(&lab_token), Some(json!({"record_ids": many[..100].to_vec()}))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (429, Some("rate_limited")), "{answer}");
    db.cleanup().await;
}
on_both_backends!(a_chart_opens_in_one_call_and_every_record_is_decided_and_logged);

async fn revocation_suspension_and_sweeps_count_for_batches(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, bob, lab) = (chain.keys[1].clone(), chain.keys[2].clone(), chain.keys[3].clone());
    let lab_secret = encryption_secret(0xB2);
    chain.register_provider(lab.address()).await;
    let mut grants = Vec::new();
    for patient in [alice.address(), bob.address()] {
        let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
        request.recordsRoot = B256::ZERO;
        grants.push(chain.grant(patient, request).await);
    }
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let limits = LimitSettings { patients_per_address_per_hour: 1, ..Default::default() };
    let vault = TestVault::start_with(&indexer, limits).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    let chain_id = chain.chain_id();
    let (alice_token, bob_token, lab_token) =
        (vault.login(&alice, chain_id).await, vault.login(&bob, chain_id).await, vault.login(&lab, chain_id).await);
    let mut ids = Vec::new();
    for (patient, token, byte) in [(&alice, &alice_token, 0xA1u8), (&bob, &bob_token, 0xB0)] {
        let readers = [(patient.address(), &encryption_secret(byte)), (lab.address(), &lab_secret)];
        let upload = upload_as(id(1, byte), patient.address(), Category::LabResults, "Observation", &readers);
        assert_eq!(vault.call("POST", "/v1/records", Some(token), Some(upload.body.clone())).await.0, 201);
        ids.push(alloy::hex::encode(upload.id));
    }
    let batch = |patient: alloy::primitives::Address, record: &str| {
        let body = json!({"record_ids": [record]});
        let path = format!("/v1/patients/{patient}/keys");
        let (vault, token) = (&vault, &lab_token);
        async move { vault.call("POST", &path, Some(token), Some(body)).await }
    };

    // One new patient an hour: Alice's chart opens (again and again), Bob's must wait.
    for _ in 0..2 {
        let (status, answer) = batch(alice.address(), &ids[0]).await;
        assert_eq!((status, answer["released"].as_array().map(Vec::len)), (200, Some(1)), "{answer}");
    }
    let (status, answer) = batch(bob.address(), &ids[1]).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (429, Some("rate_limited")), "{answer}");
    let single = format!("/v1/records/{}/key", ids[1]);
    let (status, answer) = vault.call("GET", &single, Some(&lab_token), None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (429, Some("rate_limited")), "one record at a time too");

    // Revoked: refused at once.
    chain.revoke(alice.address(), grants[0]).await;
    indexer.wait_for_block(chain.head().await).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    let (status, answer) = batch(alice.address(), &ids[0]).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&answer), [(ids[0].clone(), "no_live_grant".to_owned())], "{answer}");

    // Suspended: refused at once, whatever the grants.
    let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
    request.recordsRoot = B256::ZERO;
    chain.grant(alice.address(), request).await;
    mined(
        chain
            .registry()
            .suspendProvider(lab.address(), medkey_e2e::chain::REASON_HASH)
            .from(chain.admin())
            .send()
            .await,
    )
    .await;
    indexer.wait_for_block(chain.head().await).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    let (_, answer) = batch(alice.address(), &ids[0]).await;
    assert_eq!(codes(&answer), [(ids[0].clone(), "provider_suspended".to_owned())], "{answer}");
    db.cleanup().await;
}
on_both_backends!(revocation_suspension_and_sweeps_count_for_batches);
