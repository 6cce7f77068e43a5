//! The configuration file's sections and keys, each documented on its field; a key left out
//! takes the default its field names.

use alloy::primitives::Address;
use medkey_indexer::FreshnessPolicy;
use medkey_vault::http::ServerLimits;
use medkey_vault::limits::LimitSettings;
use medkey_vault::notify::{self, NotifierConfig};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The whole file. Sections without a required key may be left out.
#[derive(Debug, Deserialize, Serialize)]
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

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// JSON-RPC endpoint for calls (and for the relayer's and anchorer's transactions, so http(s)://
    /// when either is enabled). An API key in the path is never printed.
    pub rpc_url: String,
    /// Optional WebSocket endpoint for new-head notifications (faster than polling); calls still go
    /// to rpc_url. Remove the line to poll every poll_interval_ms instead.
    #[serde(default)]
    pub ws_url: Option<String>,
    /// The chain the registry lives on. The node must serve it (checked at start-up) and SIWE sign-ins
    /// must name it. Picks deployments/<chain_id>.json.
    pub chain_id: u64,
    /// Directory of per-network deployment files (address, deploy block, published audit key); the
    /// image ships the repository's deployments/ here.
    #[serde(default = "defaults::deployments_dir")]
    pub deployments_dir: PathBuf,
    /// Registry address and deploy block, instead of the deployment file (set both or neither).
    #[serde(default)]
    pub registry: Option<Address>,
    /// The block the registry was deployed in, with `registry` (set both or neither).
    #[serde(default)]
    pub deploy_block: Option<u64>,
    /// Mirror only blocks this far below the head, so that shallow reorgs never reach the mirror
    /// (reorgs within max_reorg_depth are repaired either way).
    #[serde(default)]
    pub confirmations: u64,
    /// Mirror only the node's finalized blocks instead (no reorgs at all, but minutes behind). Needs
    /// confirmations = 0 and freshness.max_lag_blocks above the finality depth.
    #[serde(default)]
    pub finalized: bool,
    /// Deepest reorg the indexer repairs; a deeper one stops it (and medkey serve, exit 1) instead of
    /// rewriting history the vault has acted on.
    #[serde(default = "defaults::max_reorg_depth")]
    pub max_reorg_depth: u64,
    /// Milliseconds between head polls when there is no WebSocket subscription.
    #[serde(default = "defaults::poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Per-call RPC timeout in milliseconds; a call that takes longer is retried.
    #[serde(default = "defaults::rpc_timeout_ms")]
    pub rpc_timeout_ms: u64,
    /// Upper bound of the retry backoff in milliseconds.
    #[serde(default = "defaults::max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// First eth_getLogs range (blocks) during backfill; it adapts to the node's limits.
    #[serde(default = "defaults::initial_log_range")]
    pub initial_log_range: u64,
    /// Largest eth_getLogs range (blocks).
    #[serde(default = "defaults::max_log_range")]
    pub max_log_range: u64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The mirror and the vault share one database: postgres://… (or sqlite://… for one machine).
    /// Keep the password out of this file: set MEDKEY_DATABASE__URL=postgres://medkey:<password>@…
    /// Over TLS, checking the server's name against its certificate signed by your CA:
    /// postgres://medkey@db.example.org:5432/medkey?sslmode=verify-full&sslrootcert=/etc/medkey/db-ca.pem
    pub url: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// SIWE nonces, rate limits and sign-in lockouts, shared by every vault replica. Without this
    /// section they stay in the database and in each process. Redis down: logins and key releases get
    /// 503 (never an unchecked pass). A password goes in MEDKEY_REDIS__URL=redis://:<password>@…
    pub url: String,
    /// Every key the vault writes starts with "<prefix>:"; replicas of one vault share a prefix.
    #[serde(default = "defaults::redis_prefix")]
    pub prefix: String,
    /// For `rediss://` to a server whose certificate a private CA signed: that CA (PEM). The
    /// server's name is checked against its certificate either way.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultConfig {
    /// Address the HTTP API listens on (behind a TLS-terminating proxy).
    pub listen: SocketAddr,
    /// A file holding the vault secret, instead of MEDKEY_VAULT_SECRET (e.g. a Docker secret).
    pub secret_file: Option<PathBuf>,
    /// Request bodies above this many bytes get 413 (records are JSON; attachments stream separately).
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
    /// Providers' FHIR base URLs the patient app offers under "Connect a provider" (https); the
    /// page may connect to their origins and no others. None by default.
    pub smart_endpoints: Vec<String>,
    /// A SMART User-access Brands Bundle (JSON): its active FHIR endpoints are listed too, by
    /// their brand's name. None by default.
    pub smart_brands: Option<PathBuf>,
    /// The patient app's client id at those providers (registered there as a public client).
    pub smart_client_id: String,
    /// Serve HTTPS: the certificate chain (PEM, the server's first) and its private key (PEM).
    /// Both or neither; without them the vault speaks plain HTTP, for a TLS-terminating proxy.
    pub tls_cert_file: Option<PathBuf>,
    /// HTTPS from the vault itself instead: the certificate chain (PEM, the server's certificate
    /// first) and its private key (PEM). Both or neither.
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
            smart_endpoints: Vec::new(),
            smart_brands: None,
            smart_client_id: "medkey".into(),
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySection {
    /// The host name clients reach the vault by; SIWE messages must name exactly this.
    pub domain: String,
    /// The vault's public origin, which SIWE messages' URIs must be on; default `https://<domain>`.
    #[serde(default)]
    pub origin: Option<String>,
    /// Access-token lifetime in seconds (at most 900).
    #[serde(default = "defaults::access_ttl_secs")]
    pub access_ttl_secs: u64,
    /// Refresh-token lifetime in seconds (a week); refresh tokens rotate on every use.
    #[serde(default = "defaults::refresh_ttl_secs")]
    pub refresh_ttl_secs: u64,
    /// How long a SIWE nonce may wait to be signed, in seconds.
    #[serde(default = "defaults::nonce_ttl_secs")]
    pub nonce_ttl_secs: u64,
    /// Providers must have signed in with a second factor (TOTP) to read or write patients' records.
    #[serde(default)]
    pub require_provider_mfa: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FreshnessConfig {
    /// The vault refuses key releases (503 mirror_stale) when the mirror is more than this many blocks
    /// behind the head it last saw. Includes chain.confirmations: keep it above them.
    pub max_lag_blocks: u64,
    /// ... or when the indexer has not confirmed the chain head for this many seconds.
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

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Sign-in attempts per client IP per minute.
    pub login_per_ip_per_minute: u32,
    /// Records whose keys a provider address may have released per minute (a batch counts each record,
    /// so one call can open a chart of up to this many records).
    pub release_per_address_per_minute: u32,
    /// Records released to one client IP per minute.
    pub release_per_ip_per_minute: u32,
    /// Patients a provider may open records of for the first time in an hour (one patient counts once
    /// an hour): a clinic opens large charts freely, a provider sweeping through many patients stops.
    pub patients_per_address_per_hour: u32,
    /// Directory searches and lookups from one client IP per minute (the directory is public).
    pub directory_per_ip_per_minute: u32,
    /// SMART Health Link manifest and file requests from one client IP per minute (public; each link
    /// also disables itself after 10 wrong passcodes).
    pub share_link_per_ip_per_minute: u32,
    /// Share links one account may create a minute (a passcode costs an Argon2 hash of 19 MiB; at
    /// most one hash per core runs at a time, whatever this says).
    pub share_links_per_address_per_minute: u32,
    /// Requests for one link a minute, from anyone (each is listed for the patient with the name the
    /// requester typed; beyond this they are answered 429 and not stored).
    pub share_link_uses_per_link_per_minute: u32,
    /// Failed sign-ins from one IP for one address before that pair is locked out.
    pub lockout_after: u32,
    /// Window in seconds the failed sign-ins are counted over.
    pub lockout_window_secs: u64,
    /// How long a lockout lasts, in seconds.
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

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    #[default]
    Local,
    S3,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    /// Attachment ciphertext: "local" (a directory) or "s3" (built in unless medkey was built with --no-default-features; bucket
    /// credentials, region and endpoint from the usual AWS_* variables).
    pub backend: BlobBackend,
    /// The directory, for "local" (a volume in docker-compose.yml).
    pub dir: Option<PathBuf>,
    /// The bucket, for "s3".
    pub bucket: Option<String>,
    /// Largest attachment accepted, in bytes (1 GiB).
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

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayerConfig {
    /// Submit patients' EIP-712-signed grants and revocations from the vault's own account, which pays
    /// the gas (POST /v1/relay). Key: MEDKEY_RELAYER_KEY or key_file.
    pub enabled: bool,
    /// A file holding the relayer account's private key (hex), instead of MEDKEY_RELAYER_KEY.
    pub key_file: Option<PathBuf>,
    /// Seconds to wait for a relayed transaction to be mined.
    pub timeout_secs: u64,
}

impl Default for RelayerConfig {
    fn default() -> Self {
        Self { enabled: false, key_file: None, timeout_secs: 30 }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnchoringConfig {
    /// Put the audit log's tree head on the registry (anchorAudit) by this policy. The account needs
    /// OPERATOR_ROLE. Key: MEDKEY_OPERATOR_KEY or key_file; it must not be the relayer's account.
    pub enabled: bool,
    /// A file holding the operator account's private key (hex), instead of MEDKEY_OPERATOR_KEY.
    pub key_file: Option<PathBuf>,
    /// Anchor once the log has grown by this many entries ...
    pub every_entries: u64,
    /// ... or has grown at all and this many seconds have passed.
    pub every_secs: u64,
    /// Seconds to wait for an anchoring transaction to be mined.
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

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// A file holding the Ed25519 seed that signs tree heads, instead of MEDKEY_AUDIT_KEY.
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Prometheus metrics on http://<listen>/metrics: the indexer's (lag, throughput, reorgs) and the
    /// vault's (requests, latency, releases and denials, sign-ins, audit log and anchor lag, relayer
    /// balance, webhook outbox); docs/operations/grafana-dashboard.json charts them. Remove the line to
    /// turn them off. (MEDKEY_LOG_FORMAT=json in the environment writes logs as JSON lines.)
    pub listen: Option<SocketAddr>,
}

/// Signed webhooks (`medkey_vault::notify`): present means on. The tunables default to the
/// vault's own defaults ([`NotifierConfig::new`]).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Where deliveries go: https:// (http:// only on a trusted network). The path is never printed.
    pub url: String,
    /// A file holding the webhook secret, instead of MEDKEY_WEBHOOK_SECRET.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Attempts before a delivery becomes a dead letter.
    #[serde(default = "defaults::webhook_max_attempts")]
    pub max_attempts: u32,
    /// Milliseconds to wait after the first failed attempt; doubled after each further one (±20 %).
    #[serde(default = "defaults::webhook_first_retry_ms")]
    pub first_retry_ms: u64,
    /// The longest wait between attempts, in seconds.
    #[serde(default = "defaults::webhook_max_backoff_secs")]
    pub max_backoff_secs: u64,
    /// Each attempt's limit in seconds, connecting included; a receiver answers 2xx within it.
    #[serde(default = "defaults::webhook_attempt_timeout_secs")]
    pub attempt_timeout_secs: u64,
}

/// The vault's defaults for the tunables, as [`NotifierConfig::new`] sets them (built with a
/// placeholder URL and secret that are never used).
pub(super) fn notifier_defaults() -> NotifierConfig {
    NotifierConfig::new("http://localhost/", &[0; notify::MIN_SECRET_LEN])
        .expect("a placeholder URL and a secret of the minimum length are accepted")
}

pub(super) mod defaults {
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
