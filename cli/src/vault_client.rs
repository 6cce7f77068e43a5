//! The vault as a client sees it: JSON over HTTP and Sign-In with Ethereum.

use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use anyhow::Context;
use medkey_protocol::api::{
    AttachmentStored, ConsistencyAnswer, ErrorBody, LoginBody, Nonce, OperatorKey, SessionBody,
};
use medkey_protocol::audit::SignedTreeHead;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A refusal from the vault: its HTTP status and `{error: {code, message}}`.
#[derive(Debug, thiserror::Error)]
#[error("the vault refused ({status} {code}): {message}")]
pub struct VaultError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

pub struct VaultClient {
    http: reqwest::Client,
    base: String,
}

impl VaultClient {
    pub fn new(base: &str) -> Self {
        Self { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_owned() }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Any JSON call; a non-2xx answer becomes a [`VaultError`] with the vault's code and message.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        self.call(method, path, token, body).await
    }

    /// A call with a typed body and answer (the shared `medkey_protocol::api` types); an empty
    /// answer (204) reads as JSON `null`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> anyhow::Result<T> {
        let mut waited = 0;
        let response = loop {
            let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.with_context(|| format!("reaching the vault at {}", self.base))?;
            // Too many requests: wait as long as the vault asks (a few times, a minute at most each).
            match retry_after(&response) {
                Some(secs) if waited < 3 => {
                    eprintln!(
                        "the vault is busy with this account's requests; waiting {secs} s as it asks, then trying again"
                    );
                    tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                    waited += 1;
                }
                _ => break response,
            }
        };
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(refusal(status, &method, path, &text).into());
        }
        let text = if text.trim().is_empty() { "null" } else { &text };
        serde_json::from_str(text)
            .with_context(|| format!("{method} {path}: the vault's answer is not what the API documents"))
    }

    /// Streams a file (attachment ciphertext) with PUT.
    pub async fn put_file(&self, path: &str, token: &str, file: tokio::fs::File) -> anyhow::Result<AttachmentStored> {
        let response = self
            .http
            .put(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(reqwest::Body::from(file))
            .send()
            .await
            .with_context(|| format!("reaching the vault at {}", self.base))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(refusal(status, &reqwest::Method::PUT, path, &text).into());
        }
        serde_json::from_str(&text)
            .with_context(|| format!("PUT {path}: the vault's answer is not what the API documents"))
    }

    /// Downloads raw bytes (attachment ciphertext) into a private temporary file, as they
    /// arrive: memory stays flat whatever the size.
    pub async fn get_to_file(&self, path: &str, token: &str) -> anyhow::Result<std::fs::File> {
        use std::io::{Seek, Write};
        let mut response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("reaching the vault at {}", self.base))?;
        let status = response.status();
        if !status.is_success() {
            return Err(refusal(status, &reqwest::Method::GET, path, &response.text().await?).into());
        }
        let mut file = tempfile::tempfile().context("a temporary file for a download")?;
        while let Some(chunk) = response.chunk().await.with_context(|| format!("GET {path}: the download broke off"))? {
            file.write_all(&chunk)?;
        }
        file.rewind()?;
        Ok(file)
    }

    /// The operator's audit key document (`/.well-known/medkey-audit-key`).
    pub async fn operator_key(&self) -> anyhow::Result<OperatorKey> {
        self.call(reqwest::Method::GET, "/.well-known/medkey-audit-key", None, None::<&()>).await
    }

    /// The current signed tree head (not yet verified: the caller checks the signature).
    pub async fn tree_head(&self) -> anyhow::Result<SignedTreeHead> {
        self.call(reqwest::Method::GET, "/v1/audit/tree-head", None, None::<&()>).await
    }

    /// A signed head and the proof that the log at size `from` is a prefix of it.
    pub async fn consistency(&self, from: u64) -> anyhow::Result<ConsistencyAnswer> {
        self.call(reqwest::Method::GET, &format!("/v1/audit/consistency?from={from}"), None, None::<&()>).await
    }

    /// Signs in with SIWE; `domain` defaults to the vault URL's host and port. Returns the
    /// session (access and refresh tokens); see `session_cache` for reusing it.
    pub async fn login(
        &self,
        signer: &PrivateKeySigner,
        chain_id: u64,
        domain: Option<&str>,
    ) -> anyhow::Result<SessionBody> {
        let domain = domain.map_or_else(|| self.base.split("://").last().unwrap_or("").to_owned(), str::to_owned);
        let Nonce { nonce, uri } = self.call(reqwest::Method::GET, "/v1/auth/nonce", None, None::<&()>).await?;
        // The URI is the vault's public origin, as it says; the domain stays the one this client
        // chose, so a message signed here is good for no other vault.
        let issued = time_now_rfc3339();
        let message = format!(
            "{domain} wants you to sign in with your Ethereum account:\n{}\n\nSign in to Medkey.\n\n\
             URI: {uri}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {issued}",
            signer.address()
        );
        let signature = alloy::hex::encode_prefixed(signer.sign_message_sync(message.as_bytes())?.as_bytes());
        let body = LoginBody { message, signature, totp: None, recovery_code: None };
        let session: SessionBody = self
            .call(reqwest::Method::POST, "/v1/auth/login", None, Some(&body))
            .await
            .map_err(|err| anyhow::anyhow!("signing in to the vault failed: {}", vault_message(&err)))?;
        Ok(session)
    }
}

