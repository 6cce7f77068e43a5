//! A vault served over HTTP on a free port, on top of a running indexer, and a client that signs
//! in with SIWE like a wallet would.

use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use medkey_indexer::FreshnessPolicy;
use medkey_vault::http::{AppState, ServerLimits, router, serve};
use medkey_vault::identity::IdentityConfig;
use medkey_vault::limits::LimitSettings;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::mirror::RunningIndexer;

pub const DOMAIN: &str = "vault.medkey.test";
pub const BODY_LIMIT: usize = 256 * 1024;

pub struct TestVault {
    pub url: String,
    pub state: AppState,
    http: reqwest::Client,
}

impl TestVault {
    pub async fn start(indexer: &RunningIndexer) -> Self {
        Self::start_with(indexer, LimitSettings::default()).await
    }

    pub async fn start_with(indexer: &RunningIndexer, limits: LimitSettings) -> Self {
        Self::start_with_policy(indexer, limits, false).await
    }

    /// A vault whose relayer (an account of its own, funded) submits patients' signed grants.
    pub async fn start_relaying(indexer: &RunningIndexer, chain: &crate::chain::TestChain) -> Self {
        let state = Self::state(indexer, LimitSettings::default(), false).await;
        Self::serve(state.with_relayer(chain.funded_relayer().await)).await
    }

    /// `require_provider_mfa`: the operator policy that providers sign in with a second factor.
    pub async fn start_with_policy(
        indexer: &RunningIndexer,
        limits: LimitSettings,
        require_provider_mfa: bool,
    ) -> Self {
        Self::serve(Self::state(indexer, limits, require_provider_mfa).await).await
    }

    /// A vault keeping nonces and limits in Redis at `redis_url` under `prefix` (vaults given the
    /// same prefix share them, like replicas). Does not check that Redis answers.
    pub async fn start_with_redis(
        indexer: &RunningIndexer,
        limits: LimitSettings,
        redis_url: &str,
        prefix: &str,
    ) -> Self {
        let state = Self::state(indexer, limits, false).await.with_redis(redis_url, prefix).await.unwrap();
        Self::serve(state).await
    }

    /// The vault's state over `indexer`'s mirror, not yet served (to turn on more, like a relayer).
    pub async fn state(indexer: &RunningIndexer, limits: LimitSettings, require_provider_mfa: bool) -> AppState {
        let identity = IdentityConfig {
            domain: DOMAIN.into(),
            origin: format!("https://{DOMAIN}"),
            chain_id: indexer.chain_id,
            jwt_secret: Zeroizing::new(b"a test-only HMAC key, 32 bytes or more".to_vec()),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(86_400),
            require_provider_mfa,
            nonce_ttl: Duration::from_secs(300),
        };
        let freshness = FreshnessPolicy { max_lag_blocks: 1, max_head_age: Duration::from_secs(5) };
        AppState::new(indexer.store.clone(), indexer.chain_id, identity, freshness, limits).await.unwrap()
    }

    /// Serves `state` on a free port.
    pub async fn serve(state: AppState) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve_with(state, ServerLimits::default(), listener).await
    }

    /// Serves `state` under `limits` on `listener`, exactly as `medkey serve` does.
    pub async fn serve_with(state: AppState, limits: ServerLimits, listener: tokio::net::TcpListener) -> Self {
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = router(state.clone(), BODY_LIMIT);
        tokio::spawn(async move { serve(listener, app, limits, std::future::pending()).await.unwrap() });
        Self { url, state, http: reqwest::Client::new() }
    }

    /// Signs in with SIWE as `signer`; returns the access token.
    pub async fn login(&self, signer: &PrivateKeySigner, chain_id: u64) -> String {
        let (status, body) = self.login_with(signer, chain_id, serde_json::json!({})).await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A fresh nonce, signed by `signer`: the login body without a second factor.
    pub async fn signed_login(&self, signer: &PrivateKeySigner, chain_id: u64) -> Value {
        let (status, body) = self.call("GET", "/v1/auth/nonce", None, None).await;
        assert_eq!(status, 200, "{body}");
        let message = siwe_message(signer.address(), chain_id, body["nonce"].as_str().unwrap());
        let signature = signer.sign_message_sync(message.as_bytes()).unwrap();
        serde_json::json!({"message": message, "signature": alloy::hex::encode_prefixed(signature.as_bytes())})
    }

    /// Signs in with `extra` fields (`totp`, `recovery_code`) merged into the login body.
    pub async fn login_with(&self, signer: &PrivateKeySigner, chain_id: u64, extra: Value) -> (u16, Value) {
        let mut login = self.signed_login(signer, chain_id).await;
        for (key, value) in extra.as_object().into_iter().flatten() {
            login[key] = value.clone();
        }
        self.call("POST", "/v1/auth/login", None, Some(login)).await
    }

    /// One request; returns the status and the JSON body (Null when empty).
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method.parse().unwrap(), format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        self.send(request).await
    }

    /// Waits until the vault's view of the mirror decides at block `head` or later (the view
    /// follows the store on its own task, so a test that writes the checkpoint must wait for it).
    pub async fn wait_for_mirror_head(&self, head: u64) {
        wait_for_view(self.state.gate.mirror(), head).await;
    }

    /// Waits until the view has seen chain head `head`, whatever block it has mirrored: for a
    /// test that stops the indexer and records a head the mirror never reaches (a stale mirror).
    pub async fn wait_for_chain_head_seen(&self, head: u64) {
        for _ in 0..5_000 {
            if self.state.gate.mirror().checkpoint().is_some_and(|c| c.head_number >= head) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("the mirror view never saw chain head {head}");
    }

    /// A GET whose answer is bytes (attachments); returns the status and the body.
    pub async fn bytes(&self, path: &str, token: &str) -> (u16, Vec<u8>) {
        let response = self.http.get(format!("{}{path}", self.url)).bearer_auth(token).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }

    /// A raw request, for malformed input.
    pub async fn raw(&self, method: &str, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.url))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body);
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }
}

pub fn siwe_message(address: Address, chain_id: u64, nonce: &str) -> String {
    format!(
        "{DOMAIN} wants you to sign in with your Ethereum account:\n{address}\n\nSign in to Medkey.\n\n\
         URI: https://{DOMAIN}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: 2026-01-01T00:00:00Z"
    )
}

/// Waits until `view` (which follows the stored mirror on its own task) has mirrored block
/// `head`: after the indexer stores a block, a gate decides on it only once its view caught up.
pub async fn wait_for_view(view: &medkey_vault::MirrorView, head: u64) {
    for _ in 0..5_000 {
        // The block the view decides at, not the chain head the indexer last saw: a checkpoint can
        // name head N while its mirrored block is still N-1 (the next read brings it).
        if view.checkpoint().is_some_and(|c| c.block.number >= head) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the mirror view never saw head {head}");
}
