//! The optional second factor: TOTP (RFC 6238, SHA-1, 6 digits, 30 s, one step of skew; what
//! every authenticator app speaks) through `totp-rs`, plus ten single-use recovery codes.
//!
//! The vault must check codes, so it keeps the TOTP secret, sealed with AES-256-GCM under a key
//! derived from the vault secret (the address as associated data): a stolen database alone does
//! not give the second factor away. Recovery codes carry 80 random bits and are stored as SHA-256.
//! Each time step is accepted once (RFC 6238 §5.2), enforced by a conditional UPDATE, so two
//! concurrent logins cannot both spend the same code.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use alloy::primitives::Address;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use sqlx::Row;
use totp_rs::{Builder, Totp};
use zeroize::Zeroizing;

use super::{Identity, random_token};

const ISSUER: &str = "Medkey";
const RECOVERY_CODES: usize = 10;

/// What the user types as the second factor.
#[derive(Clone, Debug)]
pub enum SecondFactor {
    Totp(String),
    RecoveryCode(String),
}

/// A TOTP secret waiting for its first code; shown to the user once.
#[derive(Clone, Debug)]
pub struct TotpEnrollment {
    pub secret_base32: String,
    /// `otpauth://totp/…` for a QR code.
    pub otpauth_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("a second factor is already enabled for this account")]
    AlreadyEnabled,
    #[error("no enrolment is pending: start one with POST /v1/auth/mfa/setup")]
    NotStarted,
    #[error("no second factor is enabled for this account")]
    NotEnabled,
    #[error("the code is wrong, expired or already used")]
    InvalidCode,
    #[error("the stored TOTP secret cannot be opened (was the vault secret changed?)")]
    SealBroken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl MfaError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyEnabled => "mfa_already_enabled",
            Self::NotStarted => "mfa_not_started",
            Self::NotEnabled => "mfa_not_enabled",
            Self::InvalidCode => "invalid_mfa_code",
            Self::SealBroken | Self::Database(_) => "internal",
        }
    }
}