/// For a 429 answer, the seconds its `Retry-After` asks for (1 to 60; a longer wait is reported
/// as the error it is instead).
fn retry_after(response: &reqwest::Response) -> Option<u64> {
    if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let secs: u64 = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    (1..=60).contains(&secs).then_some(secs)
}

fn time_now_rfc3339() -> String {
    let format = time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::now_utc())
        .format(&format)
        .unwrap_or_default()
}

/// A non-2xx answer as a [`VaultError`]: the vault's code and sentence when it sent its error body.
fn refusal(status: reqwest::StatusCode, method: &reqwest::Method, path: &str, text: &str) -> VaultError {
    let (code, message) = match serde_json::from_str::<ErrorBody>(text) {
        Ok(body) => (body.error.code, body.error.message),
        Err(_) => ("unknown".to_owned(), format!("HTTP {status}, no message")),
    };
    VaultError { status: status.as_u16(), code, message: format!("{method} {path}: {message}") }
}

/// The vault's own sentence for a refusal, or the error itself.
fn vault_message(err: &anyhow::Error) -> String {
    match err.downcast_ref::<VaultError>() {
        Some(refusal) => refusal.message.split_once(": ").map_or(refusal.message.clone(), |(_, m)| m.to_owned()),
        None => format!("{err:#}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;

    use super::*;

    /// A vault stand-in that answers 429 with `Retry-After: {retry}` to the first `busy` requests.
    async fn busy_vault(busy: u32, retry: &'static str) -> (String, Arc<AtomicU32>) {
        let seen = Arc::new(AtomicU32::new(0));
        let counter = seen.clone();
        let app = axum::Router::new().route(
            "/v1/thing",
            axum::routing::get(move || {
                let counter = counter.clone();
                async move {
                    if counter.fetch_add(1, Ordering::SeqCst) < busy {
                        let body = r#"{"error":{"code":"rate_limited","message":"too many requests"}}"#;
                        let mut answer = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
                        answer.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(retry));
                        answer
                    } else {
                        axum::Json(serde_json::json!({"ok": true})).into_response()
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, seen)
    }

    #[tokio::test]
    async fn a_429_is_waited_out_as_the_vault_asks() {
        let (base, seen) = busy_vault(1, "1").await;
        let started = std::time::Instant::now();
        let answer: Value =
            VaultClient::new(&base).call(reqwest::Method::GET, "/v1/thing", None, None::<&()>).await.unwrap();
        assert_eq!(answer["ok"], true);
        assert_eq!(seen.load(Ordering::SeqCst), 2, "asked again once");
        assert!(started.elapsed() >= std::time::Duration::from_secs(1), "waited the second it asked for");
    }

    #[tokio::test]
    async fn a_wait_longer_than_a_minute_is_the_refusal_it_is() {
        let (base, seen) = busy_vault(1, "3600").await;
        let err = VaultClient::new(&base).call::<Value>(reqwest::Method::GET, "/v1/thing", None, None::<&()>).await;
        let refusal = err.unwrap_err().downcast::<VaultError>().unwrap();
        assert_eq!((refusal.status, refusal.code.as_str()), (429, "rate_limited"));
        assert_eq!(seen.load(Ordering::SeqCst), 1, "not asked again");
    }
}
