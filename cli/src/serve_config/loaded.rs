//! A configuration read from its file and the environment, with where each value came from.

use anyhow::{anyhow, bail};
use figment::Figment;
use figment::error::Actual;
use figment::providers::{Env, Format, Toml};
use std::path::{Path, PathBuf};

use super::sections::*;

/// Environment overrides are `MEDKEY_<SECTION>__<KEY>`: this prefix, then the section, two
/// underscores, and the key (`MEDKEY_VAULT__LISTEN=0.0.0.0:8080`).
pub const ENV_PREFIX: &str = "MEDKEY_";
pub(super) const ENV_SEPARATOR: &str = "__";

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
pub(super) const SECRET_KEYS: [(&str, &str, &str); 10] = [
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
    pub(super) figment: Figment,
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
pub(super) fn env_overrides() -> Env {
    Env::prefixed(ENV_PREFIX).filter(|key| key.as_str().contains(ENV_SEPARATOR)).split(ENV_SEPARATOR)
}

/// The environment variable that sets `key` (`vault.listen` → `MEDKEY_VAULT__LISTEN`).
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.split('.').map(str::to_ascii_uppercase).collect::<Vec<_>>().join(ENV_SEPARATOR))
}

/// `key` and where its value came from: the variable, the file, or the default.
pub(super) fn origin(figment: &Figment, key: &str) -> String {
    format!("{key} ({})", source_of(figment, key))
}

pub(super) fn source_of(figment: &Figment, key: &str) -> String {
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
pub(super) fn describe(err: &figment::Error) -> String {
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
    pub(super) fn at(&self, key: &str) -> String {
        origin(&self.figment, key)
    }
}
