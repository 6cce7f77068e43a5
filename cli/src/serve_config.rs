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
use serde::Deserialize;
use zeroize::Zeroizing;

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

/// The whole file. Sections without a required key may be left out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub chain: ChainConfig,
    pub database: DatabaseConfig,
    #[serde(default)]
    pub redis: Option<RedisConfig>,
    #[serde(default)]
    pub vault: VaultConfig,
    pub identity: IdentitySection,
    #[serde(default)]
    pub freshness: FreshnessConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub blobs: BlobsConfig,
    #[serde(default)]
    pub relayer: RelayerConfig,
    #[serde(default)]
    pub anchoring: AnchoringConfig,
    #[serde(default)]
    pub audit: AuditConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub notifications: Option<NotificationsConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    pub rpc_url: String,
    #[serde(default)]
    pub ws_url: Option<String>,
    pub chain_id: u64,
    #[serde(default = "defaults::deployments_dir")]
    pub deployments_dir: PathBuf,
    #[serde(default)]
    pub registry: Option<Address>,
    #[serde(default)]
    pub deploy_block: Option<u64>,
    #[serde(default)]
    pub confirmations: u64,
    #[serde(default)]
    pub finalized: bool,
    #[serde(default = "defaults::max_reorg_depth")]
    pub max_reorg_depth: u64,
    #[serde(default = "defaults::poll_interval_ms")]
    pub poll_interval_ms: u64,
    #[serde(default = "defaults::rpc_timeout_ms")]
    pub rpc_timeout_ms: u64,
    #[serde(default = "defaults::max_backoff_ms")]
    pub max_backoff_ms: u64,
    #[serde(default = "defaults::initial_log_range")]
    pub initial_log_range: u64,
    #[serde(default = "defaults::max_log_range")]
    pub max_log_range: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub url: String,
    #[serde(default = "defaults::redis_prefix")]
    pub prefix: String,
    /// For `rediss://` to a server whose certificate a private CA signed: that CA (PEM). The
    /// server's name is checked against its certificate either way.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultConfig {
    pub listen: SocketAddr,
    pub secret_file: Option<PathBuf>,
    pub body_limit_bytes: usize,
    /// Reverse proxies (addresses or CIDR networks) whose `Forwarded` / `X-Forwarded-For`
    /// headers name the client; none by default, so the socket's peer is the client.
    pub trusted_proxies: Vec<String>,
    /// The one forwarding header those proxies write and the vault reads: `x-forwarded-for`
    /// (HAProxy's `option forwardfor`; the default) or `forwarded` (RFC 7239).
    pub forwarded_header: String,
    /// Time to send a request's headers (also how long a kept-alive connection may idle).
    pub header_timeout_secs: u64,
    /// Longest pause inside a request body.
    pub body_timeout_secs: u64,
    /// Longest time to answer a request (attachment uploads excepted).
    pub request_timeout_secs: u64,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// The patient app's built files (`make web`: web/apps/patient/dist), served at `/` beside
    /// the API. Off by default: whoever serves the app's code is trusted with it
    /// (docs/threat-model.md, "The browser apps").
    pub web_root: Option<PathBuf>,
    /// The provider app's built files (web/apps/provider/dist), served at `/provider/`; needs
    /// `web_root`.
    pub provider_web_root: Option<PathBuf>,
    /// The admin console's built files (web/apps/admin/dist), served at `/admin/`; needs `web_root`.
    pub admin_web_root: Option<PathBuf>,
    /// Serve HTTPS: the certificate chain (PEM, the server's first) and its private key (PEM).
    /// Both or neither; without them the vault speaks plain HTTP, for a TLS-terminating proxy.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
}

