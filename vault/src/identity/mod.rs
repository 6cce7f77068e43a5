//! Who is calling: Sign-In with Ethereum (EIP-4361) with single-use nonces, then a short-lived
//! JWT access token and a rotating refresh token. Presenting a refresh token that was already
//! used revokes its whole family: a thief and the owner cannot both keep a session.

mod access;
mod mfa;
mod nonces;
mod open_sessions;
mod refresh;
mod siwe_login;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use sqlx::AnyPool;
use zeroize::Zeroizing;

use open_sessions::OpenSessions;

use crate::redis_store::RedisStore;

pub use access::{AccessClaims, TokenError};
pub use mfa::{MfaError, SecondFactor, TotpEnrollment};
pub use nonces::NonceError;
pub use refresh::RefreshError;
pub use siwe_login::LoginError;

#[derive(Clone)]
pub struct IdentityConfig {
    /// The host name SIWE messages must name (`example.org`, `localhost:8080`).
    pub domain: String,
    /// The vault's public origin (`https://example.org`): a SIWE message's URI must be on it,
    /// and its optional scheme must be this one.
    pub origin: String,
    /// The chain SIWE messages must name.
    pub chain_id: u64,
    /// The vault secret, at least 32 bytes: the HMAC key for access tokens, and (through HKDF)
    /// the key TOTP secrets are sealed under. Changing it signs everyone out and voids TOTP
    /// enrolments; recovery codes still work.
    pub jwt_secret: Zeroizing<Vec<u8>>,
    /// Access-token lifetime; capped at 15 minutes.
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Operator policy: providers must have signed in with a second factor to read or write
    /// patients' records.
    pub require_provider_mfa: bool,
    pub nonce_ttl: Duration,
}

impl std::fmt::Debug for IdentityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityConfig")
            .field("domain", &self.domain)
            .field("origin", &self.origin)
            .field("chain_id", &self.chain_id)
            .field("jwt_secret", &"<redacted>")
            .field("access_ttl", &self.access_ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the JWT secret must be at least 32 bytes")]
    ShortSecret,
    #[error("access tokens may live at most 15 minutes")]
    AccessTtlTooLong,
    #[error("the public origin '{0}' is not an http(s) URL with a host")]
    BadOrigin(String),
}

/// A signed-in session: what login and refresh hand back to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub address: Address,
    pub access_token: String,
    pub access_expires_at: u64,
    /// Secret: shown to the client once, stored only as a hash.
    pub refresh_token: String,
    pub refresh_expires_at_ms: u64,
}

#[derive(Clone, Debug)]
pub struct Identity {
    pool: AnyPool,
    config: IdentityConfig,
    open_sessions: Arc<OpenSessions>,
    /// Where nonces live when not in the database.
    redis: Option<RedisStore>,
}

impl Identity {
    pub fn new(pool: AnyPool, config: IdentityConfig) -> Result<Self, ConfigError> {
        if config.jwt_secret.len() < 32 {
            return Err(ConfigError::ShortSecret);
        }
        if config.access_ttl > Duration::from_secs(15 * 60) {
            return Err(ConfigError::AccessTtlTooLong);
        }
        let origin = url::Url::parse(&config.origin).ok();
        if !origin.is_some_and(|o| matches!(o.scheme(), "http" | "https") && o.host().is_some()) {
            return Err(ConfigError::BadOrigin(config.origin.clone()));
        }
        Ok(Self { pool, config, open_sessions: Arc::default(), redis: None })
    }
}

impl Identity {
    /// The origin SIWE messages' URIs must be on.
    pub fn origin(&self) -> &str {
        &self.config.origin
    }

    /// Keeps SIWE nonces in Redis from now on, shared by every vault using `store`.
    pub fn with_redis(self, store: RedisStore) -> Self {
        Self { redis: Some(store), ..self }
    }

    pub fn requires_provider_mfa(&self) -> bool {
        self.config.require_provider_mfa
    }
}

fn random_token() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random number generator works");
    bytes
}
