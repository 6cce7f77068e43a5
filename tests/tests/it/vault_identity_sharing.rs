//! Who she is, for the providers she shares with, on both backends: her own Patient record goes
//! to a provider she shares anything with (a lab-results grant opens it, each release logged),
//! to nobody without a grant, and not to a provider she hid it from (refused and logged); a
//! provider's new Patient record is not her identity; the settings route refuses bad input.

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

fn id(n: u8) -> RecordId {
    let mut id = [0xD0; 16];
    id[15] = n;
    RecordId::from(id)
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

async fn who_she_is_goes_to_whom_she_shares_with_unless_she_hides_it(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab, clinic) = (chain.keys[1].clone(), chain.keys[3].clone(), chain.keys[4].clone());
    let (alice_secret, lab_secret, clinic_secret) =
        (encryption_secret(0xA1), encryption_secret(0xB2), encryption_secret(0xC3));
    chain.register_provider(lab.address()).await;
    chain.register_provider(clinic.address()).await;
    let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
    request.recordsRoot = B256::ZERO;
    let grant = chain.grant(alice.address(), request).await;
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let vault = TestVault::start(&indexer).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    let chain_id = chain.chain_id();
    let (alice_token, lab_token, clinic_token) =
        (vault.login(&alice, chain_id).await, vault.login(&lab, chain_id).await, vault.login(&clinic, chain_id).await);

    // Her Patient record (filed under documents, which the lab was not granted), a document that
    // is not who she is, and a lab result; each wrapped for both providers.
    let readers = [(alice.address(), &alice_secret), (lab.address(), &lab_secret), (clinic.address(), &clinic_secret)];
    let me = upload_as(id(1), alice.address(), Category::Documents, "Patient", &readers);
    let letter = upload_as(id(2), alice.address(), Category::Documents, "DocumentReference", &readers);
    let result = upload_as(id(3), alice.address(), Category::LabResults, "Observation", &readers);
    for upload in [&me, &letter, &result] {
        assert_eq!(vault.call("POST", "/v1/records", Some(&alice_token), Some(upload.body.clone())).await.0, 201);
    }
    let hex = |id: &RecordId| alloy::hex::encode(id);
    let keys = format!("/v1/patients/{}/keys", alice.address());
    let ask = json!({"record_ids": [hex(&me.id), hex(&letter.id), hex(&result.id)]});

    // The lab shares her lab results: it reads who she is too, under that grant, logged.
    let (status, batch) = vault.call("POST", &keys, Some(&lab_token), Some(ask.clone())).await;
    assert_eq!(status, 200, "{batch}");
    let released: Vec<&str> =
        batch["released"].as_array().unwrap().iter().map(|r| r["record"]["record_id"].as_str().unwrap()).collect();
    assert_eq!(released, [hex(&me.id), hex(&result.id)]);
    let mine = &batch["released"][0];
    assert_eq!(mine["grant_id"], grant.to_string());
    let key = wrap::unwrap(&unb64(&mine["wrapped_key"]), &lab_secret, &me.binding).unwrap();
    record::open(&key, &me.binding, &unb64(&mine["ciphertext"])).unwrap();
    assert_eq!(batch["refused"][0]["error"]["code"], "no_live_grant", "the letter is not who she is: {batch}");
    let (_, listed) =
        vault.call("GET", &format!("/v1/patients/{}/records", alice.address()), Some(&lab_token), None).await;
    let listed: Vec<&str> = listed.as_array().unwrap().iter().map(|r| r["record_id"].as_str().unwrap()).collect();
    assert!(listed.contains(&hex(&me.id).as_str()) && !listed.contains(&hex(&letter.id).as_str()), "{listed:?}");
    let log = vault.state.audit.for_actor(lab.address()).await.unwrap();
    let me_released = log.iter().filter(|e| e.kind == "key_released" && e.record_id == Some(me.id)).count();
    assert_eq!(me_released, 1);

    // A provider she shares nothing with learns nothing.
    let (_, batch) = vault.call("POST", &keys, Some(&clinic_token), Some(ask.clone())).await;
    assert_eq!(batch["released"], json!([]), "{batch}");
    let single = format!("/v1/records/{}/key", hex(&me.id));
    let (status, body) = vault.call("GET", &single, Some(&clinic_token), None).await;
    assert_eq!((status, code(&body)), (403, Some("no_live_grant")));

    // She hides who she is from the lab: refused and logged, the lab results still open.
    let setting = format!("/v1/account/identity-sharing/{}", lab.address());
    let hide = json!({"shown": false});
    assert_eq!(vault.call("PUT", &setting, Some(&alice_token), Some(hide.clone())).await.0, 204);
    assert_eq!(vault.call("PUT", &setting, Some(&alice_token), Some(hide)).await.0, 204, "idempotent");
    let (_, shown) = vault.call("GET", "/v1/account/identity-sharing", Some(&alice_token), None).await;
    assert_eq!(shown["hidden_from"].as_array().unwrap().len(), 1, "{shown}");
    let (_, batch) = vault.call("POST", &keys, Some(&lab_token), Some(ask.clone())).await;
    let refused: Vec<(&str, &str)> = batch["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["record_id"].as_str().unwrap(), r["error"]["code"].as_str().unwrap()))
        .collect();
    assert!(refused.contains(&(hex(&me.id).as_str(), "identity_hidden")), "{batch}");
    assert_eq!(batch["released"].as_array().unwrap().len(), 1);
    let (status, body) = vault.call("GET", &single, Some(&lab_token), None).await;
    assert_eq!((status, code(&body)), (403, Some("identity_hidden")));
    let log = vault.state.audit.for_actor(lab.address()).await.unwrap();
    assert!(log.iter().any(|e| e.kind == "key_denied" && e.outcome == "identity_hidden" && e.record_id == Some(me.id)));
    let her_log = vault.state.audit.for_actor(alice.address()).await.unwrap();
    assert_eq!(her_log.iter().filter(|e| e.kind == "identity_hidden").count(), 2);
    // A new Patient record of hers does not list the lab as needing a key while hidden.
    let again = upload_as(id(4), alice.address(), Category::Documents, "Patient", &[(alice.address(), &alice_secret)]);
    let (_, created) = vault.call("POST", "/v1/records", Some(&alice_token), Some(again.body.clone())).await;
    assert_eq!(created["providers_needing_keys"], json!([]), "{created}");

    // Shown again, it opens again; and a new Patient record of hers is wrapped for the lab.
    assert_eq!(vault.call("PUT", &setting, Some(&alice_token), Some(json!({"shown": true}))).await.0, 204);
    let (status, _) = vault.call("GET", &single, Some(&lab_token), None).await;
    assert_eq!(status, 200);
    let third = upload_as(id(5), alice.address(), Category::Documents, "Patient", &[(alice.address(), &alice_secret)]);
    let (_, created) = vault.call("POST", "/v1/records", Some(&alice_token), Some(third.body.clone())).await;
    let needing: Vec<&str> =
        created["providers_needing_keys"].as_array().unwrap().iter().map(|p| p["provider"].as_str().unwrap()).collect();
    assert_eq!(needing.len(), 1, "{created}");
    assert_eq!(needing[0].parse::<alloy::primitives::Address>().unwrap(), lab.address());

    // Bad input, and no session.
    for (path, body, expected) in [
        ("/v1/account/identity-sharing/0x1234".to_owned(), json!({"shown": false}), "invalid_address"),
        (format!("/v1/account/identity-sharing/{}", alice.address()), json!({"shown": false}), "invalid_request"),
        (setting.clone(), json!({"shown": "no"}), "invalid_body"),
        (setting.clone(), json!({"shown": false, "also": 1}), "invalid_body"),
    ] {
        let (status, answer) = vault.call("PUT", &path, Some(&alice_token), Some(body)).await;
        assert_eq!((status, code(&answer)), (400, Some(expected)), "{path}: {answer}");
    }
    assert_eq!(vault.call("GET", "/v1/account/identity-sharing", None, None).await.0, 401);
    db.cleanup().await;
}
on_both_backends!(who_she_is_goes_to_whom_she_shares_with_unless_she_hides_it);
