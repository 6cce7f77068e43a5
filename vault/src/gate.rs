//! The key-release gate: may this provider have this record's wrapped key, now?
//!
//! Yes only if all of these hold, checked in this order (deny by default):
//! 1. the chain mirror is fresh (else the answer is "unavailable", never "yes");
//! 2. the provider is registered and not suspended;
//! 3. some grant from the record's owner to the provider is unrevoked, covers the record's
//!    category, and is inside its window at both the wall clock and the chain's clock (so
//!    neither a lagging block timestamp nor a skewed server clock can stretch a grant);
//! 4. that grant covers every record (zero records root) or a registered record set that
//!    contains this record.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use medkey_indexer::model::ProviderStatus;
use medkey_indexer::store::FreshnessError;
use medkey_indexer::{FreshnessPolicy, Stale, Store, StoreError};
use medkey_protocol::Category;
use medkey_protocol::ConsentRegistry;
use medkey_protocol::ConsentRegistry::ConsentRegistryInstance;
use serde::Serialize;

/// Resolves a grant's records root to the record ids it commits to (registered by the patient's
/// client with the grant). An unknown root covers nothing.
pub trait RecordSets {
    fn contains(&self, records_root: B256, record_id: &[u8; 16]) -> bool;
}

/// Grants in this mirror never restrict records (tests and deployments without record sets).
impl RecordSets for () {
    fn contains(&self, _: B256, _: &[u8; 16]) -> bool {
        false
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseRequest {
    pub provider: Address,
    pub patient: Address,
    pub record_id: [u8; 16],
    pub category: Category,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Release {
    pub grant_id: B256,
    pub purpose: u8,
    pub expires_at: u64,
    pub emergency: bool,
}

/// Why a release was refused. The audit log records the code; the HTTP layer maps
/// [`Denial::MirrorStale`] to 503 and the rest to 403.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("access cannot be decided right now: {0}")]
    MirrorStale(Stale),
    #[error("the requester is not a registered provider")]
    ProviderNotRegistered,
    #[error("the provider is suspended")]
    ProviderSuspended,
    #[error("no live grant from the patient covers this record's category")]
    NoLiveGrant,
    #[error("the live grants cover other records of this category, not this one")]
    NotInRecordSet,
    /// Strict mode: the mirror said yes, the registry said no (a revocation the mirror has not
    /// seen yet).
    #[error("the consent registry refused access (revoked or changed since the mirror's last block)")]
    RefusedByChain,
    #[error("strict mode could not confirm the grant with the chain: {0}")]
    ChainUnavailable(String),
}

impl Denial {
    pub fn code(&self) -> &'static str {
        match self {
            Self::MirrorStale(_) => "mirror_stale",
            Self::ProviderNotRegistered => "provider_not_registered",
            Self::ProviderSuspended => "provider_suspended",
            Self::NoLiveGrant => "no_live_grant",
            Self::NotInRecordSet => "not_in_record_set",
            Self::RefusedByChain => "refused_by_chain",
            Self::ChainUnavailable(_) => "chain_unavailable",
        }
    }

    /// True when the refusal is about the vault's state, not the requester's rights.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::MirrorStale(_) | Self::ChainUnavailable(_))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Release(Release),
    Deny(Denial),
}

#[derive(Clone, Debug)]
pub struct ReleaseGate {
    store: Store,
    chain_id: u64,
    policy: FreshnessPolicy,
    strict: Option<StrictCheck>,
}

/// Strict mode: every release the mirror allows is confirmed with the registry's own
/// `canAccess` at that moment, closing the window between a revocation's block and the mirror.
/// Costs one `eth_call` per release; a node that does not answer in time means 503.
#[derive(Clone, Debug)]
pub struct StrictCheck {
    registry: ConsentRegistryInstance<DynProvider>,
    timeout: Duration,
}

impl StrictCheck {
    pub fn new(rpc_url: &str, registry: Address, timeout: Duration) -> Result<Self, String> {
        let url = rpc_url.parse().map_err(|_| "the strict-mode RPC URL is not a URL".to_owned())?;
        let provider = ProviderBuilder::new().connect_http(url).erased();
        Ok(Self { registry: ConsentRegistry::new(registry, provider), timeout })
    }

