//! The vault's state: every store, the gate, the audit log and the settings a request is
//! served with. Below the HTTP layer, so that domain modules (releases, metrics) read it
//! without reaching up into `http`.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use hkdf::Hkdf;
use medkey_indexer::{FreshnessPolicy, Store};
use sha2::Sha256;

use crate::account_keys::AccountKeys;
use crate::attachments::Attachments;
use crate::audit_log::AuditLog;
use crate::blobs::BlobStore;
use crate::connections::Connections;
use crate::directory::Directory;
use crate::emergency_providers::EmergencyProviders;
use crate::gate::ReleaseGate;
use crate::identity::{ConfigError, Identity, IdentityConfig};
use crate::identity_sharing::IdentitySharing;
use crate::limits::{LimitSettings, Limits};
use crate::metrics::VaultMetrics;
use crate::mirror_view::MirrorView;
use crate::notify::{Notifier, NotifierConfig};
use crate::records::Records;
use crate::redis_store::RedisStore;
use crate::relay::Relayer;
use crate::release_reads::ReleaseReads;

/// How often the vault rereads the mirror's checkpoint when the indexer runs in another process
/// (one in this process signals each commit at once). Bounds the extra revocation delay.
pub const MIRROR_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// 1 GiB: a large imaging study. Streamed, so memory does not grow with it.
pub const DEFAULT_ATTACHMENT_LIMIT: u64 = 1 << 30;

/// What every handler can reach, behind one `Arc`: axum hands each request its own clone of the
/// state, and cloning (and dropping) a score of pools and handles per request showed in the
/// profile of key releases. Fields read through `Deref`; the `with_*` setters write through
/// `DerefMut` before the state is shared.
#[derive(Clone, Debug)]
pub struct AppState(Arc<VaultState>);

