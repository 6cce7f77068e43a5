//! `medkey serve`'s configuration: a TOML file, then `MEDKEY_<SECTION>__<KEY>` environment
//! variables over it (figment). Every section refuses unknown keys, and everything is checked up
//! front, so a typo or a bad value stops the start with a message naming the key and where it
//! came from.
//!
//! Secrets are never part of the configuration. The vault secret, the relayer's and the
//! operator's keys, the audit signing key and the webhook secret come from their own environment
//! variables ([`VAULT_SECRET_ENV`], …) or from the files the `*_file` keys name, and are never
//! printed.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, anyhow, bail};
use ed25519_dalek::SigningKey;
use figment::Figment;
use figment::error::Actual;
use figment::providers::{Env, Format, Toml};
use medkey_indexer::{Backend, Finality, FreshnessPolicy, IndexerConfig};
use medkey_protocol::Deployment;
pub use medkey_protocol::redact::redact_url;
use medkey_vault::http::{ForwardedHeader, ServerLimits, TrustedProxies};
use medkey_vault::identity::IdentityConfig;
use medkey_vault::limits::LimitSettings;
use medkey_vault::notify::{self, NotifierConfig};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

mod checks;
mod render;
mod secrets;
mod sections;
mod settings;

pub use secrets::*;
pub use sections::*;
pub use settings::*;

/// Environment overrides are `MEDKEY_<SECTION>__<KEY>`: this prefix, then the section, two
/// underscores, and the key (`MEDKEY_VAULT__LISTEN=0.0.0.0:8080`).
pub const ENV_PREFIX: &str = "MEDKEY_";
const ENV_SEPARATOR: &str = "__";

/// The vault secret (hex, at least 32 bytes), unless `vault.secret_file` names a file holding it.
pub const VAULT_SECRET_ENV: &str = "MEDKEY_VAULT_SECRET";
/// The relayer account's private key (hex), unless `relayer.key_file` is set.
pub const RELAYER_KEY_ENV: &str = "MEDKEY_RELAYER_KEY";
/// The anchoring operator's private key (hex; the account needs `OPERATOR_ROLE`), unless
/// `anchoring.key_file` is set.
pub const OPERATOR_KEY_ENV: &str = "MEDKEY_OPERATOR_KEY";
/// The Ed25519 seed (hex, 32 bytes) that signs audit tree heads, unless `audit.key_file` is set;
/// with neither, the key is derived from the vault secret.
pub const AUDIT_KEY_ENV: &str = "MEDKEY_AUDIT_KEY";
/// The webhooks' HMAC secret (used as is, at least 32 bytes), unless
/// `notifications.secret_file` is set; read only when `[notifications]` is configured.
pub const WEBHOOK_SECRET_ENV: &str = "MEDKEY_WEBHOOK_SECRET";

/// Keys that would hold a secret: refused wherever they appear, with a pointer to the right place.
const SECRET_KEYS: [(&str, &str, &str); 10] = [
    ("vault.secret", VAULT_SECRET_ENV, "vault.secret_file"),
    ("vault.jwt_secret", VAULT_SECRET_ENV, "vault.secret_file"),
    ("identity.secret", VAULT_SECRET_ENV, "vault.secret_file"),
    ("relayer.key", RELAYER_KEY_ENV, "relayer.key_file"),
    ("relayer.private_key", RELAYER_KEY_ENV, "relayer.key_file"),
    ("anchoring.key", OPERATOR_KEY_ENV, "anchoring.key_file"),
    ("anchoring.private_key", OPERATOR_KEY_ENV, "anchoring.key_file"),
    ("audit.key", AUDIT_KEY_ENV, "audit.key_file"),
    ("notifications.secret", WEBHOOK_SECRET_ENV, "notifications.secret_file"),
    ("notifications.webhook_secret", WEBHOOK_SECRET_ENV, "notifications.secret_file"),
];

/// A configuration read and checked, with where each value came from.
pub struct Loaded {
    pub path: PathBuf,
    pub config: ServeConfig,
    figment: Figment,
    /// Things that are allowed but probably not meant; printed at start-up.
    pub warnings: Vec<String>,
}

/// Reads `path` and the `MEDKEY_<SECTION>__<KEY>` environment, and checks every value.
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => bail!("the config file {} is not a file", path.display()),
        Err(err) => bail!("cannot read the config file {}: {err}", path.display()),
    }
    let figment = Figment::new().merge(Toml::file_exact(path)).merge(env_overrides());
    for (key, env, file_key) in SECRET_KEYS {
        if figment.contains(key) {
            bail!(
                "{}: secrets are never read from the configuration; set {env} in the environment or name a \
                 file holding it with {file_key}",
                origin(&figment, key)
            );
        }
    }
    let config: ServeConfig = figment.extract().map_err(|err| {
        let problems: Vec<String> = err.into_iter().map(|err| describe(&err)).collect();
        anyhow!("invalid configuration:\n  {}", problems.join("\n  "))
    })?;
    let mut loaded = Loaded { path: path.to_owned(), config, figment, warnings: Vec::new() };
    let problems = loaded.problems();
    if !problems.is_empty() {
        bail!("invalid configuration:\n  {}", problems.join("\n  "));
    }
    loaded.warnings = loaded.collect_warnings();
    Ok(loaded)
}

