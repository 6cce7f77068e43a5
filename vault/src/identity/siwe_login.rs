//! Verifying a Sign-In with Ethereum message: the `siwe` crate parses it (after the optional
//! `scheme://` EIP-4361 allows before the domain, which that crate does not know), the EIP-191
//! signature is checked over the exact bytes signed, and the vault checks domain, scheme, URI
//! origin, chain, time window and its own nonce.

use alloy::primitives::Address;
use siwe::Message;
use time::OffsetDateTime;

use super::mfa::{MfaError, SecondFactor};
use super::nonces::NonceError;
use super::{Identity, Session};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("not a valid EIP-4361 message: {0}")]
    Malformed(String),
    #[error("the signature must be 65 bytes")]
    MalformedSignature,
    #[error("the message is for {found}, not {expected}")]
    WrongDomain { expected: String, found: String },
    #[error("the message's URI is {found}, not this vault's origin {expected}")]
    WrongUri { expected: String, found: String },
    #[error("the message is for chain {found}, not {expected}")]
    WrongChain { expected: u64, found: u64 },
    #[error("the message is expired or not yet valid")]
    OutsideValidity,
    #[error("the signature does not match the message's address")]
    BadSignature,
    #[error("the nonce is unknown, expired or already used")]
    NonceRejected,
    #[error("this account has a second factor: send `totp` or `recovery_code` with the same signed message")]
    MfaRequired,
    #[error("second factor: {0}")]
    Mfa(MfaError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("nonce store: {0}")]
    NoncesUnavailable(crate::redis_store::RedisUnavailable),
}

impl From<NonceError> for LoginError {
    fn from(err: NonceError) -> Self {
        match err {
            NonceError::Database(err) => Self::Database(err),
            NonceError::Unavailable(err) => Self::NoncesUnavailable(err),
        }
    }
}

impl LoginError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) | Self::MalformedSignature => "malformed_login",
            Self::WrongDomain { .. } => "wrong_domain",
            Self::WrongUri { .. } => "wrong_uri",
            Self::WrongChain { .. } => "wrong_chain",
            Self::OutsideValidity => "login_expired",
            Self::BadSignature => "bad_signature",
            Self::NonceRejected => "nonce_rejected",
            Self::MfaRequired => "mfa_required",
            Self::Mfa(err) => err.code(),
            Self::Database(_) => "internal",
            Self::NoncesUnavailable(_) => "nonces_unavailable",
        }
    }
}

impl Identity {
    /// Verifies a signed SIWE message (and the second factor, if the account has one) and opens
    /// a session for its address. Checks run cheapest first; the nonce is consumed last, so a bad
    /// signature cannot burn someone's nonce and a missing code can be sent with the same message.
    pub async fn login(
        &self,
        message: &str,
        signature: &[u8],
        factor: Option<&SecondFactor>,
        now_ms: u64,
    ) -> Result<Session, LoginError> {
        let (scheme, parsed) = parse(message)?;
        let signature: &[u8; 65] = signature.try_into().map_err(|_| LoginError::MalformedSignature)?;
        let domain = parsed.domain.to_string();
        if domain != self.config.domain {
            return Err(LoginError::WrongDomain { expected: self.config.domain.clone(), found: domain });
        }
        self.check_origin(scheme, parsed.uri.as_str())?;
        if parsed.chain_id != self.config.chain_id {
            return Err(LoginError::WrongChain { expected: self.config.chain_id, found: parsed.chain_id });
        }
        let now = OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms) * 1_000_000)
            .map_err(|_| LoginError::OutsideValidity)?;
        let issued_in_future = parsed.issued_at.as_ref() > &(now + time::Duration::minutes(5));
        if !parsed.valid_at(&now) || issued_in_future {
            return Err(LoginError::OutsideValidity);
        }
        let address = Address::from(parsed.address);
        let signer = alloy::primitives::Signature::from_raw(signature)
            .and_then(|sig| sig.recover_address_from_msg(message.as_bytes()))
            .map_err(|_| LoginError::BadSignature)?;
        if signer != address {
            return Err(LoginError::BadSignature);
        }
        let mfa = match (self.mfa_enabled(address).await?, factor) {
            (false, None) => false,
            (false, Some(_)) => return Err(LoginError::Mfa(MfaError::NotEnabled)),
            (true, None) => return Err(LoginError::MfaRequired),
            (true, Some(factor)) => {
                self.check_second_factor(address, factor, now_ms).await.map_err(|err| match err {
                    MfaError::Database(err) => LoginError::Database(err),
                    other => LoginError::Mfa(other),
                })?;
                true
            }
        };
        if !self.consume_nonce(&parsed.nonce, now_ms).await? {
            return Err(LoginError::NonceRejected);
        }
        Ok(self.open_session(address, mfa, now_ms).await?)
    }
}

impl Identity {
    /// The message's URI must be on this vault's origin (scheme, host and port), and a scheme
    /// before the domain, if any, must be the origin's.
    fn check_origin(&self, scheme: Option<&str>, uri: &str) -> Result<(), LoginError> {
        let expected = &self.config.origin;
        let wrong = || LoginError::WrongUri { expected: expected.clone(), found: uri.to_owned() };
        let ours = url::Url::parse(expected).map_err(|_| wrong())?;
        let theirs = url::Url::parse(uri).map_err(|_| wrong())?;
        if theirs.origin() != ours.origin() || scheme.is_some_and(|s| !s.eq_ignore_ascii_case(ours.scheme())) {
            return Err(wrong());
        }
        Ok(())
    }
}

/// Splits off the optional `scheme://` before the domain (EIP-4361), then parses the rest.
fn parse(message: &str) -> Result<(Option<&str>, Message), LoginError> {
    let malformed = |e: siwe::ParseError| LoginError::Malformed(e.to_string());
    let first_line = message.split('\n').next().unwrap_or_default();
    match first_line.split_once("://") {
        Some((scheme, _)) if is_scheme(scheme) => {
            let rest = &message[scheme.len() + 3..];
            Ok((Some(scheme), rest.parse().map_err(malformed)?))
        }
        _ => Ok((None, message.parse().map_err(malformed)?)),
    }
}

/// RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}
