//! Vault sign-in on both backends: SIWE with single-use nonces, JWT access tokens that refuse
//! `alg: none`, other keys, other algorithms and expiry, and refresh-token rotation where reuse
//! revokes the whole session.

use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::on_both_backends;
use medkey_indexer::Store;
use medkey_protocol::clock::now_ms;
use medkey_vault::identity::{Identity, IdentityConfig, LoginError, RefreshError, TokenError};
use zeroize::Zeroizing;

const SECRET: &[u8] = b"an HMAC key of at least 32 bytes, for tests only";

fn config() -> IdentityConfig {
    IdentityConfig {
        domain: "vault.medkey.test".into(),
        origin: "https://vault.medkey.test".into(),
        chain_id: 31337,
        jwt_secret: Zeroizing::new(SECRET.to_vec()),
        access_ttl: Duration::from_secs(15 * 60),
        refresh_ttl: Duration::from_secs(30 * 86_400),
        require_provider_mfa: false,
        nonce_ttl: Duration::from_secs(300),
    }
}

fn siwe_message(domain: &str, address: Address, chain_id: u64, nonce: &str, expiration: Option<&str>) -> String {
    let mut message = format!(
        "{domain} wants you to sign in with your Ethereum account:\n{address}\n\nSign in to Medkey.\n\n\
         URI: https://{domain}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: 2026-01-01T00:00:00Z"
    );
    if let Some(expiration) = expiration {
        message.push_str(&format!("\nExpiration Time: {expiration}"));
    }
    message
}

fn sign(signer: &PrivateKeySigner, message: &str) -> Vec<u8> {
    signer.sign_message_sync(message.as_bytes()).unwrap().as_bytes().to_vec()
}

async fn identity(db: &TestDb) -> (Identity, Store) {
    let store = Store::connect(&db.url).await.unwrap();
    let pool = medkey_vault::db::migrate(&store).await.unwrap();
    (Identity::new(pool, config()).unwrap(), store)
}

async fn siwe_login_with_single_use_nonces(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (identity, store) = identity(&db).await;
    let alice = PrivateKeySigner::random();
    let mallory = PrivateKeySigner::random();
    let now = now_ms();

    let nonce = identity.issue_nonce(now).await.unwrap();
    let message = siwe_message("vault.medkey.test", alice.address(), 31337, &nonce, None);
    // A signature by someone else fails and does not burn the nonce.
    let err = identity.login(&message, &sign(&mallory, &message), None, now).await.unwrap_err();
    assert!(matches!(err, LoginError::BadSignature), "{err}");
    let session = identity.login(&message, &sign(&alice, &message), None, now).await.unwrap();
    assert_eq!(session.address, alice.address());
    assert_eq!(identity.verify_access(&session.access_token).unwrap().sub, alice.address());
    assert!(session.access_expires_at <= now / 1_000 + 15 * 60);

    let replay = identity.login(&message, &sign(&alice, &message), None, now).await.unwrap_err();
    assert!(matches!(replay, LoginError::NonceRejected), "a nonce works once: {replay}");
    let unknown = siwe_message("vault.medkey.test", alice.address(), 31337, "notissuedbyvault1", None);
    assert!(matches!(
        identity.login(&unknown, &sign(&alice, &unknown), None, now).await,
        Err(LoginError::NonceRejected)
    ));
    let stale_nonce = identity.issue_nonce(now).await.unwrap();
    let late = siwe_message("vault.medkey.test", alice.address(), 31337, &stale_nonce, None);
    let err = identity.login(&late, &sign(&alice, &late), None, now + 301_000).await.unwrap_err();
    assert!(matches!(err, LoginError::NonceRejected), "expired nonce: {err}");

    let nonce = identity.issue_nonce(now).await.unwrap();
    for (message, expected) in [
        (siwe_message("evil.example", alice.address(), 31337, &nonce, None), "wrong_domain"),
        (siwe_message("vault.medkey.test", alice.address(), 1, &nonce, None), "wrong_chain"),
        (
            siwe_message("vault.medkey.test", alice.address(), 31337, &nonce, Some("2026-01-01T00:05:00Z")),
            "login_expired",
        ),
        ("hello".to_owned(), "malformed_login"),
    ] {
        let err = identity.login(&message, &sign(&alice, &message), None, now).await.unwrap_err();
        assert_eq!(err.code(), expected, "{message}: {err}");
    }
    let message = siwe_message("vault.medkey.test", alice.address(), 31337, &nonce, None);
    assert_eq!(identity.login(&message, &[0u8; 64], None, now).await.unwrap_err().code(), "malformed_login");
    identity
        .login(&message, &sign(&alice, &message), None, now)
        .await
        .expect("the rejected attempts left the nonce usable");
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(siwe_login_with_single_use_nonces);

async fn refresh_rotates_and_reuse_revokes_the_family(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (identity, store) = identity(&db).await;
    let alice = PrivateKeySigner::random();
    let now = now_ms();
    let nonce = identity.issue_nonce(now).await.unwrap();
    let message = siwe_message("vault.medkey.test", alice.address(), 31337, &nonce, None);
    let first = identity.login(&message, &sign(&alice, &message), None, now).await.unwrap();

    let second = identity.refresh(&first.refresh_token, now + 1_000).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.address, alice.address());
    let sid = identity.verify_access(&second.access_token).unwrap().sid;
    assert!(identity.session_open(&sid).await.unwrap());

    // The old token shows up again: someone copied it. Both it and the current one die.
    assert!(matches!(identity.refresh(&first.refresh_token, now + 2_000).await, Err(RefreshError::Reused)));
    assert!(matches!(identity.refresh(&second.refresh_token, now + 3_000).await, Err(RefreshError::Reused)));
    assert!(!identity.session_open(&sid).await.unwrap());
    assert!(matches!(identity.refresh("not-a-token", now).await, Err(RefreshError::Invalid)));

    // Logout closes a family; an expired refresh token is refused.
    let nonce = identity.issue_nonce(now).await.unwrap();
    let message = siwe_message("vault.medkey.test", alice.address(), 31337, &nonce, None);
    let other = identity.login(&message, &sign(&alice, &message), None, now).await.unwrap();
    assert!(matches!(
        identity.refresh(&other.refresh_token, other.refresh_expires_at_ms).await,
        Err(RefreshError::Invalid)
    ));
    identity.logout(&other.refresh_token, now).await.unwrap();
    let sid = identity.verify_access(&other.access_token).unwrap().sid;
    assert!(!identity.session_open(&sid).await.unwrap());
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(refresh_rotates_and_reuse_revokes_the_family);

#[tokio::test]
async fn forged_and_expired_access_tokens_are_refused() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (identity, store) = identity(&db).await;
    let now = now_ms() / 1_000;
    let claims = |exp: u64, iss: &str| {
        serde_json::json!({
            "sub": Address::repeat_byte(7), "sid": "00", "iat": now, "exp": exp, "iss": iss, "aud": "medkey-api"
        })
    };
    let token = |alg, key: &[u8], claims: &serde_json::Value| {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
    };
    let good = token(Algorithm::HS256, SECRET, &claims(now + 60, "medkey-vault"));
    assert!(identity.verify_access(&good).is_ok(), "the control token verifies");
    let expired = token(Algorithm::HS256, SECRET, &claims(now - 1, "medkey-vault"));
    assert!(matches!(identity.verify_access(&expired), Err(TokenError::Expired)));
    for forged in [
        token(Algorithm::HS256, b"another key that is also at least 32 bytes", &claims(now + 60, "medkey-vault")),
        token(Algorithm::HS512, SECRET, &claims(now + 60, "medkey-vault")),
        token(Algorithm::HS256, SECRET, &claims(now + 60, "someone-else")),
        // alg "none": header and claims, empty signature.
        {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let body = b64.encode(claims(now + 60, "medkey-vault").to_string());
            format!("{header}.{body}.")
        },
        "not.a.jwt".to_owned(),
    ] {
        assert!(matches!(identity.verify_access(&forged), Err(TokenError::Invalid)), "{forged}");
    }
    let short = IdentityConfig { jwt_secret: Zeroizing::new(b"short".to_vec()), ..config() };
    assert!(Identity::new(store.pool().clone(), short).is_err());
    let long = IdentityConfig { access_ttl: Duration::from_secs(16 * 60), ..config() };
    assert!(Identity::new(store.pool().clone(), long).is_err());
    store.close().await;
    db.cleanup().await;
}

