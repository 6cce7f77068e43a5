//! Key material. Secrets zeroize on drop and never implement `Debug` with their bytes.

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{EnvelopeError, random_bytes};

/// A record's 256-bit AES-GCM data key: fresh for every record and every version.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl DataKey {
    pub fn generate() -> Result<Self, EnvelopeError> {
        Ok(Self(random_bytes()?))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// An account's X25519 secret: data keys are wrapped to its public half.
#[derive(Clone)]
pub struct EncryptionSecret(StaticSecret);

impl EncryptionSecret {
    pub fn generate() -> Result<Self, EnvelopeError> {
        Ok(Self(StaticSecret::from(random_bytes::<32>()?)))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(StaticSecret::from(bytes))
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public_key(&self) -> EncryptionPublicKey {
        EncryptionPublicKey(PublicKey::from(&self.0).to_bytes())
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.0
    }
}

impl std::fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionSecret(public {})", self.public_key())
    }
}

/// An X25519 public key, as published on chain (`bytes32 encryptionKey`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EncryptionPublicKey(pub [u8; 32]);

impl std::fmt::Display for EncryptionPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", alloy::hex::encode(self.0))
    }
}

impl From<alloy::primitives::B256> for EncryptionPublicKey {
    fn from(key: alloy::primitives::B256) -> Self {
        Self(key.0)
    }
}