impl Identity {
    pub async fn mfa_enabled(&self, address: Address) -> Result<bool, sqlx::Error> {
        let enabled: Option<Option<i64>> = sqlx::query_scalar("SELECT enabled_at_ms FROM mfa_totp WHERE address = $1")
            .bind(address.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        Ok(enabled.flatten().is_some())
    }

    /// A fresh TOTP secret for `address`, pending until [`Identity::enable_totp`] sees a code
    /// from it. Starting again replaces a pending secret; an enabled one must be disabled first.
    pub async fn begin_totp(&self, address: Address, now_ms: u64) -> Result<TotpEnrollment, MfaError> {
        if self.mfa_enabled(address).await? {
            return Err(MfaError::AlreadyEnabled);
        }
        let secret = Zeroizing::new(random_token()[..20].to_vec());
        let totp = totp(&secret, address);
        let sealed = self.seal_secret(address, &secret);
        sqlx::query("DELETE FROM mfa_totp WHERE address = $1 AND enabled_at_ms IS NULL")
            .bind(address.to_vec())
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO mfa_totp (address, secret_sealed, created_at_ms) VALUES ($1, $2, $3)")
            .bind(address.to_vec())
            .bind(sealed)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        let otpauth_url = totp.to_url().expect("issuer and account name are valid");
        Ok(TotpEnrollment { secret_base32: totp_rs::Secret::from(secret.to_vec()).to_base32(), otpauth_url })
    }

    /// Turns the pending secret on once the user proves their app has it; returns the recovery
    /// codes (shown once, stored hashed).
    pub async fn enable_totp(&self, address: Address, code: &str, now_ms: u64) -> Result<Vec<String>, MfaError> {
        let Some((secret, enabled, _)) = self.stored_totp(address).await? else { return Err(MfaError::NotStarted) };
        if enabled {
            return Err(MfaError::AlreadyEnabled);
        }
        // `check` answers with the matching time step (counter), not a time.
        let step = totp(&secret, address).check(code.trim(), now_ms / 1_000).ok_or(MfaError::InvalidCode)?;
        let enabled = sqlx::query(
            "UPDATE mfa_totp SET enabled_at_ms = $1, last_step = $2 WHERE address = $3 AND enabled_at_ms IS NULL",
        )
        .bind(now_ms as i64)
        .bind(step as i64)
        .bind(address.to_vec())
        .execute(&self.pool)
        .await?;
        if enabled.rows_affected() != 1 {
            return Err(MfaError::AlreadyEnabled);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE address = $1")
            .bind(address.to_vec())
            .execute(&mut *tx)
            .await?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        for code in &codes {
            sqlx::query("INSERT INTO mfa_recovery_codes (address, code_hash) VALUES ($1, $2)")
                .bind(address.to_vec())
                .bind(code_hash(code))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns the second factor off; needs a current code or a recovery code.
    pub async fn disable_mfa(&self, address: Address, factor: &SecondFactor, now_ms: u64) -> Result<(), MfaError> {
        self.check_second_factor(address, factor, now_ms).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM mfa_totp WHERE address = $1").bind(address.to_vec()).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE address = $1")
            .bind(address.to_vec())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Accepts a TOTP code (each step once) or an unused recovery code, and spends it.
    pub(super) async fn check_second_factor(
        &self,
        address: Address,
        factor: &SecondFactor,
        now_ms: u64,
    ) -> Result<(), MfaError> {
        let Some((secret, true, last_step)) = self.stored_totp(address).await? else {
            return Err(MfaError::NotEnabled);
        };
        let spent = match factor {
            SecondFactor::Totp(code) => {
                let Some(step) = totp(&secret, address).check(code.trim(), now_ms / 1_000) else {
                    return Err(MfaError::InvalidCode);
                };
                let step = step as i64;
                if step <= last_step {
                    return Err(MfaError::InvalidCode);
                }
                sqlx::query("UPDATE mfa_totp SET last_step = $1 WHERE address = $2 AND last_step < $1")
                    .bind(step)
                    .bind(address.to_vec())
                    .execute(&self.pool)
                    .await?
            }
            SecondFactor::RecoveryCode(code) => {
                sqlx::query(
                    "UPDATE mfa_recovery_codes SET used_at_ms = $1 \
                     WHERE address = $2 AND code_hash = $3 AND used_at_ms IS NULL",
                )
                .bind(now_ms as i64)
                .bind(address.to_vec())
                .bind(code_hash(code))
                .execute(&self.pool)
                .await?
            }
        };
        if spent.rows_affected() == 1 { Ok(()) } else { Err(MfaError::InvalidCode) }
    }

    /// The secret, whether it is enabled, and the last accepted step.
    async fn stored_totp(&self, address: Address) -> Result<Option<(Zeroizing<Vec<u8>>, bool, i64)>, MfaError> {
        let row = sqlx::query("SELECT secret_sealed, enabled_at_ms, last_step FROM mfa_totp WHERE address = $1")
            .bind(address.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Vec<u8> = row.try_get("secret_sealed")?;
        let secret = self.open_secret(address, &sealed).ok_or(MfaError::SealBroken)?;
        Ok(Some((secret, row.try_get::<Option<i64>, _>("enabled_at_ms")?.is_some(), row.try_get("last_step")?)))
    }

    fn sealing_key(&self) -> Aes256Gcm {
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(None, &self.config.jwt_secret)
            .expand(b"medkey/v1/totp-secret-at-rest", key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 length");
        Aes256Gcm::new_from_slice(key.as_ref()).expect("a 32-byte key")
    }

    fn seal_secret(&self, address: Address, secret: &[u8]) -> Vec<u8> {
        let nonce: [u8; 12] = random_token()[..12].try_into().expect("12 of 32 bytes");
        let payload = Payload { msg: secret, aad: address.as_slice() };
        let sealed = self.sealing_key().encrypt(&Nonce::from(nonce), payload).expect("AES-GCM sealing cannot fail");
        [nonce.as_slice(), &sealed].concat()
    }

    fn open_secret(&self, address: Address, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, body) = sealed.split_first_chunk::<12>()?;
        let payload = Payload { msg: body, aad: address.as_slice() };
        self.sealing_key().decrypt(&Nonce::from(*nonce), payload).ok().map(Zeroizing::new)
    }
}

fn totp(secret: &[u8], address: Address) -> Totp {
    Builder::new()
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(address.to_string())
        .build()
        .expect("a 160-bit secret with the RFC 6238 defaults is valid")
}

/// 80 random bits as 20 hex digits in groups of five (`1a2b3-c4d5e-6f7a8-b9c0d`).
fn recovery_code() -> String {
    let hex = alloy::hex::encode(&random_token()[..10]);
    hex.as_bytes().chunks(5).map(|c| std::str::from_utf8(c).expect("hex is ASCII")).collect::<Vec<_>>().join("-")
}

/// Codes are compared on their digits only, whatever the case or grouping the user typed.
fn code_hash(code: &str) -> Vec<u8> {
    let digits: String = code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    Sha256::digest(digits.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_80_bits_in_groups_and_match_however_typed() {
        let code = recovery_code();
        assert_eq!(code.len(), 23);
        assert_eq!(code.matches('-').count(), 3);
        assert_ne!(code, recovery_code());
        assert_eq!(code_hash(&code), code_hash(&code.to_uppercase().replace('-', " ")));
        assert_ne!(code_hash(&code), code_hash(&recovery_code()));
    }
}
