//! Sessions kept between commands, so a script running `medkey` fifty times signs in once
//! instead of fifty times (the vault allows 30 sign-ins a minute per address). One file per
//! (vault, account, SIWE domain) under the medkey home's `sessions/`, mode 0600 like the
//! keystore: the access token is used while it lasts, then the single-use refresh token gets a
//! new pair, and only when both are spent does the command sign in again with the wallet.

use std::path::PathBuf;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use medkey_protocol::api::{MfaStatus, RefreshBody, SessionBody};
use sha2::{Digest, Sha256};

use crate::vault_client::VaultClient;
use crate::wallet::medkey_home;

/// An access token is not reused in its last half minute (the command may take that long).
const MARGIN_SECS: u64 = 30;

/// An access token for `signer` at `vault`: the kept one, a refreshed one, or a new sign-in.
pub async fn token(
    vault: &VaultClient,
    signer: &PrivateKeySigner,
    chain_id: u64,
    domain: Option<&str>,
) -> anyhow::Result<String> {
    let path = path_for(vault.base(), signer.address(), domain);
    let now_s = crate::dates::now_ms() / 1_000;
    if let Some(kept) = read(&path).filter(|s| s.address == signer.address()) {
        // Still good here (a vault restarted with another signing secret would refuse it).
        if kept.access_expires_at > now_s + MARGIN_SECS
            && vault
                .call::<MfaStatus>(reqwest::Method::GET, "/v1/auth/mfa", Some(&kept.access_token), None::<&()>)
                .await
                .is_ok()
        {
            return Ok(kept.access_token);
        }
        if kept.refresh_expires_at_ms > crate::dates::now_ms() {
            let body = RefreshBody { refresh_token: kept.refresh_token };
            let refreshed: anyhow::Result<SessionBody> =
                vault.call(reqwest::Method::POST, "/v1/auth/refresh", None, Some(&body)).await;
            match refreshed {
                Ok(session) => return keep(&path, session),
                // Spent or revoked (signed out elsewhere): sign in afresh below.
                Err(err) => tracing::debug!("the kept session could not be refreshed: {err:#}"),
            }
        }
    }
    let session = vault.login(signer, chain_id, domain).await?;
    keep(&path, session)
}

fn path_for(vault: &str, address: Address, domain: Option<&str>) -> PathBuf {
    let key = Sha256::digest(format!("{vault}|{address}|{}", domain.unwrap_or("")));
    medkey_home().join("sessions").join(format!("{}.json", alloy::hex::encode(&key[..12])))
}

fn read(path: &std::path::Path) -> Option<SessionBody> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Saves the session (best effort: a read-only home only costs the next command a sign-in).
fn keep(path: &std::path::Path, session: SessionBody) -> anyhow::Result<String> {
    if let Err(err) = write_private(path, &serde_json::to_vec(&session)?) {
        tracing::warn!("could not keep the session in {}: {err:#}", path.display());
    }
    Ok(session.access_token)
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().expect("sessions/ has a parent");
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    crate::private_files::write_atomically(path, bytes)
}
