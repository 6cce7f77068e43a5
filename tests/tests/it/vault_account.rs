//! Account settings a patient keeps in the vault, on both backends: her wallet-signed encryption
//! key (refused unless it is her own signature of the statement for that key and chain) and her
//! break-glass providers (addresses only, validated, visible to her alone).

use alloy::signers::SignerSync;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::vault::TestVault;
use medkey_protocol::account_key;
use serde_json::json;

async fn account_settings_are_validated_and_private(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    let vault = TestVault::start(&indexer).await;
    let (alice, bob) = (chain.keys[1].clone(), chain.keys[2].clone());
    let id = chain.chain_id();
    let (alice_token, bob_token) = (vault.login(&alice, id).await, vault.login(&bob, id).await);

    let key = [7u8; 32];
    let sign = |signer: &alloy::signers::local::PrivateKeySigner, chain_id: u64, key: &[u8; 32]| {
        let statement = account_key::statement(alice.address(), chain_id, key);
        alloy::hex::encode_prefixed(signer.sign_message_sync(statement.as_bytes()).unwrap().as_bytes())
    };
    let publish = |key: &[u8; 32], signature: String| json!({"encryption_key": alloy::hex::encode_prefixed(key), "signature": signature});
    let path = "/v1/account/encryption-key";
    for (body, code) in [
        (publish(&key, sign(&bob, id, &key)), "bad_signature"),
        (publish(&key, sign(&alice, id + 1, &key)), "bad_signature"),
        (publish(&[8u8; 32], sign(&alice, id, &key)), "bad_signature"),
        (publish(&[0u8; 32], sign(&alice, id, &[0u8; 32])), "invalid_key"),
        (json!({"encryption_key": "0x1234", "signature": "0x00"}), "invalid_key"),
    ] {
        let (status, answer) = vault.call("PUT", path, Some(&alice_token), Some(body)).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some(code)), "{answer}");
    }
    let key_path = format!("/v1/accounts/{}/encryption-key", alice.address());
    assert_eq!(vault.call("GET", &key_path, Some(&bob_token), None).await.0, 404, "nothing was stored");
    let (status, _) = vault.call("PUT", path, Some(&alice_token), Some(publish(&key, sign(&alice, id, &key)))).await;
    assert_eq!(status, 204);
    let (status, published) = vault.call("GET", &key_path, Some(&bob_token), None).await;
    assert_eq!(status, 200);
    let signature = alloy::hex::decode(published["signature"].as_str().unwrap()).unwrap();
    assert!(account_key::verify(alice.address(), id, &key, &signature), "served with a signature anyone can check");
    assert_eq!(vault.call("GET", &key_path, None, None).await.0, 401);

    let providers = "/v1/account/emergency-providers";
    let er = chain.keys[4].address();
    let too_many: Vec<String> = (0..51u8).map(|i| alloy::primitives::Address::repeat_byte(i + 1).to_string()).collect();
    for (body, code) in [
        (json!({"providers": ["0x12"]}), "invalid_address"),
        (json!({"providers": [er, er]}), "invalid_providers"),
        (json!({"providers": too_many}), "invalid_providers"),
        (json!({"providers": [er], "extra": 1}), "invalid_body"),
    ] {
        let (status, answer) = vault.call("PUT", providers, Some(&alice_token), Some(body)).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some(code)), "{answer}");
    }
    let (status, _) = vault.call("PUT", providers, Some(&alice_token), Some(json!({"providers": [er]}))).await;
    assert_eq!(status, 204);
    let (_, mine) = vault.call("GET", providers, Some(&alice_token), None).await;
    assert_eq!(mine["providers"].as_array().unwrap().len(), 1, "{mine}");
    let (_, bobs) = vault.call("GET", providers, Some(&bob_token), None).await;
    assert_eq!(bobs["providers"], json!([]), "each patient sees only her own list");
    let log = vault.state.audit.for_actor(alice.address()).await.unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"encryption_key_published") && kinds.contains(&"emergency_providers_set"), "{kinds:?}");
    db.cleanup().await;
}
on_both_backends!(account_settings_are_validated_and_private);
