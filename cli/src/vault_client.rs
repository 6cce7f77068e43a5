//! The vault as a client sees it: JSON over HTTP and Sign-In with Ethereum.

use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use anyhow::{Context, bail};
use serde_json::{Value, json};

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

    /// A GET answering JSON; a non-2xx answer becomes an error with the vault's message.
    pub async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    /// Any JSON call; a non-2xx answer becomes a [`VaultError`] with the vault's code and message.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.with_context(|| format!("reaching the vault at {}", self.base))?;
        let status = response.status();
        let body: Value = serde_json::from_str(&response.text().await?).unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(VaultError {
                status: status.as_u16(),
                code: body["error"]["code"].as_str().unwrap_or("unknown").to_owned(),
                message: format!("{method} {path}: {}", body["error"]["message"].as_str().unwrap_or("no message")),
            }
            .into());
        }
        Ok(body)
    }

    /// Streams a file (attachment ciphertext) with PUT.
    pub async fn put_file(&self, path: &str, token: &str, file: tokio::fs::File) -> anyhow::Result<Value> {
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
        let body: Value = serde_json::from_str(&response.text().await?).unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "the vault answered {status} to PUT {path}: {}",
                body["error"]["message"].as_str().unwrap_or("no message")
            );
        }
        Ok(body)
    }

    /// Downloads raw bytes (attachment ciphertext).
    pub async fn get_bytes(&self, path: &str, token: &str) -> anyhow::Result<Vec<u8>> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("reaching the vault at {}", self.base))?;
        let status = response.status();
        if !status.is_success() {
            let body: Value = serde_json::from_str(&response.text().await?).unwrap_or(Value::Null);
            bail!(
                "the vault answered {status} to GET {path}: {}",
                body["error"]["message"].as_str().unwrap_or("no message")
            );
        }
        Ok(response.bytes().await?.to_vec())
    }

    /// Signs in with SIWE; `domain` defaults to the vault URL's host and port. Returns the access
    /// token.
    pub async fn login(
        &self,
        signer: &PrivateKeySigner,
        chain_id: u64,
        domain: Option<&str>,
    ) -> anyhow::Result<String> {
        let domain = domain.map_or_else(|| self.base.split("://").last().unwrap_or("").to_owned(), str::to_owned);
        let answer = self.get("/v1/auth/nonce", None).await?;
        let nonce = answer["nonce"].as_str().context("no nonce")?;
        // The URI is the vault's public origin, as it says; the domain stays the one this client
        // chose, so a message signed here is good for no other vault.
        let uri = answer["uri"].as_str().map_or_else(|| format!("https://{domain}"), str::to_owned);
        let issued = time_now_rfc3339();
        let message = format!(
            "{domain} wants you to sign in with your Ethereum account:\n{}\n\nSign in to Medkey.\n\n\
             URI: {uri}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {issued}",
            signer.address()
        );
        let signature = signer.sign_message_sync(message.as_bytes())?;
        let body = json!({"message": message, "signature": alloy::hex::encode_prefixed(signature.as_bytes())});
        let response = self.http.post(format!("{}/v1/auth/login", self.base)).json(&body).send().await?;
        let status = response.status();
        let answer: Value = serde_json::from_str(&response.text().await?).unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("signing in to the vault failed: {}", answer["error"]["message"].as_str().unwrap_or("no message"));
        }
        Ok(answer["access_token"].as_str().context("no access token")?.to_owned())
    }
}

fn time_now_rfc3339() -> String {
    let format = time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::now_utc())
        .format(&format)
        .unwrap_or_default()
}
