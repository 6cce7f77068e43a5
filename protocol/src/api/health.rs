//! `/healthz` and `/readyz`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Ready {
    /// Always `ready`.
    #[schema(example = "ready")]
    pub status: String,
    pub mirror: MirrorFreshness,
}

/// How far behind the chain the vault's mirror of the registry is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub struct MirrorFreshness {
    pub indexed_block: u64,
    pub head_block: u64,
    pub lag_blocks: u64,
    /// Milliseconds since the chain head was last confirmed.
    pub head_age_ms: u64,
}
