//! The TOTP second factor over HTTP, on both backends: enrolment, sign-in with a code or a
//! recovery code, each spent once, the operator's provider policy, and the secret sealed at rest.

use alloy::primitives::B256;
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::vault::TestVault;
use medkey_protocol::clock::now_ms;
use medkey_vault::limits::LimitSettings;
use serde_json::{Value, json};
use sqlx::Row;

/// What the user's authenticator app shows `offset_s` seconds from now.
fn app_code(secret_base32: &str, offset_s: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    totp.generate((now_ms() / 1_000).saturating_add_signed(offset_s)).to_string()
}

async fn totp_enrolment_sign_in_and_provider_policy(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab) = (chain.keys[1].clone(), chain.keys[3].clone());
    mined(
        chain
            .registry()
            .registerProvider(lab.address(), B256::repeat_byte(7), medkey_e2e::chain::PROFILE_HASH)
            .from(chain.admin())
            .send()
            .await,
    )
    .await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let vault = TestVault::start_with_policy(&indexer, LimitSettings::default(), true).await;
    let id = chain.chain_id();

    // Enrolment: the secret is pending until a code from it comes back.
    let token = vault.login(&alice, id).await;
    assert_eq!(vault.call("GET", "/v1/auth/mfa", Some(&token), None).await.1["enabled"], false);
    let (status, setup) = vault.call("POST", "/v1/auth/mfa/setup", Some(&token), None).await;
    assert_eq!(status, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(setup["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/Medkey:"), "{setup}");
    let wrong = json!({"code": "000000"});
    let (status, body) = vault.call("POST", "/v1/auth/mfa/enable", Some(&token), Some(wrong)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_mfa_code")));
    let (status, enabled) =
        vault.call("POST", "/v1/auth/mfa/enable", Some(&token), Some(json!({"code": app_code(&secret, 0)}))).await;
    assert_eq!(status, 200, "{enabled}");
    let recovery: Vec<String> =
        enabled["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(recovery.len(), 10);
    let again = vault.call("POST", "/v1/auth/mfa/setup", Some(&token), None).await;
    assert_eq!((again.0, again.1["error"]["code"].as_str()), (409, Some("mfa_already_enabled")));

    // Sign-in now needs the factor; the same signed message can be sent again with it.
    let signed = vault.signed_login(&alice, id).await;
    let (status, body) = vault.call("POST", "/v1/auth/login", None, Some(signed.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("mfa_required")));
    let mut with_code = signed.clone();
    with_code["totp"] = json!(app_code(&secret, 30));
    let (status, session) = vault.call("POST", "/v1/auth/login", None, Some(with_code.clone())).await;
    assert_eq!(status, 200, "{session}");
    let strong = session["access_token"].as_str().unwrap().to_owned();
    assert_eq!(vault.call("GET", "/v1/auth/mfa", Some(&strong), None).await.1["this_session"], true);
    // The same code, even with a fresh nonce, is spent.
    let replay = vault.login_with(&alice, id, json!({"totp": with_code["totp"]})).await;
    assert_eq!((replay.0, replay.1["error"]["code"].as_str()), (401, Some("invalid_mfa_code")));
    let both = vault.login_with(&alice, id, json!({"totp": "1", "recovery_code": "2"})).await;
    assert_eq!((both.0, both.1["error"]["code"].as_str()), (400, Some("malformed_mfa")));

    // A recovery code works once, however it is typed.
    let typed = recovery[0].to_uppercase().replace('-', " ");
    assert_eq!(vault.login_with(&alice, id, json!({"recovery_code": typed})).await.0, 200);
    let reused = vault.login_with(&alice, id, json!({"recovery_code": recovery[0]})).await;
    assert_eq!((reused.0, reused.1["error"]["code"].as_str()), (401, Some("invalid_mfa_code")));

    // The secret is sealed at rest: neither its bytes nor its base32 are in the database.
    let raw = totp_rs::Secret::try_from_base32(&secret).unwrap().as_ref().to_vec();
    let row = sqlx::query("SELECT secret_sealed FROM mfa_totp").fetch_one(indexer.store.pool()).await.unwrap();
    let sealed: Vec<u8> = row.get("secret_sealed");
    assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_slice()) && !sealed.windows(8).any(|w| w == &raw[..8]));
    assert_eq!(sealed.len(), 12 + raw.len() + 16, "nonce, ciphertext, tag");

    // Operator policy: a provider without a second factor may not act on records.
    let weak = vault.login(&lab, id).await;
    let path = format!("/v1/patients/{}/records", alice.address());
    let (status, body) = vault.call("GET", &path, Some(&weak), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("mfa_required")), "{body}");
    let key_path = format!("/v1/records/{}/key", "ab".repeat(16));
    assert_eq!(vault.call("GET", &key_path, Some(&weak), None).await.0, 403);
    let logged = vault.state.audit.for_actor(lab.address()).await.unwrap();
    assert!(logged.iter().any(|e| e.kind == "key_denied" && e.outcome == "mfa_required"), "{logged:?}");
    vault.call("POST", "/v1/auth/mfa/setup", Some(&weak), None).await;
    let (_, setup) = vault.call("POST", "/v1/auth/mfa/setup", Some(&weak), None).await;
    let lab_secret = setup["secret"].as_str().unwrap().to_owned();
    let enable = json!({"code": app_code(&lab_secret, 0)});
    assert_eq!(vault.call("POST", "/v1/auth/mfa/enable", Some(&weak), Some(enable)).await.0, 200);
    let (status, session) = vault.login_with(&lab, id, json!({"totp": app_code(&lab_secret, 30)})).await;
    assert_eq!(status, 200, "{session}");
    let strong_lab = session["access_token"].as_str().unwrap();
    let (status, body) = vault.call("GET", &path, Some(strong_lab), None).await;
    assert_eq!((status, body), (200, Value::Array(vec![])), "past the policy, the gate decides (no records yet)");

    // Turning it off needs a factor; afterwards the plain sign-in works again.
    let off = vault.call("POST", "/v1/auth/mfa/disable", Some(&strong), Some(json!({}))).await;
    assert_eq!((off.0, off.1["error"]["code"].as_str()), (400, Some("malformed_mfa")));
    let off = json!({"recovery_code": recovery[1]});
    assert_eq!(vault.call("POST", "/v1/auth/mfa/disable", Some(&strong), Some(off)).await.0, 204);
    vault.login(&alice, id).await;
    let stray = vault.login_with(&alice, id, json!({"totp": "123456"})).await;
    assert_eq!((stray.0, stray.1["error"]["code"].as_str()), (400, Some("mfa_not_enabled")));
    db.cleanup().await;
}
on_both_backends!(totp_enrolment_sign_in_and_provider_policy);
