//! What every handler can reach.

use medkey_indexer::{FreshnessPolicy, Store};

use crate::access_log::AccessLog;
use crate::gate::ReleaseGate;
use crate::identity::{ConfigError, Identity, IdentityConfig};
use crate::limits::{LimitSettings, Limits};
use crate::mirror_view::MirrorView;
use crate::records::Records;
use crate::release_reads::ReleaseReads;

/// How often the vault rereads the mirror's checkpoint when the indexer runs in another process
/// (one in this process signals each commit at once). Bounds the extra revocation delay.
pub const MIRROR_POLL: std::time::Duration = std::time::Duration::from_millis(5);

#[derive(Clone, Debug)]
pub struct AppState {
    pub identity: Identity,
    pub records: Records,
    pub release_reads: ReleaseReads,
    pub gate: ReleaseGate,
    pub log: AccessLog,
    pub mirror: Store,
    pub chain_id: u64,
    pub freshness: FreshnessPolicy,
    pub limits: Limits,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("vault database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("chain mirror: {0}")]
    Mirror(#[from] medkey_indexer::StoreError),
    #[error("vault identity settings: {0}")]
    Identity(#[from] ConfigError),
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
        Ok(Self {
            identity: Identity::new(pool.clone(), identity)?,
            records: Records::new(pool.clone(), mirror.backend()),
            release_reads: ReleaseReads::new(Records::new(pool.clone(), mirror.backend())),
            gate: ReleaseGate::new(MirrorView::follow(mirror.clone(), chain_id, MIRROR_POLL).await?, freshness),
            log: AccessLog::new(pool, mirror.backend()),
            mirror,
            chain_id,
            freshness,
            limits: Limits::new(limits),
        })
    }
}

pub fn now_ms() -> u64 {
    medkey_indexer::sync::now_ms()
}