impl Default for VaultConfig {
    fn default() -> Self {
        let limits = ServerLimits::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secret_file: None,
            body_limit_bytes: crate::runtime::DEFAULT_BODY_LIMIT,
            trusted_proxies: Vec::new(),
            forwarded_header: "x-forwarded-for".into(),
            header_timeout_secs: limits.header_timeout.as_secs(),
            body_timeout_secs: limits.body_timeout.as_secs(),
            request_timeout_secs: limits.request_timeout.as_secs(),
            max_connections: limits.max_connections,
            web_root: None,
            provider_web_root: None,
            admin_web_root: None,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySection {
    pub domain: String,
    /// The vault's public origin, which SIWE messages' URIs must be on; default `https://<domain>`.
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default = "defaults::access_ttl_secs")]
    pub access_ttl_secs: u64,
    #[serde(default = "defaults::refresh_ttl_secs")]
    pub refresh_ttl_secs: u64,
    #[serde(default = "defaults::nonce_ttl_secs")]
    pub nonce_ttl_secs: u64,
    #[serde(default)]
    pub require_provider_mfa: bool,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FreshnessConfig {
    pub max_lag_blocks: u64,
    pub max_head_age_secs: u64,
    /// Strict mode: every release the mirror allows is confirmed with the registry's
    /// `canAccess` (one `eth_call` each), so a revocation counts from its own block.
    pub strict: bool,
    /// How long strict mode waits for the node before refusing with 503.
    pub strict_timeout_ms: u64,
}

impl Default for FreshnessConfig {
    fn default() -> Self {
        let policy = FreshnessPolicy::default();
        Self {
            max_lag_blocks: policy.max_lag_blocks,
            max_head_age_secs: policy.max_head_age.as_secs(),
            strict: false,
            strict_timeout_ms: 2_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub login_per_ip_per_minute: u32,
    pub release_per_address_per_minute: u32,
    pub release_per_ip_per_minute: u32,
    pub patients_per_address_per_hour: u32,
    pub directory_per_ip_per_minute: u32,
    pub share_link_per_ip_per_minute: u32,
    pub share_links_per_address_per_minute: u32,
    pub share_link_uses_per_link_per_minute: u32,
    pub lockout_after: u32,
    pub lockout_window_secs: u64,
    pub lockout_for_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let limits = LimitSettings::default();
        Self {
            login_per_ip_per_minute: limits.login_per_ip_per_minute,
            release_per_address_per_minute: limits.release_per_address_per_minute,
            release_per_ip_per_minute: limits.release_per_ip_per_minute,
            patients_per_address_per_hour: limits.patients_per_address_per_hour,
            directory_per_ip_per_minute: limits.directory_per_ip_per_minute,
            share_link_per_ip_per_minute: limits.share_link_per_ip_per_minute,
            share_links_per_address_per_minute: limits.share_links_per_address_per_minute,
            share_link_uses_per_link_per_minute: limits.share_link_uses_per_link_per_minute,
            lockout_after: limits.lockout_after,
            lockout_window_secs: limits.lockout_window.as_secs(),
            lockout_for_secs: limits.lockout_for.as_secs(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    #[default]
    Local,
    S3,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    pub backend: BlobBackend,
    pub dir: Option<PathBuf>,
    pub bucket: Option<String>,
    pub max_attachment_bytes: u64,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        Self {
            backend: BlobBackend::Local,
            dir: None,
            bucket: None,
            max_attachment_bytes: medkey_vault::http::DEFAULT_ATTACHMENT_LIMIT,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayerConfig {
    pub enabled: bool,
    pub key_file: Option<PathBuf>,
    pub timeout_secs: u64,
}

impl Default for RelayerConfig {
    fn default() -> Self {
        Self { enabled: false, key_file: None, timeout_secs: 30 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnchoringConfig {
    pub enabled: bool,
    pub key_file: Option<PathBuf>,
    pub every_entries: u64,
    pub every_secs: u64,
    pub timeout_secs: u64,
}

impl Default for AnchoringConfig {
    fn default() -> Self {
        let policy = medkey_vault::anchoring::AnchorPolicy::default();
        Self {
            enabled: false,
            key_file: None,
            every_entries: policy.every_entries,
            every_secs: policy.every.as_secs(),
            timeout_secs: 30,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub listen: Option<SocketAddr>,
}

/// Signed webhooks (`medkey_vault::notify`): present means on. The tunables default to the
/// vault's own defaults ([`NotifierConfig::new`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    pub url: String,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    #[serde(default = "defaults::webhook_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "defaults::webhook_first_retry_ms")]
    pub first_retry_ms: u64,
    #[serde(default = "defaults::webhook_max_backoff_secs")]
    pub max_backoff_secs: u64,
    #[serde(default = "defaults::webhook_attempt_timeout_secs")]
    pub attempt_timeout_secs: u64,
}

/// The vault's defaults for the tunables, as [`NotifierConfig::new`] sets them (built with a
/// placeholder URL and secret that are never used).
fn notifier_defaults() -> NotifierConfig {
    NotifierConfig::new("http://localhost/", &[0; notify::MIN_SECRET_LEN])
        .expect("a placeholder URL and a secret of the minimum length are accepted")
}

mod defaults {
    use std::path::PathBuf;

    use super::notifier_defaults;

    pub fn deployments_dir() -> PathBuf {
        PathBuf::from("deployments")
    }
    pub fn max_reorg_depth() -> u64 {
        64
    }
    pub fn poll_interval_ms() -> u64 {
        1_000
    }
    pub fn rpc_timeout_ms() -> u64 {
        10_000
    }
    pub fn max_backoff_ms() -> u64 {
        30_000
    }
    pub fn initial_log_range() -> u64 {
        2_000
    }
    pub fn max_log_range() -> u64 {
        50_000
    }
    pub fn redis_prefix() -> String {
        "medkey".into()
    }
    pub fn access_ttl_secs() -> u64 {
        15 * 60
    }
    pub fn refresh_ttl_secs() -> u64 {
        7 * 86_400
    }
    pub fn nonce_ttl_secs() -> u64 {
        5 * 60
    }
    pub fn webhook_max_attempts() -> u32 {
        notifier_defaults().max_attempts
    }
    pub fn webhook_first_retry_ms() -> u64 {
        notifier_defaults().first_retry.as_millis() as u64
    }
    pub fn webhook_max_backoff_secs() -> u64 {
        notifier_defaults().max_backoff.as_secs()
    }
    pub fn webhook_attempt_timeout_secs() -> u64 {
        notifier_defaults().attempt_timeout.as_secs()
    }
}

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

    /// Every problem with the values, each naming its key.
    fn problems(&self) -> Vec<String> {
        let c = &self.config;
        let mut problems = Vec::new();
        let mut check = |ok: bool, key: &str, what: String| {
            if !ok {
                problems.push(format!("{}: {what}", self.at(key)));
            }
        };
        let chain = &c.chain;
        check(
            url_scheme(&chain.rpc_url).is_some_and(|s| ["http", "https", "ws", "wss"].contains(&s)),
            "chain.rpc_url",
            format!("'{}' is not an http(s):// or ws(s):// URL", redact_url(&chain.rpc_url)),
        );
        if let Some(ws) = &chain.ws_url {
            check(
                url_scheme(ws).is_some_and(|s| s == "ws" || s == "wss"),
                "chain.ws_url",
                format!("'{}' is not a ws(s):// URL", redact_url(ws)),
            );
        }
        check(chain.chain_id > 0, "chain.chain_id", "must be a chain id (1 or more)".into());
        match (chain.registry, chain.deploy_block) {
            (Some(_), None) => check(
                false,
                "chain.deploy_block",
                "is not set but chain.registry is: set the block it was deployed in".into(),
            ),
            (None, Some(_)) => check(false, "chain.registry", "is not set but chain.deploy_block is".into()),
            _ => {}
        }
        check(
            !(chain.finalized && chain.confirmations > 0),
            "chain.confirmations",
            "cannot be combined with chain.finalized = true (finalized blocks need no confirmations)".into(),
        );
        check(chain.poll_interval_ms >= 10, "chain.poll_interval_ms", "must be at least 10".into());
        check(chain.rpc_timeout_ms >= 100, "chain.rpc_timeout_ms", "must be at least 100".into());
        check(chain.max_backoff_ms >= 100, "chain.max_backoff_ms", "must be at least 100".into());
        check(chain.initial_log_range >= 1, "chain.initial_log_range", "must be at least 1".into());
        check(
            chain.max_log_range >= chain.initial_log_range,
            "chain.max_log_range",
            format!("must be at least chain.initial_log_range ({})", chain.initial_log_range),
        );
        check(
            Backend::of_url(&c.database.url).is_ok(),
            "database.url",
            format!("'{}' must start with postgres://, postgresql:// or sqlite:", redact_url(&c.database.url)),
        );
        if let Some(redis) = &c.redis {
            check(
                url_scheme(&redis.url).is_some_and(|s| ["redis", "rediss", "redis+unix", "unix"].contains(&s)),
                "redis.url",
                format!("'{}' is not a redis:// or rediss:// URL", redact_url(&redis.url)),
            );
            check(
                redis.ca_file.is_none() || url_scheme(&redis.url) == Some("rediss"),
                "redis.ca_file",
                "is set but redis.url is not rediss://: a CA certificate only means something over TLS".into(),
            );
            check(
                !redis.prefix.is_empty() && !redis.prefix.contains(char::is_whitespace),
                "redis.prefix",
                "must be a non-empty word (keys are named <prefix>:…)".into(),
            );
        }
        check(c.vault.body_limit_bytes >= 1024, "vault.body_limit_bytes", "must be at least 1024".into());
        if let Err(err) = TrustedProxies::parse(&c.vault.trusted_proxies) {
            check(false, "vault.trusted_proxies", err);
        }
        if let Err(err) = ForwardedHeader::parse(&c.vault.forwarded_header) {
            check(false, "vault.forwarded_header", err);
        }
        for (key, secs) in [
            ("vault.header_timeout_secs", c.vault.header_timeout_secs),
            ("vault.body_timeout_secs", c.vault.body_timeout_secs),
            ("vault.request_timeout_secs", c.vault.request_timeout_secs),
        ] {
            check((1..=3_600).contains(&secs), key, "must be between 1 and 3600 seconds".into());
        }
        check(c.vault.max_connections >= 1, "vault.max_connections", "must be at least 1".into());
        check(
            c.vault.tls_cert_file.is_some() == c.vault.tls_key_file.is_some(),
            if c.vault.tls_cert_file.is_some() { "vault.tls_key_file" } else { "vault.tls_cert_file" },
            "is not set but its pair is: HTTPS needs both the certificate (vault.tls_cert_file) and its key \
             (vault.tls_key_file)"
                .into(),
        );
        check(c.freshness.strict_timeout_ms >= 100, "freshness.strict_timeout_ms", "must be at least 100".into());
        if let Some(origin) = &c.identity.origin {
            let parsed = url::Url::parse(origin).ok();
            check(
                parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.path() == "/"),
                "identity.origin",
                format!("'{origin}' must be the vault's public origin, like https://vault.example.org (no path)"),
            );
        }
        let id = &c.identity;
        check(
            !id.domain.is_empty()
                && !id.domain.contains("://")
                && !id.domain.contains(['/', ' ', '\t', '\n'])
                && !id.domain.starts_with(':'),
            "identity.domain",
            format!(
                "'{}' must be a host name as clients reach the vault (vault.example.org or localhost:8080), no scheme or path",
                id.domain
            ),
        );
        check(
            (1..=15 * 60).contains(&id.access_ttl_secs),
            "identity.access_ttl_secs",
            "must be between 1 and 900 (access tokens live at most 15 minutes)".into(),
        );
        check(
            id.refresh_ttl_secs >= id.access_ttl_secs,
            "identity.refresh_ttl_secs",
            format!("must be at least identity.access_ttl_secs ({})", id.access_ttl_secs),
        );
        check(id.nonce_ttl_secs >= 1, "identity.nonce_ttl_secs", "must be at least 1".into());
        check(c.freshness.max_head_age_secs >= 1, "freshness.max_head_age_secs", "must be at least 1".into());
        check(
            chain.finalized || c.freshness.max_lag_blocks >= chain.confirmations,
            "freshness.max_lag_blocks",
            format!(
                "is {} but chain.confirmations is {}: the mirror always stays that many blocks behind the head, so \
                 the vault would never count as fresh; make it at least {} (the confirmations plus a few)",
                c.freshness.max_lag_blocks,
                chain.confirmations,
                chain.confirmations + 3
            ),
        );
        let limits = &c.limits;
        for (key, value) in [
            ("limits.login_per_ip_per_minute", u64::from(limits.login_per_ip_per_minute)),
            ("limits.release_per_address_per_minute", u64::from(limits.release_per_address_per_minute)),
            ("limits.release_per_ip_per_minute", u64::from(limits.release_per_ip_per_minute)),
            ("limits.patients_per_address_per_hour", u64::from(limits.patients_per_address_per_hour)),
            ("limits.directory_per_ip_per_minute", u64::from(limits.directory_per_ip_per_minute)),
            ("limits.share_link_per_ip_per_minute", u64::from(limits.share_link_per_ip_per_minute)),
            ("limits.share_links_per_address_per_minute", u64::from(limits.share_links_per_address_per_minute)),
            ("limits.share_link_uses_per_link_per_minute", u64::from(limits.share_link_uses_per_link_per_minute)),
            ("limits.lockout_after", u64::from(limits.lockout_after)),
            ("limits.lockout_window_secs", limits.lockout_window_secs),
            ("limits.lockout_for_secs", limits.lockout_for_secs),
        ] {
            check(value >= 1, key, "must be at least 1".into());
        }
        match c.blobs.backend {
            BlobBackend::Local => check(
                c.blobs.dir.as_ref().is_some_and(|dir| !dir.as_os_str().is_empty()),
                "blobs.dir",
                "is not set: it names the directory for attachment ciphertext (blobs.backend is \"local\")".into(),
            ),
            BlobBackend::S3 => {
                check(
                    c.blobs.bucket.as_ref().is_some_and(|b| !b.is_empty()),
                    "blobs.bucket",
                    "is not set: it names the S3 bucket (blobs.backend is \"s3\")".into(),
                );
                check(
                    cfg!(feature = "s3"),
                    "blobs.backend",
                    "\"s3\" needs a medkey built with the s3 feature (on by default; this one was built with \
                     --no-default-features and stores blobs in a local directory only)"
                        .into(),
                );
            }
        }
        check(c.blobs.max_attachment_bytes >= 1, "blobs.max_attachment_bytes", "must be at least 1".into());
        let sends = c.relayer.enabled || c.anchoring.enabled;
        check(
            !sends || url_scheme(&chain.rpc_url).is_some_and(|s| s == "http" || s == "https"),
            "chain.rpc_url",
            "must be http(s):// when relayer or anchoring is enabled (they send transactions over HTTP; put a \
             WebSocket endpoint in chain.ws_url)"
                .into(),
        );
        check(c.relayer.timeout_secs >= 1, "relayer.timeout_secs", "must be at least 1".into());
        check(c.anchoring.every_entries >= 1, "anchoring.every_entries", "must be at least 1".into());
        check(c.anchoring.every_secs >= 1, "anchoring.every_secs", "must be at least 1".into());
        check(c.anchoring.timeout_secs >= 1, "anchoring.timeout_secs", "must be at least 1".into());
        if let Some(metrics) = c.metrics.listen {
            check(
                metrics != c.vault.listen,
                "metrics.listen",
                format!("{metrics} is vault.listen too; give metrics its own port"),
            );
        }
        if let Some(n) = &c.notifications {
            // The URL as the vault checks it (the secret is checked with it in `secrets`).
            let url = NotifierConfig::new(&n.url, &[0; notify::MIN_SECRET_LEN]);
            check(
                !matches!(url, Err(notify::ConfigError::Url)),
                "notifications.url",
                format!("'{}' is not an http:// or https:// URL with a host", redact_url(&n.url)),
            );
            check(n.max_attempts >= 1, "notifications.max_attempts", "must be at least 1".into());
            check(n.first_retry_ms >= 1, "notifications.first_retry_ms", "must be at least 1".into());
            check(
                u128::from(n.max_backoff_secs) * 1_000 >= u128::from(n.first_retry_ms),
                "notifications.max_backoff_secs",
                format!("must be at least notifications.first_retry_ms ({} ms)", n.first_retry_ms),
            );
            check(n.attempt_timeout_secs >= 1, "notifications.attempt_timeout_secs", "must be at least 1".into());
        }
        problems
    }

    fn collect_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let c = &self.config;
        for (env, key, enabled) in [
            (RELAYER_KEY_ENV, "relayer.enabled", c.relayer.enabled),
            (OPERATOR_KEY_ENV, "anchoring.enabled", c.anchoring.enabled),
        ] {
            if !enabled && std::env::var_os(env).is_some_and(|v| !v.is_empty()) {
                warnings.push(format!("{env} is set but {key} is false: it is not used"));
            }
        }
        if c.notifications.is_none() && std::env::var_os(WEBHOOK_SECRET_ENV).is_some_and(|v| !v.is_empty()) {
            warnings
                .push(format!("{WEBHOOK_SECRET_ENV} is set but there is no [notifications] section: it is not used"));
        }
        if c.chain.finalized && c.freshness.max_lag_blocks < 64 {
            warnings.push(format!(
                "chain.finalized is true but freshness.max_lag_blocks is {}: the mirror lags the head by the node's \
                 finality depth (about 64-96 blocks on Ethereum), so the vault may never count as fresh",
                c.freshness.max_lag_blocks
            ));
        }
        if c.chain.confirmations == 0 && !c.chain.finalized && c.chain.chain_id != 31337 {
            warnings.push(format!(
                "chain.confirmations is 0 on chain {}: reorgs will be followed block by block; a public chain \
                 usually wants 12 or more (or chain.finalized = true)",
                c.chain.chain_id
            ));
        }
        warnings
    }

    /// The registry to mirror: from the file, else `deployments/<chain-id>.json`.
    pub fn registry(&self) -> anyhow::Result<RegistryTarget> {
        let chain = &self.config.chain;
        match (chain.registry, chain.deploy_block) {
            (Some(address), Some(deploy_block)) => Ok(RegistryTarget {
                address,
                deploy_block,
                source: format!("chain.registry ({})", source_of(&self.figment, "chain.registry")),
                published_audit_key: None,
            }),
            _ => {
                let deployment = Deployment::load(&chain.deployments_dir, chain.chain_id)
                    .with_context(|| self.at("chain.deployments_dir"))?;
                Ok(RegistryTarget {
                    address: deployment.address,
                    deploy_block: deployment.deploy_block,
                    source: Deployment::path(&chain.deployments_dir, chain.chain_id).display().to_string(),
                    published_audit_key: deployment.audit_key,
                })
            }
        }
    }

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
    fn notifier(&self, n: &NotificationsConfig) -> anyhow::Result<(NotifierConfig, String)> {
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

    pub fn indexer_config(&self, registry: &RegistryTarget) -> IndexerConfig {
        let chain = &self.config.chain;
        IndexerConfig {
            rpc_url: chain.rpc_url.clone(),
            ws_url: chain.ws_url.clone(),
            registry: registry.address,
            deploy_block: registry.deploy_block,
            expected_chain_id: Some(chain.chain_id),
            finality: self.finality(),
            max_reorg_depth: chain.max_reorg_depth,
            poll_interval: Duration::from_millis(chain.poll_interval_ms),
            rpc_timeout: Duration::from_millis(chain.rpc_timeout_ms),
            max_backoff: Duration::from_millis(chain.max_backoff_ms),
            initial_log_range: chain.initial_log_range,
            max_log_range: chain.max_log_range,
            exit_when_synced: false,
        }
    }

    pub fn finality(&self) -> Finality {
        match self.config.chain.finalized {
            true => Finality::Finalized,
            false => Finality::Confirmations(self.config.chain.confirmations),
        }
    }

    pub fn identity(&self, secrets: &Secrets) -> IdentityConfig {
        let id = &self.config.identity;
        IdentityConfig {
            domain: id.domain.clone(),
            origin: self.origin(),
            chain_id: self.config.chain.chain_id,
            jwt_secret: secrets.vault_secret.clone(),
            access_ttl: Duration::from_secs(id.access_ttl_secs),
            refresh_ttl: Duration::from_secs(id.refresh_ttl_secs),
            require_provider_mfa: id.require_provider_mfa,
            nonce_ttl: Duration::from_secs(id.nonce_ttl_secs),
        }
    }

    /// `identity.origin`, or `https://<identity.domain>`.
    pub fn origin(&self) -> String {
        let id = &self.config.identity;
        id.origin.clone().unwrap_or_else(|| format!("https://{}", id.domain))
    }

    /// The HTTP server's limits (`vault.*_timeout_secs`, `vault.max_connections`).
    pub fn server_limits(&self) -> ServerLimits {
        let v = &self.config.vault;
        ServerLimits {
            header_timeout: Duration::from_secs(v.header_timeout_secs),
            body_timeout: Duration::from_secs(v.body_timeout_secs),
            request_timeout: Duration::from_secs(v.request_timeout_secs),
            max_connections: v.max_connections,
        }
    }

    /// `vault.trusted_proxies`, checked by [`Self::problems`] already.
    pub fn trusted_proxies(&self) -> TrustedProxies {
        let header = ForwardedHeader::parse(&self.config.vault.forwarded_header).unwrap_or_default();
        TrustedProxies::parse(&self.config.vault.trusted_proxies).unwrap_or_default().reading(header)
    }

    pub fn freshness(&self) -> FreshnessPolicy {
        FreshnessPolicy {
            max_lag_blocks: self.config.freshness.max_lag_blocks,
            max_head_age: Duration::from_secs(self.config.freshness.max_head_age_secs),
        }
    }

    pub fn limits(&self) -> LimitSettings {
        let l = &self.config.limits;
        LimitSettings {
            login_per_ip_per_minute: l.login_per_ip_per_minute,
            release_per_address_per_minute: l.release_per_address_per_minute,
            release_per_ip_per_minute: l.release_per_ip_per_minute,
            patients_per_address_per_hour: l.patients_per_address_per_hour,
            directory_per_ip_per_minute: l.directory_per_ip_per_minute,
            share_link_per_ip_per_minute: l.share_link_per_ip_per_minute,
            share_links_per_address_per_minute: l.share_links_per_address_per_minute,
            share_link_uses_per_link_per_minute: l.share_link_uses_per_link_per_minute,
            lockout_after: l.lockout_after,
            lockout_window: Duration::from_secs(l.lockout_window_secs),
            lockout_for: Duration::from_secs(l.lockout_for_secs),
        }
    }

    /// The resolved settings, one `key = value  # source` line each, and the secrets by source
    /// only: what `medkey serve --check` prints.
    pub fn render(&self, secrets: &Secrets, registry: &RegistryTarget) -> String {
        let c = &self.config;
        let quoted = |s: &str| format!("{s:?}");
        let path = |p: &Path| format!("{:?}", p.display().to_string());
        // Unset keys print as comments, so the output stays valid TOML.
        let opt = |value: Option<String>| value.unwrap_or_else(|| UNSET.into());
        let sections: Vec<(&str, Vec<(&str, String)>)> = vec![
            (
                "chain",
                vec![
                    ("rpc_url", quoted(&redact_url(&c.chain.rpc_url))),
                    ("ws_url", opt(c.chain.ws_url.as_deref().map(|u| quoted(&redact_url(u))))),
                    ("chain_id", c.chain.chain_id.to_string()),
                    ("deployments_dir", path(&c.chain.deployments_dir)),
                    ("registry", opt(c.chain.registry.map(|a| quoted(&a.to_string())))),
                    ("deploy_block", opt(c.chain.deploy_block.map(|b| b.to_string()))),
                    ("confirmations", c.chain.confirmations.to_string()),
                    ("finalized", c.chain.finalized.to_string()),
                    ("max_reorg_depth", c.chain.max_reorg_depth.to_string()),
                    ("poll_interval_ms", c.chain.poll_interval_ms.to_string()),
                    ("rpc_timeout_ms", c.chain.rpc_timeout_ms.to_string()),
                    ("max_backoff_ms", c.chain.max_backoff_ms.to_string()),
                    ("initial_log_range", c.chain.initial_log_range.to_string()),
                    ("max_log_range", c.chain.max_log_range.to_string()),
                ],
            ),
            ("database", vec![("url", quoted(&redact_url(&c.database.url)))]),
            (
                "redis",
                match &c.redis {
                    Some(redis) => vec![
                        ("url", quoted(&redact_url(&redis.url))),
                        ("prefix", quoted(&redis.prefix)),
                        ("ca_file", opt(redis.ca_file.as_deref().map(path))),
                    ],
                    None => vec![("url", UNSET.into()), ("prefix", UNSET.into()), ("ca_file", UNSET.into())],
                },
            ),
            (
                "vault",
                vec![
                    ("listen", quoted(&c.vault.listen.to_string())),
                    ("secret_file", opt(c.vault.secret_file.as_deref().map(path))),
                    ("body_limit_bytes", c.vault.body_limit_bytes.to_string()),
                    ("trusted_proxies", format!("{:?}", c.vault.trusted_proxies)),
                    ("forwarded_header", quoted(&c.vault.forwarded_header)),
                    ("header_timeout_secs", c.vault.header_timeout_secs.to_string()),
                    ("body_timeout_secs", c.vault.body_timeout_secs.to_string()),
                    ("request_timeout_secs", c.vault.request_timeout_secs.to_string()),
                    ("max_connections", c.vault.max_connections.to_string()),
                    ("tls_cert_file", opt(c.vault.tls_cert_file.as_deref().map(path))),
                    ("tls_key_file", opt(c.vault.tls_key_file.as_deref().map(path))),
                ],
            ),
            (
                "identity",
                vec![
                    ("domain", quoted(&c.identity.domain)),
                    ("origin", quoted(&self.origin())),
                    ("access_ttl_secs", c.identity.access_ttl_secs.to_string()),
                    ("refresh_ttl_secs", c.identity.refresh_ttl_secs.to_string()),
                    ("nonce_ttl_secs", c.identity.nonce_ttl_secs.to_string()),
                    ("require_provider_mfa", c.identity.require_provider_mfa.to_string()),
                ],
            ),
            (
                "freshness",
                vec![
                    ("max_lag_blocks", c.freshness.max_lag_blocks.to_string()),
                    ("max_head_age_secs", c.freshness.max_head_age_secs.to_string()),
                    ("strict", c.freshness.strict.to_string()),
                    ("strict_timeout_ms", c.freshness.strict_timeout_ms.to_string()),
                ],
            ),
            (
                "limits",
                vec![
                    ("login_per_ip_per_minute", c.limits.login_per_ip_per_minute.to_string()),
                    ("release_per_address_per_minute", c.limits.release_per_address_per_minute.to_string()),
                    ("release_per_ip_per_minute", c.limits.release_per_ip_per_minute.to_string()),
                    ("patients_per_address_per_hour", c.limits.patients_per_address_per_hour.to_string()),
                    ("directory_per_ip_per_minute", c.limits.directory_per_ip_per_minute.to_string()),
                    ("share_link_per_ip_per_minute", c.limits.share_link_per_ip_per_minute.to_string()),
                    ("share_links_per_address_per_minute", c.limits.share_links_per_address_per_minute.to_string()),
                    ("share_link_uses_per_link_per_minute", c.limits.share_link_uses_per_link_per_minute.to_string()),
                    ("lockout_after", c.limits.lockout_after.to_string()),
                    ("lockout_window_secs", c.limits.lockout_window_secs.to_string()),
                    ("lockout_for_secs", c.limits.lockout_for_secs.to_string()),
                ],
            ),
            (
                "blobs",
                vec![
                    ("backend", quoted(if c.blobs.backend == BlobBackend::S3 { "s3" } else { "local" })),
                    ("dir", opt(c.blobs.dir.as_deref().map(path))),
                    ("bucket", opt(c.blobs.bucket.as_deref().map(quoted))),
                    ("max_attachment_bytes", c.blobs.max_attachment_bytes.to_string()),
                ],
            ),
            (
                "relayer",
                vec![
                    ("enabled", c.relayer.enabled.to_string()),
                    ("key_file", opt(c.relayer.key_file.as_deref().map(path))),
                    ("timeout_secs", c.relayer.timeout_secs.to_string()),
                ],
            ),
            (
                "anchoring",
                vec![
                    ("enabled", c.anchoring.enabled.to_string()),
                    ("key_file", opt(c.anchoring.key_file.as_deref().map(path))),
                    ("every_entries", c.anchoring.every_entries.to_string()),
                    ("every_secs", c.anchoring.every_secs.to_string()),
                    ("timeout_secs", c.anchoring.timeout_secs.to_string()),
                ],
            ),
            ("audit", vec![("key_file", opt(c.audit.key_file.as_deref().map(path)))]),
            ("metrics", vec![("listen", opt(c.metrics.listen.map(|a| quoted(&a.to_string()))))]),
            (
                "notifications",
                match &c.notifications {
                    Some(n) => vec![
                        ("url", quoted(&redact_url(&n.url))),
                        ("secret_file", opt(n.secret_file.as_deref().map(path))),
                        ("max_attempts", n.max_attempts.to_string()),
                        ("first_retry_ms", n.first_retry_ms.to_string()),
                        ("max_backoff_secs", n.max_backoff_secs.to_string()),
                        ("attempt_timeout_secs", n.attempt_timeout_secs.to_string()),
                    ],
                    None => [
                        "url",
                        "secret_file",
                        "max_attempts",
                        "first_retry_ms",
                        "max_backoff_secs",
                        "attempt_timeout_secs",
                    ]
                    .map(|key| (key, UNSET.to_owned()))
                    .to_vec(),
                },
            ),
        ];
        let mut out = format!("# medkey serve --config {}\n", self.path.display());
        for (section, entries) in sections {
            let _ = writeln!(out, "\n[{section}]");
            for (key, value) in entries {
                let source = source_of(&self.figment, &format!("{section}.{key}"));
                let line = match value.as_str() {
                    UNSET => format!("# {key}"),
                    _ => format!("{key} = {value}"),
                };
                let _ = writeln!(out, "{line:<56} # {}", if value == UNSET { "not set" } else { &source });
            }
        }
        let _ = writeln!(out, "\n# resolved");
        let _ = writeln!(
            out,
            "# registry          {} from block {} ({})",
            registry.address, registry.deploy_block, registry.source
        );
        let _ = writeln!(
            out,
            "# vault secret      {} bytes, from {} (not shown)",
            secrets.vault_secret.len(),
            secrets.vault_secret_from
        );
        for (name, key) in [("relayer", &secrets.relayer), ("anchoring", &secrets.operator)] {
            let _ = match key {
                Some((signer, from)) => {
                    writeln!(out, "# {name:<17} account {}, key from {from} (not shown)", signer.address())
                }
                None => writeln!(out, "# {name:<17} off"),
            };
        }
        let _ =
            writeln!(out, "# audit key         {} ({})", secrets.audit_public_key_hex(), secrets.audit_key_source());
        let _ = match &secrets.notifier {
            Some((config, from)) => writeln!(
                out,
                "# webhooks          {}, signed with a secret from {from} (not shown)",
                redact_url(config.url.as_str())
            ),
            None => writeln!(out, "# webhooks          off"),
        };
        out
    }
}

const UNSET: &str = "\u{0}unset";

/// Where the registry is and where that came from.
pub struct RegistryTarget {
    pub address: Address,
    pub deploy_block: u64,
    pub source: String,
    /// The audit key the deployment file publishes, if any.
    pub published_audit_key: Option<String>,
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
fn read_secret(env: &str, file: Option<&Path>, file_key: &str) -> anyhow::Result<Option<(Zeroizing<String>, String)>> {
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
fn signer(
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
fn decode_hex(text: &str, from: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.is_empty() || !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{from} is not hex (expected an even number of 0-9a-f digits, optionally after 0x)");
    }
    alloy::hex::decode(digits).map(Zeroizing::new).map_err(|_| anyhow!("{from} is not hex"))
}

/// Key files should be readable by the service alone.
fn warn_if_shared(path: &Path, file_key: &str) {
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

/// The scheme of `url` (lowercase), if it looks like `scheme://…`.
fn url_scheme(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let valid = !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty();
    valid.then_some(scheme)
}

/// Where the audit key a deployment file publishes differs from this vault's.
pub fn audit_key_mismatch(registry: &RegistryTarget, secrets: &Secrets) -> Option<String> {
    let published = registry.published_audit_key.as_deref()?;
    let ours = secrets.audit_public_key_hex();
    let published = published.trim_start_matches("0x").to_ascii_lowercase();
    (published != ours).then(|| {
        format!(
            "{} publishes audit key {published}, but this vault signs with {ours}: `medkey audit verify` will \
             reject its tree heads until the deployment file publishes this key",
            registry.source
        )
    })
}

#[cfg(test)]
mod tests {
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
