//! `medkey serve` as an operator runs it, for the tests: the real binary with a clean
//! environment, a config file in a temp dir, and signing in to the vault it serves.

use std::path::{Path, PathBuf};
use std::process::Command;

use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use serde_json::{Value, json};

use crate::daemon::Daemon;
use crate::vault::{DOMAIN, siwe_message};

pub fn hex_key(signer: &PrivateKeySigner) -> String {
    alloy::hex::encode(signer.to_bytes())
}

/// A running `medkey serve`.
pub type Serve = Daemon;

/// `medkey serve` with a clean environment (only `PATH` and `env`), run in `dir`.
pub fn command(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = crate::medkey_command();
    cmd.arg("serve").args(args).current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd
}

/// `medkey serve --config CONFIG`, running.
pub fn start_serve(dir: &Path, config: &Path, env: &[(&str, String)]) -> Serve {
    Daemon::spawn("medkey serve", command(dir, &["--config", config.to_str().unwrap()], env))
}

/// Runs `medkey serve ARGS` to completion: exit code, stdout, stderr.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, String)]) -> (Option<i32>, String, String) {
    let out = command(dir, args, env).output().expect("medkey runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

pub fn write_secret_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = write(dir, name, text);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A minimal valid configuration for `chain`'s node, the registry named in the file.
pub fn base_config(rpc_url: &str, registry: &str, deploy_block: u64, database_url: &str) -> String {
    format!(
        r#"
[chain]
rpc_url = "{rpc_url}"
chain_id = 31337
registry = "{registry}"
deploy_block = {deploy_block}
poll_interval_ms = 50

[database]
url = "{database_url}"

[identity]
domain = "{DOMAIN}"

[blobs]
dir = "blobs"
"#
    )
}

/// Signs in with SIWE; returns the access token.
pub async fn login(http: &reqwest::Client, base: &str, signer: &PrivateKeySigner) -> String {
    let (status, body) = try_login(http, base, signer, None).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A login with a fresh nonce, or with `nonce` when given.
pub async fn try_login(
    http: &reqwest::Client,
    base: &str,
    signer: &PrivateKeySigner,
    nonce: Option<&str>,
) -> (u16, Value) {
    let nonce = match nonce {
        Some(nonce) => nonce.to_owned(),
        None => new_nonce(http, base).await,
    };
    let message = siwe_message(signer.address(), 31337, &nonce);
    let signature = signer.sign_message_sync(message.as_bytes()).unwrap();
    let body = json!({"message": message, "signature": alloy::hex::encode_prefixed(signature.as_bytes())});
    let response = http
        .post(format!("{base}/v1/auth/login"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

pub async fn new_nonce(http: &reqwest::Client, base: &str) -> String {
    let response = http.get(format!("{base}/v1/auth/nonce")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["nonce"].as_str().unwrap().to_owned()
}