/// EIP-4361 messages as libraries build them: the `siwe` crate's own `Message`, and the form with
/// a scheme before the domain (viem's `createSiweMessage({ scheme })`). The URI must be on the
/// vault's origin and the scheme, if any, its scheme.
async fn siwe_checks_the_uri_and_accepts_the_optional_scheme(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (identity, _store) = identity(&db).await;
    let alice = PrivateKeySigner::random();
    let now = now_ms();
    let built = |nonce: &str, uri: &str| {
        siwe::Message {
            domain: "vault.medkey.test".parse().unwrap(),
            address: alice.address().into_array(),
            statement: Some("Sign in to Medkey.".into()),
            uri: uri.parse().unwrap(),
            version: siwe::Version::V1,
            chain_id: 31337,
            nonce: nonce.into(),
            issued_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            expiration_time: None,
            not_before: None,
            request_id: None,
            resources: vec![],
        }
        .to_string()
    };

    for (uri, scheme, code) in [
        ("https://evil.example/", None, "wrong_uri"),
        ("http://vault.medkey.test", None, "wrong_uri"),
        ("https://vault.medkey.test:8443/", None, "wrong_uri"),
        ("https://vault.medkey.test/login", Some("http"), "wrong_uri"),
    ] {
        let nonce = identity.issue_nonce(now).await.unwrap();
        let mut message = built(&nonce, uri);
        if let Some(scheme) = scheme {
            message = format!("{scheme}://{message}");
        }
        let err = identity.login(&message, &sign(&alice, &message), None, now).await.unwrap_err();
        assert_eq!(err.code(), code, "{message}");
    }
    for (uri, scheme) in [("https://vault.medkey.test", None), ("https://vault.medkey.test/login", Some("https"))] {
        let nonce = identity.issue_nonce(now).await.unwrap();
        let mut message = built(&nonce, uri);
        if let Some(scheme) = scheme {
            message = format!("{scheme}://{message}");
        }
        let session = identity.login(&message, &sign(&alice, &message), None, now).await.unwrap();
        assert_eq!(session.address, alice.address(), "{message}");
    }
    // The signature covers the scheme: a signature over the message without it does not do.
    let nonce = identity.issue_nonce(now).await.unwrap();
    let plain = built(&nonce, "https://vault.medkey.test");
    let err = identity.login(&format!("https://{plain}"), &sign(&alice, &plain), None, now).await.unwrap_err();
    assert_eq!(err.code(), "bad_signature");
    db.cleanup().await;
}
on_both_backends!(siwe_checks_the_uri_and_accepts_the_optional_scheme);
