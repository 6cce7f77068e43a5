//! The account a command acts as: an Ethereum key (it signs in, signs grants and sends
//! transactions) and the X25519 encryption key derived from it (data keys are wrapped to it).
//!
//! The key comes from an encrypted keystore file (Web3 Secret Storage v3, scrypt; written by
//! `crate::keystore`, read through alloy's `eth-keystore`) unlocked with a passphrase, or raw from `MEDKEY_PRIVATE_KEY` for
//! automation. The encryption key is derived from the account's signature of Medkey's statement
//! (`medkey_protocol::wallet_key`), exactly as a browser wallet derives it, so one account opens
//! the same records in the CLI and in the browser, and one secret is all there is to back up.

use std::path::PathBuf;

use alloy::primitives::Address;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, bail};
use clap::Args;
use medkey_protocol::envelope::{EncryptionPublicKey, EncryptionSecret};
use medkey_protocol::wallet_key;
use zeroize::Zeroizing;

/// Where the default keystore lives: `$MEDKEY_HOME` or `~/.medkey`.
pub fn medkey_home() -> PathBuf {
    if let Some(home) = std::env::var_os("MEDKEY_HOME") {
        return PathBuf::from(home);
    }
    std::env::var_os("HOME").map_or_else(|| PathBuf::from(".medkey"), |home| PathBuf::from(home).join(".medkey"))
}

pub fn default_keystore() -> PathBuf {
    medkey_home().join("keystore.json")
}

/// How a command finds its account; `#[command(flatten)]` it into the command's arguments.
#[derive(Debug, Clone, Args)]
pub struct WalletArgs {
    /// The account's private key (hex). For automation; prefer the environment variable.
    #[arg(long, env = "MEDKEY_PRIVATE_KEY", hide_env_values = true, global = true)]
    pub private_key: Option<String>,
    /// Encrypted keystore file (default: ~/.medkey/keystore.json, or $MEDKEY_HOME/keystore.json).
    #[arg(long, env = "MEDKEY_KEYSTORE", global = true)]
    pub keystore: Option<PathBuf>,
}

/// An unlocked account.
pub struct Wallet {
    pub signer: PrivateKeySigner,
    pub encryption: EncryptionSecret,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet").field("address", &self.address()).finish_non_exhaustive()
    }
}

impl Wallet {
    pub fn from_signer(signer: PrivateKeySigner) -> Self {
        let encryption = encryption_secret_for(&signer);
        Self { signer, encryption }
    }

    pub fn address(&self) -> Address {
        self.signer.address()
    }

    pub fn encryption_public_key(&self) -> EncryptionPublicKey {
        self.encryption.public_key()
    }
}

impl WalletArgs {
    /// Whether an account is at hand: a raw key, or a keystore file that exists.
    pub fn is_configured(&self) -> bool {
        self.private_key.is_some() || self.keystore.clone().unwrap_or_else(default_keystore).exists()
    }

    /// The raw key if given, else the keystore (asking for its passphrase).
    pub fn unlock(&self) -> anyhow::Result<Wallet> {
        if let Some(key) = &self.private_key {
            return Ok(Wallet::from_signer(parse_private_key(key)?));
        }
        let path = self.keystore.clone().unwrap_or_else(default_keystore);
        if !path.exists() {
            bail!(
                "no account: {} does not exist. Create one with `medkey keys new`, import one with \
                 `medkey keys import`, or set MEDKEY_PRIVATE_KEY",
                path.display()
            );
        }
        let passphrase = passphrase(&format!("Passphrase for {}: ", path.display()), false)?;
        let signer = PrivateKeySigner::decrypt_keystore(&path, passphrase.as_bytes())
            .map_err(|err| anyhow::anyhow!("cannot unlock {}: {err} (wrong passphrase?)", path.display()))?;
        Ok(Wallet::from_signer(signer))
    }
}

pub fn parse_private_key(text: &str) -> anyhow::Result<PrivateKeySigner> {
    text.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("MEDKEY_PRIVATE_KEY / --private-key is not a 32-byte hex private key"))
}

/// The account's X25519 key: its signature of the wallet-key statement (RFC 6979, so always the
/// same signature), through the derivation every Medkey client shares.
pub fn encryption_secret_for(signer: &PrivateKeySigner) -> EncryptionSecret {
    let statement = wallet_key::statement(signer.address());
    let signature = signer.sign_message_sync(statement.as_bytes()).expect("a local key always signs");
    wallet_key::derive(signer.address(), &signature.as_bytes()).expect("a local key's own signature derives")
}

/// The passphrase from `MEDKEY_PASSPHRASE`, else asked on the terminal (twice when `confirm`).
pub fn passphrase(prompt: &str, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    if let Ok(passphrase) = std::env::var("MEDKEY_PASSPHRASE") {
        return Ok(Zeroizing::new(passphrase));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(prompt).context("cannot read a passphrase (no terminal? set MEDKEY_PASSPHRASE)")?,
    );
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("Again: ")?);
        if *first != *again {
            bail!("the passphrases differ");
        }
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encryption_key_is_derived_and_differs_per_account() {
        let a = PrivateKeySigner::from_bytes(&[1u8; 32].into()).unwrap();
        let b = PrivateKeySigner::from_bytes(&[2u8; 32].into()).unwrap();
        assert_eq!(encryption_secret_for(&a).to_bytes(), encryption_secret_for(&a).to_bytes());
        assert_ne!(encryption_secret_for(&a).public_key(), encryption_secret_for(&b).public_key());
        assert_ne!(encryption_secret_for(&a).to_bytes(), [1u8; 32]);
    }
}
