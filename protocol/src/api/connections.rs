//! Her provider connections (SMART on FHIR), kept by the vault as sealed blobs it cannot open:
//! which provider, her id there and the refresh token exist only on her devices
//! (`docs/envelope.md`, "Provider connections").

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One sealed connection, as kept.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConnectionView {
    /// The connection's id (32 hex digits), chosen by her client.
    #[schema(example = "6f1c2b0e9d8a4c3b8e7f6a5d4c3b2a19")]
    pub id: String,
    /// The sealed connection (base64): opaque to the vault.
    pub sealed: String,
    /// Bumped by each replacement; a replacement names the revision it replaces.
    pub revision: u64,
    pub updated_at_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionView>,
}

/// Keeps a new connection (no `revision`) or replaces one, only if it is still at `revision`: two
/// devices syncing at once cannot lose a refresh token the provider rotated.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionBody {
    /// The sealed connection (base64, at most 8 KiB decoded).
    pub sealed: String,
    /// The revision this replaces; absent for a new connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConnectionKept {
    /// The connection's revision now.
    pub revision: u64,
}
