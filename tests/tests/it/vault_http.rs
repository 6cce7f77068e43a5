//! The vault end to end over HTTP, against a real chain and mirror, on both backends: the
//! authorization matrix for key release (each denial logged), and bad input refused precisely
//! without changing anything.

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::sealed::{b64, encryption_secret, unb64, upload};
use medkey_e2e::vault::{BODY_LIMIT, TestVault};
use medkey_protocol::Category;
use medkey_protocol::clock::now_ms;
use medkey_protocol::envelope::{EncryptionSecret, record, wrap};
use serde_json::{Value, json};

async fn key_release_matrix_over_http(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let patient_signer = chain.keys[1].clone();
    let alice = patient_signer.address();
    let (lab, clinic, suspended) = (chain.keys[3].clone(), chain.keys[4].clone(), chain.keys[5].clone());
    let patient_secret = EncryptionSecret::from_bytes([0xA1; 32]);
    let lab_secret = encryption_secret(0xB2);
    for (signer, secret) in
        [(&lab, &lab_secret), (&clinic, &encryption_secret(0xC3)), (&suspended, &encryption_secret(0xD4))]
    {
        let key = B256::from(secret.public_key().0);
        mined(
            chain
                .registry()
                .registerProvider(signer.address(), key, medkey_e2e::chain::PROFILE_HASH)
                .from(chain.admin())
                .send()
                .await,
        )
        .await;
    }
    let mut lab_request = chain.request(lab.address(), &[Category::LabResults]).await;
    lab_request.recordsRoot = B256::ZERO;
    let lab_grant = chain.grant(alice, lab_request).await;
    let mut susp_request = chain.request(suspended.address(), &[Category::LabResults]).await;
    susp_request.recordsRoot = B256::ZERO;
    chain.grant(alice, susp_request).await;
    mined(
        chain
            .registry()
            .suspendProvider(suspended.address(), medkey_e2e::chain::REASON_HASH)
            .from(chain.admin())
            .send()
            .await,
    )
    .await;

    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let vault = TestVault::start(&indexer).await;
    let id = chain.chain_id();
    let patient = vault.login(&patient_signer, id).await;
    let lab_token = vault.login(&lab, id).await;
    let clinic_token = vault.login(&clinic, id).await;
    let suspended_token = vault.login(&suspended, id).await;
    let stranger = PrivateKeySigner::random();
    let stranger_token = vault.login(&stranger, id).await;

    // The patient uploads a lab result (wrapped for themself only) and a prescription.
    let lab_result = upload(alice, 1, Category::LabResults, "Observation", &[(alice, &patient_secret)]);
    let (status, body) = vault.call("POST", "/v1/records", Some(&patient), Some(lab_result.body.clone())).await;
    assert_eq!(status, 201, "{body}");
    let needing = body["providers_needing_keys"].as_array().unwrap();
    assert_eq!(needing.len(), 1, "the lab holds a live lab_results grant: {body}");
    assert_eq!(needing[0]["provider"].as_str().unwrap().parse::<Address>().unwrap(), lab.address());
    let prescription = upload(alice, 2, Category::Prescriptions, "MedicationRequest", &[(alice, &patient_secret)]);
    assert_eq!(vault.call("POST", "/v1/records", Some(&patient), Some(prescription.body.clone())).await.0, 201);

    // Granted, but the key is not wrapped for the lab yet: 409, then the client wraps it.
    let key_path = format!("/v1/records/{}/key", alloy::hex::encode(lab_result.id));
    assert_eq!(vault.call("GET", &key_path, Some(&lab_token), None).await.0, 409);
    let keys = lab_result.wrapped_for(lab.address(), &lab_secret);
    let add = format!("/v1/records/{}/versions/1/keys", alloy::hex::encode(lab_result.id));
    assert_eq!(vault.call("POST", &add, Some(&patient), Some(keys)).await.0, 204);

    // The granted provider gets ciphertext and key, and decrypts locally.
    let (status, body) = vault.call("GET", &key_path, Some(&lab_token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["grant_id"].as_str().unwrap().parse::<B256>().unwrap(), lab_grant);
    let key = wrap::unwrap(&unb64(&body["wrapped_key"]), &lab_secret, &lab_result.binding).unwrap();
    let plain = record::open(&key, &lab_result.binding, &unb64(&body["ciphertext"])).unwrap();
    assert!(String::from_utf8(plain).unwrap().contains("secret-1"));

    let expect = |status: u16, code: &'static str| {
        move |(s, b): (u16, Value)| {
            assert_eq!((s, b["error"]["code"].as_str().unwrap_or_default()), (status, code), "{b}");
        }
    };
    let rx_path = format!("/v1/records/{}/key", alloy::hex::encode(prescription.id));
    expect(403, "no_live_grant")(vault.call("GET", &rx_path, Some(&lab_token), None).await);
    expect(403, "no_live_grant")(vault.call("GET", &key_path, Some(&clinic_token), None).await);
    expect(403, "provider_not_registered")(vault.call("GET", &key_path, Some(&stranger_token), None).await);
    expect(403, "provider_suspended")(vault.call("GET", &key_path, Some(&suspended_token), None).await);
    expect(404, "not_found")(
        vault.call("GET", &format!("/v1/records/{}/key", "ab".repeat(16)), Some(&lab_token), None).await,
    );
    let (status, visible) = vault.call("GET", &format!("/v1/patients/{alice}/records"), Some(&lab_token), None).await;
    assert_eq!(status, 200);
    assert_eq!(visible.as_array().unwrap().len(), 1, "the lab sees the lab result only: {visible}");
    // A provider cannot read the patient's own endpoint for the record.
    expect(404, "not_found")(
        vault.call("GET", &format!("/v1/records/{}", alloy::hex::encode(lab_result.id)), Some(&lab_token), None).await,
    );

    // Revocation on chain: refused as soon as the mirror has the block.
    chain.revoke(alice, lab_grant).await;
    indexer.wait_for_block(chain.head().await).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    expect(403, "no_live_grant")(vault.call("GET", &key_path, Some(&lab_token), None).await);

    // Every release and denial is in the log.
    let entries = vault.state.audit.for_patient(alice).await.unwrap();
    let outcomes: Vec<&str> =
        entries.iter().filter(|e| e.kind.starts_with("key_")).map(|e| e.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        ["key_not_wrapped", "ok", "no_live_grant", "no_live_grant", "provider_suspended", "no_live_grant"]
    );
    // A wallet that is no provider grows no patient's log: its refusals are the operator's, once
    // per window however often it asks.
    expect(403, "provider_not_registered")(vault.call("GET", &key_path, Some(&stranger_token), None).await);
    let strangers = vault.state.audit.for_actor(stranger.address()).await.unwrap();
    let refusals: Vec<(&str, Option<Address>)> =
        strangers.iter().filter(|e| e.kind == "key_denied").map(|e| (e.outcome.as_str(), e.patient)).collect();
    assert_eq!(refusals, [("provider_not_registered", None)]);
    let released = entries.iter().find(|e| e.kind == "key_released").unwrap();
    assert_eq!(
        (released.actor, released.grant_id, released.record_id),
        (lab.address(), Some(lab_grant), Some(lab_result.id))
    );

    // Stale mirror: the indexer stops, the chain moves on. 503, and readiness says so too.
    let store = indexer.stop().await;
    chain.mine(3).await;
    let head = chain.head().await;
    store.record_head(id, head, now_ms()).await.unwrap();
    vault.wait_for_chain_head_seen(head).await;
    expect(503, "mirror_stale")(vault.call("GET", &key_path, Some(&lab_token), None).await);
    expect(503, "mirror_stale")(vault.call("GET", "/readyz", None, None).await);
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(key_release_matrix_over_http);

async fn bad_input_gets_a_precise_error_and_changes_nothing(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let vault = TestVault::start(&indexer).await;
    let signer = chain.keys[1].clone();
    let alice = signer.address();
    let token = vault.login(&signer, chain.chain_id()).await;
    let secret = EncryptionSecret::from_bytes([0xA1; 32]);
    let good = upload(alice, 1, Category::LabResults, "Observation", &[(alice, &secret)]).body;
    let code = |(s, b): (u16, Value)| (s, b["error"]["code"].as_str().unwrap_or_default().to_owned());

    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (with("category", json!("astrology")), 400, "invalid_body"),
        (with("resource_type", json!("Observations")), 400, "unknown_resource_type"),
        (with("record_id", json!("../../etc/passwd")), 400, "invalid_record_id"),
        (with("ciphertext", json!("not base64!")), 400, "invalid_base64"),
        (with("ciphertext", json!(b64(br#"{"resourceType":"Observation"}"#))), 400, "invalid_ciphertext"),
        (with("wrapped_keys", json!([])), 400, "missing_owner_key"),
        (with("extra", json!(1)), 400, "invalid_body"),
    ];
    for (body, status, expected) in cases {
        assert_eq!(
            code(vault.call("POST", "/v1/records", Some(&token), Some(body.clone())).await),
            (status, expected.into()),
            "{body}"
        );
    }
    assert_eq!(
        code(vault.raw("POST", "/v1/records", &token, "application/json", b"{\"record_id\":".to_vec()).await),
        (400, "malformed_json".into())
    );
    assert_eq!(
        code(vault.raw("POST", "/v1/records", &token, "text/plain", good.to_string().into_bytes()).await),
        (415, "unsupported_media_type".into())
    );
    let oversized = with("ciphertext", json!(b64(&vec![1u8; BODY_LIMIT])));
    assert_eq!(
        code(vault.raw("POST", "/v1/records", &token, "application/json", oversized.to_string().into_bytes()).await),
        (413, "body_too_large".into())
    );
    assert_eq!(
        code(vault.call("GET", "/v1/records/..%2F..%2Fetc%2Fpasswd", Some(&token), None).await),
        (400, "invalid_record_id".into())
    );
    assert_eq!(
        code(vault.call("GET", "/v1/records?category=astrology", Some(&token), None).await),
        (400, "invalid_query".into())
    );
    let keys = json!({"wrapped_keys": []});
    let path = format!("/v1/records/{}/versions/one/keys", "01".repeat(16));
    assert_eq!(code(vault.call("POST", &path, Some(&token), Some(keys)).await).0, 404, "unknown record first");

    // Identity: no token, a forged token, a replayed nonce, a bad signature.
    assert_eq!(code(vault.call("GET", "/v1/records", None, None).await), (401, "missing_token".into()));
    assert_eq!(code(vault.call("GET", "/v1/records", Some("e30.e30.AAAA"), None).await), (401, "invalid_token".into()));
    let (_, nonce) = vault.call("GET", "/v1/auth/nonce", None, None).await;
    let message = medkey_e2e::vault::siwe_message(alice, chain.chain_id(), nonce["nonce"].as_str().unwrap());
    use alloy::signers::SignerSync;
    let forged = PrivateKeySigner::random().sign_message_sync(message.as_bytes()).unwrap();
    let login = |sig: &alloy::primitives::Signature| json!({"message": message, "signature": alloy::hex::encode_prefixed(sig.as_bytes())});
    assert_eq!(
        code(vault.call("POST", "/v1/auth/login", None, Some(login(&forged))).await),
        (401, "bad_signature".into())
    );
    let real = signer.sign_message_sync(message.as_bytes()).unwrap();
    assert_eq!(vault.call("POST", "/v1/auth/login", None, Some(login(&real))).await.0, 200);
    assert_eq!(
        code(vault.call("POST", "/v1/auth/login", None, Some(login(&real))).await),
        (401, "nonce_rejected".into())
    );
    assert_eq!(code(vault.call("GET", "/v1/nowhere", None, None).await), (404, "not_found".into()));

    let (status, list) = vault.call("GET", "/v1/records", Some(&token), None).await;
    assert_eq!((status, list.as_array().unwrap().len()), (200, 0), "no refused request stored anything");
    assert_eq!(vault.call("POST", "/v1/records", Some(&token), Some(good)).await.0, 201, "the control request works");
    indexer.stop().await.close().await;
    db.cleanup().await;
}
on_both_backends!(bad_input_gets_a_precise_error_and_changes_nothing);

async fn logins_are_rate_limited_and_locked_out(backend: Backend) {
    use alloy::signers::SignerSync;
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let limits =
        medkey_vault::limits::LimitSettings { login_per_ip_per_minute: 8, lockout_after: 2, ..Default::default() };
    let vault = TestVault::start_with(&indexer, limits).await;
    let alice = chain.keys[1].clone();

    // Two bad signatures for alice: locked out, even with a correct one, and told when to retry.
    for _ in 0..2 {
        let (_, nonce) = vault.call("GET", "/v1/auth/nonce", None, None).await;
        let message =
            medkey_e2e::vault::siwe_message(alice.address(), chain.chain_id(), nonce["nonce"].as_str().unwrap());
        let forged = PrivateKeySigner::random().sign_message_sync(message.as_bytes()).unwrap();
        let body = json!({"message": message, "signature": alloy::hex::encode_prefixed(forged.as_bytes())});
        assert_eq!(vault.call("POST", "/v1/auth/login", None, Some(body)).await.0, 401);
    }
    let (_, nonce) = vault.call("GET", "/v1/auth/nonce", None, None).await;
    let message = medkey_e2e::vault::siwe_message(alice.address(), chain.chain_id(), nonce["nonce"].as_str().unwrap());
    let real = alice.sign_message_sync(message.as_bytes()).unwrap();
    let body = json!({"message": message, "signature": alloy::hex::encode_prefixed(real.as_bytes())});
    let (status, err) = vault.call("POST", "/v1/auth/login", None, Some(body)).await;
    assert_eq!((status, err["error"]["code"].as_str()), (429, Some("locked_out")), "{err}");

    // Someone else from the same client is only rate limited: 8 login requests a minute per IP,
    // 6 used so far (nonce and login each count).
    let bob = chain.keys[2].clone();
    let _ = vault.login(&bob, chain.chain_id()).await; // requests 7 and 8: the 9th is over
    let (status, err) = vault.call("GET", "/v1/auth/nonce", None, None).await;
    assert_eq!((status, err["error"]["code"].as_str()), (429, Some("rate_limited")), "{err}");
    indexer.stop().await.close().await;
    db.cleanup().await;
}
on_both_backends!(logins_are_rate_limited_and_locked_out);

async fn grants_are_listed_as_the_chain_has_them_and_as_fhir_consent(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let alice = chain.keys[1].clone();
    let (lab, clinic) = (chain.provider_account(0), chain.provider_account(1));
    chain.register_provider(lab).await;
    chain.register_provider(clinic).await;
    let live = chain.grant(alice.address(), chain.request(lab, &[Category::LabResults, Category::Vitals]).await).await;
    let mut write = chain.request(clinic, &[Category::Prescriptions]).await;
    write.write = true;
    let revoked = chain.grant(alice.address(), write).await;
    chain.revoke(alice.address(), revoked).await;
    // A grant whose provider the registry then suspends reads as suspended, not live.
    let paused = chain.provider_account(2);
    chain.register_provider(paused).await;
    chain.grant(alice.address(), chain.request(paused, &[Category::Imaging]).await).await;
    mined(chain.registry().suspendProvider(paused, medkey_e2e::chain::REASON_HASH).from(chain.admin()).send().await)
        .await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let vault = TestVault::start(&indexer).await;
    let token = vault.login(&alice, chain.chain_id()).await;

    let (status, list) = vault.call("GET", "/v1/grants", Some(&token), None).await;
    assert_eq!(status, 200, "{list}");
    let states: Vec<&str> = list.as_array().unwrap().iter().map(|g| g["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["live", "revoked", "suspended"]);
    assert_eq!(list[0]["categories"], json!(["lab_results", "vitals"]));

    let (status, bundle) = vault.call("GET", "/v1/grants?format=fhir", Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!((bundle["resourceType"].as_str(), bundle["type"].as_str()), (Some("Bundle"), Some("collection")));
    let consents: Vec<&Value> = bundle["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).collect();
    assert_eq!(consents.len(), 3);
    for consent in &consents {
        // R4 Consent: status, scope, category (1..*) and a policy rule (consent-1) are required.
        assert_eq!(consent["resourceType"], "Consent");
        assert!(
            consent["scope"]["coding"][0]["code"].is_string()
                && consent["category"][0]["coding"][0]["code"].is_string()
        );
        assert!(consent["policyRule"]["coding"][0]["code"].is_string());
        assert!(consent["provision"]["period"]["start"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(consents[0]["status"], "active");
    assert_eq!(consents[1]["status"], "inactive");
    let did = format!("did:pkh:eip155:{}:{}", chain.chain_id(), lab);
    assert_eq!(consents[0]["provision"]["actor"][0]["reference"]["identifier"]["value"], json!(did));
    assert_eq!(consents[0]["provision"]["class"][1]["code"], "vitals");
    assert_eq!(consents[1]["provision"]["action"][1]["coding"][0]["code"], "correct", "write grants allow correction");
    assert!(consents[0]["identifier"][0]["value"].as_str().unwrap().ends_with(&live.to_string()));

    let (status, err) = vault.call("GET", "/v1/grants?format=xml", Some(&token), None).await;
    assert_eq!((status, err["error"]["code"].as_str()), (400, Some("invalid_query")));
    indexer.stop().await.close().await;
    db.cleanup().await;
}
on_both_backends!(grants_are_listed_as_the_chain_has_them_and_as_fhir_consent);
