//! The Medkey envelope: how a record is encrypted on the patient's device and how its data key
//! reaches each reader. Format and rationale: `docs/envelope.md`.
//!
//! - [`record`]: a record (FHIR JSON) under a fresh per-record, per-version AES-256-GCM data key,
//!   bound to its metadata ([`RecordBinding`]) as associated data.
//! - [`wrap`]: the data key wrapped to a recipient's X25519 public key (ephemeral X25519,
//!   HKDF-SHA256, AES-256-GCM), bound to the same record.
//! - [`stream`]: attachments in 64 KiB chunks (STREAM over AES-256-GCM), so memory stays flat.
//! - [`origin`]: where a record came from in the patient's file, under a key only she derives.
//!
//! The vault only ever sees the outputs. Every failure to open is one opaque error: the
//! caller learns nothing about which byte was wrong.

mod binding;
pub mod connection;
mod keys;
mod labelled;
pub mod origin;
pub mod record;
pub mod stream;
pub mod wrap;

pub use binding::RecordBinding;
pub use keys::{DataKey, EncryptionPublicKey, EncryptionSecret};

/// The first byte of every envelope; a new format gets a new byte, never a reinterpretation.
pub const VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope version {0} is not supported (this build reads version {VERSION})")]
    UnsupportedVersion(u8),
    #[error("envelope is truncated")]
    Truncated,
    /// Wrong key, wrong record, or any modified byte: deliberately not more specific.
    #[error("envelope failed authentication (wrong key, wrong record, or tampered)")]
    Authentication,
    #[error("the recipient's public key is a low-order point")]
    WeakPublicKey,
    #[error("the operating system's random number generator failed")]
    Randomness,
    #[error("chunk size {0} is outside 1 KiB ..= 16 MiB")]
    ChunkSize(u32),
    #[error("resource type {0:?} is not 1 to 64 ASCII bytes")]
    ResourceType(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], EnvelopeError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| EnvelopeError::Randomness)?;
    Ok(bytes)
}
