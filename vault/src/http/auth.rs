//! `Authorization: Bearer <access token>` → the signed-in address. The session family must still
//! be open, so a logout or a detected refresh-token theft cuts access at once.

use alloy::primitives::Address;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::{ApiError, AppState};

pub struct Caller {
    pub address: Address,
    /// Signed in with a second factor.
    pub mfa: bool,
}

impl Caller {
    /// Operator policy: a provider acting on a patient's records must have used a second factor.
    pub fn check_provider_mfa(&self, state: &AppState) -> Result<(), ApiError> {
        if !crate::release::mfa_satisfied(state, self.mfa) {
            return Err(crate::release::ReleaseError::MfaRequired.into());
        }
        Ok(())
    }

    /// The caller as a reader of a patient's records, from the client's address `ip`.
    pub fn reader(&self, ip: std::net::IpAddr) -> crate::release::Reader {
        crate::release::Reader { address: self.address, mfa: self.mfa, ip }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing_token", "send Authorization: Bearer <access token>"))?;
        let token =
            header.to_str().ok().and_then(|h| h.strip_prefix("Bearer ")).ok_or_else(|| {
                ApiError::unauthorized("invalid_token", "the Authorization header is not a bearer token")
            })?;
        let claims = state.identity.verify_access(token)?;
        if !state.identity.session_open(&claims.sid).await? {
            return Err(ApiError::unauthorized("session_closed", "the session was signed out or revoked"));
        }
        Ok(Self { address: claims.sub, mfa: claims.mfa() })
    }
}
