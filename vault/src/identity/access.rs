//! Access tokens: HS256 JWTs, at most 15 minutes, issuer and audience pinned. The verifier
//! accepts HS256 only, so `alg: none` and algorithm-confusion tokens are refused.

use alloy::primitives::Address;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::Identity;

const ISSUER: &str = "medkey-vault";
const AUDIENCE: &str = "medkey-api";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The signed-in address.
    pub sub: Address,
    /// Session family id (hex), shared with the refresh tokens of this login.
    pub sid: String,
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
    /// How the holder authenticated (RFC 8176): `eth` (SIWE signature), plus `otp` after a
    /// second factor.
    #[serde(default)]
    pub amr: Vec<String>,
}

impl AccessClaims {
    /// Whether the session was opened with a second factor.
    pub fn mfa(&self) -> bool {
        self.amr.iter().any(|m| m == "otp")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is expired")]
    Expired,
    #[error("the access token is invalid")]
    Invalid,
}

impl Identity {
    pub(super) fn issue_access(&self, address: Address, family: &str, mfa: bool, now_s: u64) -> (String, u64) {
        let exp = now_s + self.config.access_ttl.as_secs();
        let claims = AccessClaims {
            sub: address,
            sid: family.to_owned(),
            iat: now_s,
            exp,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            amr: if mfa { vec!["eth".into(), "otp".into()] } else { vec!["eth".into()] },
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&self.config.jwt_secret))
            .expect("HS256 signing cannot fail");
        (token, exp)
    }

    /// Checks signature, algorithm, issuer, audience and expiry (no leeway).
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 0;
        decode::<AccessClaims>(token, &DecodingKey::from_secret(&self.config.jwt_secret), &validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}
