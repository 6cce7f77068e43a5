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

use std::collections::HashMap;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use medkey_indexer::model::{Checkpoint, MirroredGrant, ProviderStatus};
use medkey_indexer::{Freshness, FreshnessPolicy, Stale, StoreError};
use medkey_protocol::Category;
use medkey_protocol::ConsentRegistry;
use medkey_protocol::ConsentRegistry::ConsentRegistryInstance;
use serde::Serialize;

use crate::mirror_view::{AccessFacts, MirrorView};
use medkey_protocol::RecordId;

/// Resolves a grant's records root to the record ids it commits to (registered by the patient's
/// client with the grant). An unknown root covers nothing.
/// Asked only when a live grant names a non-zero root, so the common case costs no lookup.
pub trait RecordSets {
    fn contains(&self, records_root: B256, record_id: &RecordId) -> impl Future<Output = Result<bool, StoreError>>;
}

/// No record sets at all: a grant that names one covers nothing (tests, and new records).
impl RecordSets for () {
    async fn contains(&self, _: B256, _: &RecordId) -> Result<bool, StoreError> {
        Ok(false)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseRequest {
    pub provider: Address,
    pub patient: Address,
    pub record_id: RecordId,
    pub category: Category,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Release {
    pub grant_id: B256,
    pub purpose: u8,
    pub expires_at: u64,
    pub emergency: bool,
}

impl Release {
    /// A release under `grant`, as the audit entry and the answer name it.
    pub fn under(grant: &MirroredGrant) -> Self {
        Self {
            grant_id: grant.grant_id,
            purpose: grant.purpose,
            expires_at: grant.expires_at,
            emergency: grant.emergency,
        }
    }
}

impl AccessFacts {
    /// The refusal the provider's own standing gives (not registered, suspended), if any.
    fn provider_refusal(&self) -> Option<Denial> {
        match &self.provider {
            None => Some(Denial::ProviderNotRegistered),
            Some(p) if p.status == ProviderStatus::Suspended => Some(Denial::ProviderSuspended),
            Some(_) => None,
        }
    }
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
    /// Her own Patient record, asked for by a provider she chose not to tell who she is.
    #[error("the patient does not share who she is with this provider")]
    IdentityHidden,
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
            Self::IdentityHidden => "identity_hidden",
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
    mirror: MirrorView,
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
    pub fn new(mirror: MirrorView, policy: FreshnessPolicy) -> Self {
        Self { mirror, policy, strict: None }
    }

    /// The mirror view this gate decides over.
    pub fn mirror(&self) -> &MirrorView {
        &self.mirror
    }

    /// Turns on strict mode.
    pub fn with_strict(mut self, check: StrictCheck) -> Self {
        self.strict = Some(check);
        self
    }

    pub async fn decide(&self, request: &ReleaseRequest, sets: &impl RecordSets) -> Result<Decision, StoreError> {
        self.decide_at(request, sets, medkey_protocol::clock::now_ms()).await
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

    /// [`Self::decide`] on the view as it is, with no catching up before a refusal: for callers
    /// deciding many records at once, which catch the view up once themselves first
    /// ([`MirrorView::catch_up`]) instead of once per refusal.
    pub async fn decide_as_viewed(
        &self,
        request: &ReleaseRequest,
        sets: &impl RecordSets,
    ) -> Result<Decision, StoreError> {
        let mut decisions = self
            .decide_many_on_view(std::slice::from_ref(request), sets, medkey_protocol::clock::now_ms(), false)
            .await?;
        Ok(decisions.pop().expect("one decision per request"))
    }

    /// May this provider add a record for this patient in this category? The same checks as a
    /// release, against a live grant with write access (a new record is in no record set).
    pub async fn decide_write(&self, request: &ReleaseRequest) -> Result<Decision, StoreError> {
        self.decide_access(request, &(), medkey_protocol::clock::now_ms(), true).await
    }

    /// Decisions for many records at once (a batch release), all on one checkpoint: what the
    /// mirror says about each (provider, patient, category) is read once, and in strict mode each
    /// (grant, category) is confirmed on chain once. Catches up before refusing, as
    /// [`Self::decide`] does.
    pub async fn decide_many(
        &self,
        requests: &[ReleaseRequest],
        sets: &impl RecordSets,
    ) -> Result<Vec<Decision>, StoreError> {
        self.decide_caught_up(requests, sets, medkey_protocol::clock::now_ms(), false).await
    }

    async fn decide_access(
        &self,
        request: &ReleaseRequest,
        sets: &impl RecordSets,
        now_ms: u64,
        write: bool,
    ) -> Result<Decision, StoreError> {
        let mut decisions = self.decide_caught_up(std::slice::from_ref(request), sets, now_ms, write).await?;
        Ok(decisions.pop().expect("one decision per request"))
    }

    /// Decides; refusals made on a view behind the store are made again on the store's block
    /// (read-your-writes: once `/v1/grants` has shown a grant, the gate does not deny it from an
    /// older block). Strict mode's own refusals are final: they come from the chain itself.
    async fn decide_caught_up(
        &self,
        requests: &[ReleaseRequest],
        sets: &impl RecordSets,
        now_ms: u64,
        write: bool,
    ) -> Result<Vec<Decision>, StoreError> {
        let decisions = self.decide_many_on_view(requests, sets, now_ms, write).await?;
        if decisions.iter().any(is_retryable) && self.mirror.catch_up().await? {
            return self.decide_many_on_view(requests, sets, now_ms, write).await;
        }
        Ok(decisions)
    }

    async fn decide_many_on_view(
        &self,
        requests: &[ReleaseRequest],
        sets: &impl RecordSets,
        now_ms: u64,
        write: bool,
    ) -> Result<Vec<Decision>, StoreError> {
        let checkpoint = match self.fresh_checkpoint(now_ms) {
            Ok(checkpoint) => checkpoint,
            Err(stale) => return Ok(vec![Decision::Deny(stale); requests.len()]),
        };
        let mut confirmed = HashMap::new();
        let mut decisions = Vec::with_capacity(requests.len());
        for request in requests {
            decisions.push(self.decide_at_checkpoint(&checkpoint, request, sets, now_ms, write, &mut confirmed).await?);
        }
        Ok(decisions)
    }

    /// One decision at `checkpoint`; `confirmed` remembers strict mode's answers per
    /// (grant, category) for the rest of a batch.
    async fn decide_at_checkpoint(
        &self,
        checkpoint: &Checkpoint,
        request: &ReleaseRequest,
        sets: &impl RecordSets,
        now_ms: u64,
        write: bool,
        confirmed: &mut HashMap<(B256, u8), Result<bool, String>>,
    ) -> Result<Decision, StoreError> {
        let (earliest, latest) = live_window(checkpoint, now_ms);
        let facts = self
            .mirror
            .facts(&checkpoint.block, request.provider, request.patient, request.category.index(), earliest)
            .await?;
        if let Some(denial) = facts.provider_refusal() {
            return Ok(Decision::Deny(denial));
        }
        let mut any_live = false;
        let live = |g: &&MirroredGrant| g.not_before <= earliest && g.expires_at > latest && (g.write || !write);
        for grant in facts.grants.iter().filter(live) {
            any_live = true;
            if grant.records_root.is_zero() || sets.contains(grant.records_root, &request.record_id).await? {
                if let Some(strict) = &self.strict {
                    let key = (grant.grant_id, request.category.index());
                    let answer = match confirmed.get(&key) {
                        Some(answer) => answer.clone(),
                        None => {
                            let answer = strict.confirm(grant.grant_id, request).await;
                            confirmed.insert(key, answer.clone());
                            answer
                        }
                    };
                    if let Some(denial) = chain_refusal(answer) {
                        return Ok(Decision::Deny(denial));
                    }
                }
                return Ok(Decision::Release(Release::under(grant)));
            }
        }
        Ok(Decision::Deny(if any_live { Denial::NotInRecordSet } else { Denial::NoLiveGrant }))
    }

    /// The mirror's checkpoint, if it is fresh enough to decide on; the refusal otherwise.
    fn fresh_checkpoint(&self, now_ms: u64) -> Result<Checkpoint, Denial> {
        let Some(checkpoint) = self.mirror.checkpoint() else {
            return Err(Denial::MirrorStale(Stale::NoCheckpoint { chain_id: self.mirror.chain_id() }));
        };
        Freshness::of(&checkpoint, now_ms).check(&self.policy).map_err(Denial::MirrorStale)?;
        Ok(checkpoint)
    }

    /// Who she is (her own Patient record) for a provider she shares anything with: a live grant
    /// of any category, or of some records, releases it, as any release would (the same
    /// freshness, registration and strict-mode checks, on one checkpoint, caught up before
    /// refusing). The caller has already found that no grant covers the record's own category
    /// and that she has not hidden her identity from this provider (`identity_sharing`).
    pub async fn decide_identity(&self, request: &ReleaseRequest) -> Result<Decision, StoreError> {
        let now_ms = medkey_protocol::clock::now_ms();
        let decision = self.decide_identity_on_view(request, now_ms).await?;
        if is_retryable(&decision) && self.mirror.catch_up().await? {
            return self.decide_identity_on_view(request, now_ms).await;
        }
        Ok(decision)
    }

    async fn decide_identity_on_view(&self, request: &ReleaseRequest, now_ms: u64) -> Result<Decision, StoreError> {
        let checkpoint = match self.fresh_checkpoint(now_ms) {
            Ok(checkpoint) => checkpoint,
            Err(stale) => return Ok(Decision::Deny(stale)),
        };
        let (earliest, latest) = live_window(&checkpoint, now_ms);
        for category in Category::ALL {
            let facts = self
                .mirror
                .facts(&checkpoint.block, request.provider, request.patient, category.index(), earliest)
                .await?;
            if let Some(denial) = facts.provider_refusal() {
                return Ok(Decision::Deny(denial));
            }
            let live = facts.grants.iter().find(|g| g.not_before <= earliest && g.expires_at > latest);
            let Some(grant) = live else { continue };
            if let Some(strict) = &self.strict {
                let asked = ReleaseRequest { category: *category, ..request.clone() };
                if let Some(denial) = chain_refusal(strict.confirm(grant.grant_id, &asked).await) {
                    return Ok(Decision::Deny(denial));
                }
            }
            return Ok(Decision::Release(Release::under(grant)));
        }
        Ok(Decision::Deny(Denial::NoLiveGrant))
    }
}

/// The instants a grant must be live across: the earlier and the later of the wall clock and
/// the checkpoint's block time (a grant counts only if both agree it is live).
fn live_window(checkpoint: &Checkpoint, now_ms: u64) -> (u64, u64) {
    let (wall_now, chain_now) = (now_ms / 1_000, checkpoint.block.timestamp);
    (wall_now.min(chain_now), wall_now.max(chain_now))
}

/// Strict mode's answer as a refusal, if it is one: the chain said no, or could not be asked.
fn chain_refusal(answer: Result<bool, String>) -> Option<Denial> {
    match answer {
        Ok(true) => None,
        Ok(false) => Some(Denial::RefusedByChain),
        Err(err) => Some(Denial::ChainUnavailable(err)),
    }
}

/// A refusal worth deciding again on a fresher view: not strict mode's, which is the chain's own.
fn is_retryable(decision: &Decision) -> bool {
    matches!(decision, Decision::Deny(denial) if !matches!(denial, Denial::RefusedByChain | Denial::ChainUnavailable(_)))
}
