//! `/v1/auth/*`: Sign-In with Ethereum, tokens, the TOTP second factor.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Nonce {
    /// Put it in the SIWE message's `Nonce:` line; good for one sign-in, for a few minutes.
    pub nonce: String,
    /// The vault's public origin: the SIWE message's `URI:` line.
    #[schema(example = "https://vault.example.org")]
    pub uri: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The EIP-4361 message, exactly as signed.
    pub message: String,
    /// The EIP-191 signature of `message`, hex.
    pub signature: String,
    /// The current TOTP code, when the account has a second factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<String>,
    /// Or one of its unused recovery codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionBody {
    #[schema(value_type = String, example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub address: Address,
    /// `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Unix seconds.
    pub access_expires_at: u64,
    /// Single use: each refresh returns a new one.
    pub refresh_token: String,
    pub refresh_expires_at_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MfaStatus {
    /// The account has a second factor.
    pub enabled: bool,
    /// This session signed in with it.
    pub this_session: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TotpSetup {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// The same as an `otpauth://` URL, for a QR code.
    pub otpauth_url: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodes {
    /// Shown once: each works once in place of a TOTP code.
    pub recovery_codes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// A code from the authenticator app.
    pub code: String,
}

/// One of the two, not both.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactorBody {
    /// The current TOTP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<String>,
    /// Or one of the unused recovery codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}
