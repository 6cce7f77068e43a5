//! Gasless sharing through the vault, on a real chain: ready-to-sign EIP-712 payloads whose
//! digest equals the registry's, a grant and a revocation signed in the patient's wallet and
//! relayed, and every way a relay request can be wrong refused precisely without gas spent.

use alloy::dyn_abi::TypedData;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::vault::TestVault;
use medkey_indexer::model::GrantState;
use medkey_protocol::consent::records_root;
use serde_json::{Value, json};

fn sign(signer: &PrivateKeySigner, payload: &Value) -> (Value, String) {
    let typed: TypedData = serde_json::from_value(payload["typed_data"].clone()).unwrap();
    let digest = typed.eip712_signing_hash().unwrap();
    assert_eq!(payload["digest"].as_str().unwrap().parse::<B256>().unwrap(), digest, "the digest the vault shows");
    let signature = signer.sign_hash_sync(&digest).unwrap();
    (payload["typed_data"].clone(), alloy::hex::encode_prefixed(signature.as_bytes()))
}

async fn grants_and_revocations_are_relayed_without_gas(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, bob, lab) = (chain.keys[1].clone(), chain.keys[2].clone(), chain.keys[3].address());
    chain.register_provider(lab).await;
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let vault = TestVault::start_relaying(&indexer, &chain).await;
    let id = chain.chain_id();
    let (alice_token, bob_token) = (vault.login(&alice, id).await, vault.login(&bob, id).await);
    let alice_balance = chain.provider.get_balance(alice.address()).await.unwrap();

    // A draft becomes typed data for the wallet; its digest is the registry's own.
    let expires = chain.now().await + 86_400;
    let draft = json!({"provider": lab, "categories": ["lab_results"], "purpose": "TREAT", "expires_at": expires});
    let (status, payload) = vault.call("POST", "/v1/grants/typed-data", Some(&alice_token), Some(draft)).await;
    assert_eq!(status, 200, "{payload}");
    let message = &payload["typed_data"]["message"];
    let request = medkey_protocol::bindings::IConsentRegistry::GrantRequest {
        provider: lab,
        categories: medkey_protocol::Category::LabResults.bit(),
        recordsRoot: B256::ZERO,
        purpose: 0,
        notBefore: message["notBefore"].as_u64().unwrap() as u32,
        expiresAt: expires as u32,
        write: false,
    };
    let deadline: U256 = serde_json::from_value(message["deadline"].clone()).unwrap();
    let on_chain = chain.registry().hashGrant(alice.address(), request, 0, deadline).call().await.unwrap();
    assert_eq!(payload["digest"].as_str().unwrap().parse::<B256>().unwrap(), on_chain);
    let (typed, signature) = sign(&alice, &payload);

    // Refused before any gas is spent: someone else's signature, a tampered message, another
    // chain's domain, garbage.
    let relay = |token: &str, typed: &Value, signature: &str| {
        let body = json!({"typed_data": typed, "signature": signature});
        let token = token.to_owned();
        let vault = &vault;
        async move { vault.call("POST", "/v1/relay", Some(&token), Some(body)).await }
    };
    let (status, body) = relay(&bob_token, &typed, &signature).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("not_your_signature")));
    let mut tampered = typed.clone();
    tampered["message"]["expiresAt"] = json!(expires + 1);
    let (status, body) = relay(&alice_token, &tampered, &signature).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_signature")), "{body}");
    let mut elsewhere = typed.clone();
    elsewhere["domain"]["chainId"] = json!(1);
    let (status, body) = relay(&alice_token, &elsewhere, &signature).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("wrong_domain")));
    let (status, body) = relay(&alice_token, &typed, "0xzz").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_signature")));

    // The real one is mined and mirrored; the patient paid nothing.
    let (status, relayed) = relay(&alice_token, &typed, &signature).await;
    assert_eq!(status, 201, "{relayed}");
    let grant_id: B256 = relayed["grant_id"].as_str().unwrap().parse().unwrap();
    indexer.wait_for_block(relayed["block_number"].as_u64().unwrap()).await;
    let mirrored = indexer.store.grant(id, grant_id).await.unwrap().expect("mirrored");
    assert_eq!((mirrored.patient, mirrored.provider), (alice.address(), lab));
    assert_eq!(mirrored.state_at(chain.now().await), GrantState::Live);
    assert_eq!(chain.provider.get_balance(alice.address()).await.unwrap(), alice_balance, "gasless for the patient");
    // A replay is the registry's GrantExists, found by simulation.
    let (status, body) = relay(&alice_token, &typed, &signature).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("refused_by_registry")));
    assert!(body["error"]["message"].as_str().unwrap().contains("GrantExists"), "{body}");

    // Revoking: only one's own grants, then signed and relayed.
    let revoke = json!({"grant_id": grant_id});
    assert_eq!(vault.call("POST", "/v1/revocations/typed-data", Some(&bob_token), Some(revoke.clone())).await.0, 404);
    let (status, payload) = vault.call("POST", "/v1/revocations/typed-data", Some(&alice_token), Some(revoke)).await;
    assert_eq!(status, 200, "{payload}");
    let (typed, signature) = sign(&alice, &payload);
    let (status, relayed) = relay(&alice_token, &typed, &signature).await;
    assert_eq!(status, 201, "{relayed}");
    indexer.wait_for_block(relayed["block_number"].as_u64().unwrap()).await;
    assert_eq!(
        indexer.store.grant(id, grant_id).await.unwrap().unwrap().state_at(chain.now().await),
        GrantState::Revoked
    );

    // A grant limited to some records registers their set, so the gate can resolve its root.
    let record = medkey_e2e::sealed::upload(
        alice.address(),
        9,
        medkey_protocol::Category::LabResults,
        "Observation",
        &[(alice.address(), &medkey_e2e::sealed::encryption_secret(0xA1))],
    );
    assert_eq!(vault.call("POST", "/v1/records", Some(&alice_token), Some(record.body)).await.0, 201);
    let draft = json!({"provider": lab, "categories": ["lab_results"], "purpose": "TREAT", "expires_at": expires,
        "records": [alloy::hex::encode(record.id)]});
    let (status, payload) = vault.call("POST", "/v1/grants/typed-data", Some(&alice_token), Some(draft)).await;
    assert_eq!(status, 200, "{payload}");
    let root: B256 = payload["typed_data"]["message"]["recordsRoot"].as_str().unwrap().parse().unwrap();
    assert_eq!(root, records_root(&[record.id]));
    assert!(medkey_vault::RecordSets::contains(&vault.state.records, root, &record.id).await.unwrap());
    let bad = json!({"provider": lab, "categories": [], "purpose": "TREAT", "expires_at": expires});
    let (status, body) = vault.call("POST", "/v1/grants/typed-data", Some(&alice_token), Some(bad)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_grant")));

    let log = vault.state.audit.for_patient(alice.address()).await.unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"grant_relayed") && kinds.contains(&"revoke_relayed"), "{kinds:?}");
    db.cleanup().await;
}
on_both_backends!(grants_and_revocations_are_relayed_without_gas);

async fn without_a_relayer_the_relay_says_so(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let vault = TestVault::start(&indexer).await;
    let token = vault.login(&chain.keys[1], chain.chain_id()).await;
    let draft = json!({"provider": Address::ZERO, "categories": ["lab_results"], "purpose": "TREAT", "expires_at": 4_000_000_000u32});
    let (status, body) = vault.call("POST", "/v1/grants/typed-data", Some(&token), Some(draft)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("relay_not_configured")));
    let (status, _) =
        vault.call("POST", "/v1/relay", Some(&token), Some(json!({"typed_data": {}, "signature": "0x"}))).await;
    assert!(status == 400 || status == 503, "malformed or unavailable, never accepted: {status}");
    db.cleanup().await;
}
on_both_backends!(without_a_relayer_the_relay_says_so);