/// Only variables with a `__` in them: `MEDKEY_LOG`, `MEDKEY_VAULT_SECRET` and the other
/// commands' variables are not configuration keys.
fn env_overrides() -> Env {
    Env::prefixed(ENV_PREFIX).filter(|key| key.as_str().contains(ENV_SEPARATOR)).split(ENV_SEPARATOR)
}

/// The environment variable that sets `key` (`vault.listen` → `MEDKEY_VAULT__LISTEN`).
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.split('.').map(str::to_ascii_uppercase).collect::<Vec<_>>().join(ENV_SEPARATOR))
}

/// `key` and where its value came from: the variable, the file, or the default.
fn origin(figment: &Figment, key: &str) -> String {
    format!("{key} ({})", source_of(figment, key))
}

fn source_of(figment: &Figment, key: &str) -> String {
    match figment.find_metadata(key) {
        None => "default".into(),
        Some(meta) if meta.name.contains("environment") => env_name(key),
        Some(meta) => match &meta.source {
            Some(figment::Source::File(path)) => path.display().to_string(),
            Some(other) => other.to_string(),
            None => meta.name.to_string(),
        },
    }
}

/// A figment error as `key (source): what is wrong`.
fn describe(err: &figment::Error) -> String {
    let mut path = err.path.clone();
    if let figment::error::Kind::UnknownField(field, _) = &err.kind
        && path.last() != Some(field)
    {
        path.push(field.clone());
    }
    let key = path.join(".");
    let from_env = err.metadata.as_ref().is_some_and(|meta| meta.name.contains("environment"));
    let source = match &err.metadata {
        Some(_) if from_env => env_name(&key),
        Some(meta) => match &meta.source {
            Some(figment::Source::File(path)) => path.display().to_string(),
            _ => meta.name.to_string(),
        },
        None => "configuration".into(),
    };
    let what = match &err.kind {
        figment::error::Kind::UnknownField(field, expected) => {
            format!("unknown key `{field}` (expected one of: {})", expected.join(", "))
        }
        figment::error::Kind::MissingField(field) => {
            let key = if key.is_empty() { field.to_string() } else { format!("{key}.{field}") };
            return format!("{key}: missing (set it in the file or with {})", env_name(&key));
        }
        // A value from the environment may be a secret set in the wrong variable: name its type only.
        figment::error::Kind::InvalidType(actual, expected) | figment::error::Kind::InvalidValue(actual, expected)
            if from_env && matches!(actual, Actual::Str(_) | Actual::Bytes(_) | Actual::Char(_) | Actual::Other(_)) =>
        {
            format!("invalid value: found a string (not shown), expected {expected}")
        }
        kind => kind.to_string(),
    };
    if key.is_empty() { format!("{source}: {}", what.trim_end()) } else { format!("{key} ({source}): {what}") }
}

impl Loaded {
    fn at(&self, key: &str) -> String {
        origin(&self.figment, key)
    }
}

#[cfg(test)]
mod tests {
    use super::checks::url_scheme;
    use super::sections::{defaults, notifier_defaults};
    use super::*;

    #[test]
    fn env_names_follow_the_section_and_key() {
        assert_eq!(env_name("vault.listen"), "MEDKEY_VAULT__LISTEN");
        assert_eq!(env_name("chain.rpc_url"), "MEDKEY_CHAIN__RPC_URL");
    }

    #[test]
    fn hex_errors_do_not_repeat_the_input() {
        let err = decode_hex("0xnot-a-secret-zz", "MEDKEY_X").unwrap_err().to_string();
        assert!(err.contains("MEDKEY_X is not hex") && !err.contains("not-a-secret"), "{err}");
        assert_eq!(decode_hex(" 0xAB01\n", "x").unwrap().as_slice(), [0xab, 0x01]);
    }

    #[test]
    fn webhook_defaults_are_the_vaults() {
        let vault = notifier_defaults();
        assert_eq!(defaults::webhook_max_attempts(), 8);
        assert_eq!(Duration::from_millis(defaults::webhook_first_retry_ms()), vault.first_retry);
        assert_eq!(Duration::from_secs(defaults::webhook_max_backoff_secs()), vault.max_backoff);
        assert_eq!(Duration::from_secs(defaults::webhook_attempt_timeout_secs()), vault.attempt_timeout);
    }

    #[test]
    fn url_schemes() {
        assert_eq!(url_scheme("wss://x"), Some("wss"));
        assert_eq!(url_scheme("nope"), None);
        assert_eq!(url_scheme("http://"), None);
    }
}
