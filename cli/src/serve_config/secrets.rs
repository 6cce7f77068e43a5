//! Secrets, which are never part of the configuration: each from its environment variable or
//! from the file its `*_file` key names, never both, never printed.

use alloy::signers::local::PrivateKeySigner;
use anyhow::{anyhow, bail};
use ed25519_dalek::SigningKey;
use medkey_vault::notify::{self, NotifierConfig};
use std::path::Path;
use std::time::Duration;
use zeroize::Zeroizing;

use super::loaded::*;
use super::sections::*;

impl Loaded {
    /// Reads and checks every secret the configuration turns on.
    pub fn secrets(&self) -> anyhow::Result<Secrets> {
        let c = &self.config;
        let (secret, from) = read_secret(VAULT_SECRET_ENV, c.vault.secret_file.as_deref(), "vault.secret_file")?
            .ok_or_else(|| {
                anyhow!(
                    "no vault secret: set {VAULT_SECRET_ENV} (hex, at least 32 bytes: `openssl rand -hex 32`) or name \
                     a file holding it with vault.secret_file; medkey serve never starts with a default secret"
                )
            })?;
        let vault_secret = decode_hex(&secret, &from)?;
        if vault_secret.len() < 32 {
            bail!("{from}: the vault secret must be at least 32 bytes (64 hex digits), not {}", vault_secret.len());
        }
        if vault_secret.iter().all(|b| *b == vault_secret[0]) {
            bail!("{from}: the vault secret is one byte repeated; generate one with `openssl rand -hex 32`");
        }
        let relayer = match c.relayer.enabled {
            false => None,
            true => {
                Some(signer(RELAYER_KEY_ENV, c.relayer.key_file.as_deref(), "relayer.key_file", "relayer.enabled")?)
            }
        };
        let operator = match c.anchoring.enabled {
            false => None,
            true => Some(signer(
                OPERATOR_KEY_ENV,
                c.anchoring.key_file.as_deref(),
                "anchoring.key_file",
                "anchoring.enabled",
            )?),
        };
        if let (Some(relayer), Some(operator)) = (&relayer, &operator)
            && relayer.0.address() == operator.0.address()
        {
            bail!(
                "the relayer ({}) and the anchoring operator ({}) are the same account {}: give each its own key, or \
                 their transactions race for nonces",
                relayer.1,
                operator.1,
                relayer.0.address()
            );
        }
        let audit_key = match read_secret(AUDIT_KEY_ENV, c.audit.key_file.as_deref(), "audit.key_file")? {
            None => None,
            Some((seed, from)) => {
                let seed = decode_hex(&seed, &from)?;
                let seed: Zeroizing<[u8; 32]> =
                    Zeroizing::new(seed.as_slice().try_into().map_err(|_| {
                        anyhow!("{from}: an Ed25519 seed is 32 bytes (64 hex digits), not {}", seed.len())
                    })?);
                Some((SigningKey::from_bytes(&seed), from))
            }
        };
        let notifier = match &c.notifications {
            None => None,
            Some(n) => Some(self.notifier(n)?),
        };
        Ok(Secrets { vault_secret, vault_secret_from: from, relayer, operator, audit_key, notifier })
    }

    /// The webhooks' settings with their secret, built and checked by the vault's own
    /// [`NotifierConfig::new`]; the second value says where the secret came from.
    pub(super) fn notifier(&self, n: &NotificationsConfig) -> anyhow::Result<(NotifierConfig, String)> {
        let (secret, from) = read_secret(WEBHOOK_SECRET_ENV, n.secret_file.as_deref(), "notifications.secret_file")?
            .ok_or_else(|| {
                anyhow!(
                    "[notifications] is configured but no webhook secret is set: set {WEBHOOK_SECRET_ENV} (at least \
                     {} bytes, used as is: `openssl rand -hex 32`) or name a file holding it with \
                     notifications.secret_file",
                    notify::MIN_SECRET_LEN
                )
            })?;
        let secret = secret.trim();
        let mut config = NotifierConfig::new(&n.url, secret.as_bytes()).map_err(|err| match err {
            notify::ConfigError::ShortSecret => anyhow!("{from}: {err}, not {}", secret.len()),
            notify::ConfigError::Url => anyhow!("{}: {err}", self.at("notifications.url")),
        })?;
        config.max_attempts = n.max_attempts;
        config.first_retry = Duration::from_millis(n.first_retry_ms);
        config.max_backoff = Duration::from_secs(n.max_backoff_secs);
        config.attempt_timeout = Duration::from_secs(n.attempt_timeout_secs);
        Ok((config, from))
    }
}