impl std::ops::Deref for AppState {
    type Target = VaultState;
    fn deref(&self) -> &VaultState {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    /// Copies the state first if it is already shared (set everything up before serving).
    fn deref_mut(&mut self) -> &mut VaultState {
        Arc::make_mut(&mut self.0)
    }
}

#[derive(Clone, Debug)]
pub struct VaultState {
    pub identity: Identity,
    pub records: Records,
    pub release_reads: ReleaseReads,
    pub gate: ReleaseGate,
    pub audit: AuditLog,
    pub mirror: Store,
    pub chain_id: u64,
    pub freshness: FreshnessPolicy,
    pub limits: Limits,
    /// Attachment ciphertext (in memory unless [`AppState::with_blobs`] names a real store).
    pub blobs: BlobStore,
    pub attachments: Attachments,
    /// The providers each patient hid who she is from (see `identity_sharing`).
    pub identity_sharing: IdentitySharing,
    /// Her provider connections, sealed (see `connections`).
    pub connections: Connections,
    /// Accounts' published, wallet-signed encryption keys.
    pub account_keys: AccountKeys,
    /// Patients' chosen break-glass providers.
    pub emergency_providers: EmergencyProviders,
    /// Provider applications, the listed profiles and the registry's reasons.
    pub directory: Directory,
    /// The largest attachment accepted, in bytes.
    pub attachment_limit: u64,
    /// Signs audit tree heads (Ed25519). Derived from the vault secret unless
    /// [`AppState::with_audit_key`] sets the operator's own.
    pub audit_key: Arc<SigningKey>,
    /// Submits patients' signed grants and revocations (gasless); `None`: relaying is off.
    pub relayer: Option<Relayer>,
    /// Sends signed webhook notifications (`crate::notify`); `None`: notifications are off.
    pub notifier: Option<Notifier>,
    /// Reverse proxies whose forwarding headers name the client (none by default).
    pub trusted_proxies: crate::trusted_proxies::TrustedProxies,
    /// Counted always; exported when the process registers them (`VaultMetrics::register`).
    pub metrics: VaultMetrics,
    /// Which refusals of callers without standing were logged this window.
    pub stranger_refusals: Arc<crate::stranger_refusals::StrangerRefusals>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("vault database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("audit log: {0}")]
    AuditLog(#[from] crate::audit_log::OpenError),
    #[error("chain mirror: {0}")]
    Mirror(#[from] medkey_indexer::StoreError),
    #[error("vault identity settings: {0}")]
    Identity(#[from] ConfigError),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
}

impl AppState {
    /// The vault over the mirror's database (migrated here) for `chain_id`.
    pub async fn new(
        mirror: Store,
        chain_id: u64,
        identity: IdentityConfig,
        freshness: FreshnessPolicy,
        limits: LimitSettings,
    ) -> Result<Self, SetupError> {
        let pool = crate::db::migrate(&mirror).await?;
        let audit_key = Arc::new(derived_audit_key(&identity.jwt_secret));
        let metrics = VaultMetrics::default();
        Ok(Self(Arc::new(VaultState {
            identity: Identity::new(pool.clone(), identity)?,
            records: Records::new(pool.clone(), mirror.backend()),
            release_reads: ReleaseReads::new(Records::new(pool.clone(), mirror.backend())),
            gate: ReleaseGate::new(MirrorView::follow(mirror.clone(), chain_id, MIRROR_POLL).await?, freshness),
            audit: AuditLog::open_counted(pool.clone(), mirror.backend(), metrics.clone()).await?,
            metrics,
            mirror,
            chain_id,
            freshness,
            limits: Limits::new(limits),
            relayer: None,
            notifier: None,
            audit_key,
            blobs: BlobStore::with_store(std::sync::Arc::new(object_store::memory::InMemory::new())),
            attachments: Attachments::new(pool.clone()),
            identity_sharing: IdentitySharing::new(pool.clone()),
            connections: Connections::new(pool.clone()),
            account_keys: AccountKeys::new(pool.clone()),
            emergency_providers: EmergencyProviders::new(pool.clone()),
            directory: Directory::new(pool.clone()),
            attachment_limit: DEFAULT_ATTACHMENT_LIMIT,
            trusted_proxies: crate::trusted_proxies::TrustedProxies::default(),
            stranger_refusals: Arc::default(),
        })))
    }
}

impl AppState {
    /// Keeps attachments in `blobs` (a directory, or S3), up to `limit` bytes each.
    pub fn with_blobs(mut self, blobs: BlobStore, limit: u64) -> Self {
        self.blobs = blobs;
        self.attachment_limit = limit;
        self
    }

    /// Strict mode: every release the mirror allows is confirmed with the registry on chain.
    pub fn with_strict(mut self, check: crate::gate::StrictCheck) -> Self {
        self.gate = self.gate.clone().with_strict(check);
        self
    }

    /// Believes the forwarding headers of these reverse proxies (see `client_ip`).
    pub fn with_trusted_proxies(mut self, proxies: crate::trusted_proxies::TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Signs tree heads with the operator's own key (publish its public half in `deployments/`).
    pub fn with_audit_key(mut self, key: SigningKey) -> Self {
        self.audit_key = Arc::new(key);
        self
    }

    /// Turns on the gasless relay, paying gas from the relayer's account.
    pub fn with_relayer(mut self, relayer: Relayer) -> Self {
        self.relayer = Some(relayer);
        self
    }

    /// Turns on signed webhook notifications (`crate::notify`): starts the task that sends them
    /// on the current Tokio runtime.
    pub async fn with_notifier(mut self, config: NotifierConfig) -> Result<Self, SetupError> {
        self.notifier = Some(Notifier::start(self.mirror.clone(), self.chain_id, config).await?);
        Ok(self)
    }
}

impl AppState {
    /// Keeps SIWE nonces, rate limits and lockouts in Redis at `url`, under keys starting with
    /// `prefix:`, so that every vault replica configured alike shares them. Errs only on a
    /// malformed URL: while Redis is unreachable (now or later), logins and key releases are
    /// refused with 503 rather than let through unchecked.
    pub async fn with_redis(self, url: &str, prefix: &str) -> Result<Self, SetupError> {
        self.with_redis_ca(url, prefix, None).await
    }

    /// [`AppState::with_redis`] over TLS to a server whose certificate `ca_pem` (PEM) signed.
    pub async fn with_redis_ca(mut self, url: &str, prefix: &str, ca_pem: Option<&[u8]>) -> Result<Self, SetupError> {
        let store = RedisStore::connect_with_ca(url, prefix, ca_pem)?;
        if let Err(err) = store.ping().await {
            tracing::warn!(%err, "Redis does not answer yet: logins and key releases get 503 until it does");
        }
        self.identity = self.identity.clone().with_redis(store.clone());
        self.limits = self.limits.clone().with_redis(store);
        Ok(self)
    }
}

/// A stable operator key for deployments that have not set their own: HKDF of the vault secret.
pub fn derived_audit_key(vault_secret: &[u8]) -> SigningKey {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, vault_secret)
        .expand(b"medkey/v1/audit-signing-key", seed.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 length");
    SigningKey::from_bytes(&seed)
}
