//! An account's published encryption key and its break-glass providers.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishKeyBody {
    /// The X25519 public key, 0x-prefixed hex (32 bytes).
    #[schema(example = "0x8f14e45fceea167a5a36dedd4bea2543c9f0f4e5d6c7b8a9f0e1d2c3b4a59687")]
    pub encryption_key: String,
    /// The account's EIP-191 signature (65 bytes, hex) of the statement
    /// `Medkey encryption key\nAccount: <checksummed address>\nChain ID: <id>\nX25519 key: <0x key>`.
    pub signature: String,
}

/// A published key, with the signature anyone can check against the account (never trust the vault for it).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PublishedKey {
    #[schema(value_type = String, example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub address: Address,
    /// 0x-prefixed hex (32 bytes).
    pub encryption_key: String,
    /// 0x-prefixed hex (65 bytes).
    pub signature: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvidersBody {
    /// Provider addresses (0x-prefixed hex), at most 50, no repeats; `[]` clears the list.
    #[schema(example = json!(["0x90F79bf6EB2c4f870365E785982E1f101E93b906"]))]
    pub providers: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EmergencyProviders {
    #[schema(value_type = Vec<String>)]
    pub providers: Vec<Address>,
}

/// Who she is (her own Patient record) goes to every provider she shares anything with, but
/// these: the providers she hid it from.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IdentitySharing {
    #[schema(value_type = Vec<String>, example = json!(["0x90F79bf6EB2c4f870365E785982E1f101E93b906"]))]
    pub hidden_from: Vec<Address>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityShownBody {
    /// `true`: the provider may read who she is while she shares anything with it; `false`: not.
    pub shown: bool,
}