/// The secrets, each with where it came from (a variable's name or a file's path, never the
/// value). Not `Debug`, so it cannot end up in a log line by accident.
pub struct Secrets {
    pub vault_secret: Zeroizing<Vec<u8>>,
    pub vault_secret_from: String,
    pub relayer: Option<(PrivateKeySigner, String)>,
    pub operator: Option<(PrivateKeySigner, String)>,
    pub audit_key: Option<(SigningKey, String)>,
    /// Webhook notifications (their config holds the secret), with where the secret came from.
    pub notifier: Option<(NotifierConfig, String)>,
}

impl Secrets {
    /// The key that signs tree heads: the configured one, else derived from the vault secret
    /// (as the vault itself derives it).
    pub fn audit_signing_key(&self) -> SigningKey {
        match &self.audit_key {
            Some((key, _)) => key.clone(),
            None => medkey_vault::http::derived_audit_key(&self.vault_secret),
        }
    }

    pub fn audit_public_key_hex(&self) -> String {
        alloy::hex::encode(self.audit_signing_key().verifying_key().as_bytes())
    }

    pub fn audit_key_source(&self) -> String {
        match &self.audit_key {
            Some((_, from)) => format!("from {from}"),
            None => {
                format!("derived from the vault secret; set {AUDIT_KEY_ENV} or audit.key_file for a key of its own")
            }
        }
    }
}

/// A secret from the variable `env` or the file `file` (not both); `None` when neither is set.
/// The second value says where it came from, for messages.
pub(super) fn read_secret(
    env: &str,
    file: Option<&Path>,
    file_key: &str,
) -> anyhow::Result<Option<(Zeroizing<String>, String)>> {
    let from_env = match std::env::var(env) {
        Ok(value) if !value.trim().is_empty() => Some(Zeroizing::new(value)),
        Ok(_) | Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => bail!("{env} is not valid UTF-8"),
    };
    match (from_env, file) {
        (Some(_), Some(path)) => {
            bail!("both {env} and {file_key} ({}) are set: use one or the other", path.display())
        }
        (Some(value), None) => Ok(Some((value, env.to_owned()))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map(Zeroizing::new)
                .map_err(|err| anyhow!("{file_key}: cannot read {}: {err}", path.display()))?;
            warn_if_shared(path, file_key);
            Ok(Some((text, format!("{file_key} {}", path.display()))))
        }
        (None, None) => Ok(None),
    }
}

/// A private key for a sender (relayer, operator); required because `enabled_key` is true.
pub(super) fn signer(
    env: &str,
    file: Option<&Path>,
    file_key: &str,
    enabled_key: &str,
) -> anyhow::Result<(PrivateKeySigner, String)> {
    let (text, from) = read_secret(env, file, file_key)?
        .ok_or_else(|| anyhow!("{enabled_key} is true but no key is set: set {env} (hex private key) or {file_key}"))?;
    let bytes = decode_hex(&text, &from)?;
    if bytes.len() != 32 {
        bail!("{from}: a private key is 32 bytes (64 hex digits), not {}", bytes.len());
    }
    let signer =
        PrivateKeySigner::from_slice(&bytes).map_err(|_| anyhow!("{from}: not a valid secp256k1 private key"))?;
    Ok((signer, from))
}

/// Hex (with or without `0x`, surrounding whitespace ignored) to bytes; the error never
/// repeats the input.
pub(super) fn decode_hex(text: &str, from: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.is_empty() || !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{from} is not hex (expected an even number of 0-9a-f digits, optionally after 0x)");
    }
    alloy::hex::decode(digits).map(Zeroizing::new).map_err(|_| anyhow!("{from} is not hex"))
}

/// Key files should be readable by the service alone.
pub(super) fn warn_if_shared(path: &Path, file_key: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "warning: {file_key} {} can be read by other users (mode {:o}); chmod 600 it",
            path.display(),
            meta.permissions().mode() & 0o777
        );
    }
}