    async fn confirm(&self, grant_id: B256, request: &ReleaseRequest) -> Result<bool, String> {
        let call = self.registry.canAccess(grant_id, request.patient, request.provider, request.category.index());
        match tokio::time::timeout(self.timeout, call.call()).await {
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            Ok(Err(err)) => Err(err.to_string()),
            Ok(Ok(allowed)) => Ok(allowed),
        }
    }
}

impl ReleaseGate {
    pub fn new(store: Store, chain_id: u64, policy: FreshnessPolicy) -> Self {
        Self { store, chain_id, policy, strict: None }
    }

    /// Turns on strict mode.
    pub fn with_strict(mut self, check: StrictCheck) -> Self {
        self.strict = Some(check);
        self
    }

    pub async fn decide(&self, request: &ReleaseRequest, sets: &impl RecordSets) -> Result<Decision, StoreError> {
        self.decide_at(request, sets, unix_ms()).await
    }

    /// [`Self::decide`] at wall-clock time `now_ms`.
    pub async fn decide_at(
        &self,
        request: &ReleaseRequest,
        sets: &impl RecordSets,
        now_ms: u64,
    ) -> Result<Decision, StoreError> {
        self.decide_access(request, sets, now_ms, false).await
    }

    /// May this provider add a record for this patient in this category? The same checks as a
    /// release, against a live grant with write access (a new record is in no record set).
    pub async fn decide_write(&self, request: &ReleaseRequest) -> Result<Decision, StoreError> {
        self.decide_access(request, &(), unix_ms(), true).await
    }

    async fn decide_access(
        &self,
        request: &ReleaseRequest,
        sets: &impl RecordSets,
        now_ms: u64,
        write: bool,
    ) -> Result<Decision, StoreError> {
        match self.store.ensure_fresh(self.chain_id, now_ms, &self.policy).await {
            Ok(_) => {}
            Err(FreshnessError::Stale(stale)) => return Ok(Decision::Deny(Denial::MirrorStale(stale))),
            Err(FreshnessError::Store(err)) => return Err(err),
        }
        match self.store.provider(self.chain_id, request.provider).await? {
            None => return Ok(Decision::Deny(Denial::ProviderNotRegistered)),
            Some(p) if p.status == ProviderStatus::Suspended => return Ok(Decision::Deny(Denial::ProviderSuspended)),
            Some(_) => {}
        }
        let chain_now = self.store.checkpoint(self.chain_id).await?.map_or(0, |c| c.block.timestamp);
        let wall_now = now_ms / 1_000;
        let (earliest, latest) = (wall_now.min(chain_now), wall_now.max(chain_now));
        let grants = self
            .store
            .live_grants(self.chain_id, request.provider, request.patient, request.category.index(), latest)
            .await?;
        let mut any_live = false;
        for grant in grants.iter().filter(|g| g.not_before <= earliest && (g.write || !write)) {
            any_live = true;
            if grant.records_root.is_zero() || sets.contains(grant.records_root, &request.record_id) {
                if let Some(strict) = &self.strict {
                    match strict.confirm(grant.grant_id, request).await {
                        Ok(true) => {}
                        Ok(false) => return Ok(Decision::Deny(Denial::RefusedByChain)),
                        Err(err) => return Ok(Decision::Deny(Denial::ChainUnavailable(err))),
                    }
                }
                return Ok(Decision::Release(Release {
                    grant_id: grant.grant_id,
                    purpose: grant.purpose,
                    expires_at: grant.expires_at,
                    emergency: grant.emergency,
                }));
            }
        }
        Ok(Decision::Deny(if any_live { Denial::NotInRecordSet } else { Denial::NoLiveGrant }))
    }
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
