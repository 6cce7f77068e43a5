//! What every handler can reach.

use medkey_indexer::{FreshnessPolicy, Store};

use crate::access_log::AccessLog;
use crate::gate::ReleaseGate;
use crate::identity::Identity;
use crate::records::Records;

#[derive(Clone, Debug)]
pub struct AppState {
    pub identity: Identity,
    pub records: Records,
    pub gate: ReleaseGate,
    pub log: AccessLog,
    pub mirror: Store,
    pub chain_id: u64,
    pub freshness: FreshnessPolicy,
}

pub fn now_ms() -> u64 {
    medkey_indexer::sync::now_ms()
}
