//! Sealing a record: `VERSION(1) ‖ nonce(12) ‖ AES-256-GCM(data key, nonce, record, aad = binding)`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use super::{DataKey, EnvelopeError, RecordBinding, VERSION, random_bytes};

pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
/// Bytes a sealed record adds to its plaintext.
pub const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Encrypts `plaintext` under `key` with a random nonce.
pub fn seal(key: &DataKey, binding: &RecordBinding, plaintext: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    seal_with_nonce(key, binding, plaintext, random_bytes()?)
}

/// [`seal`] with a caller-chosen nonce: for known-answer tests only. A nonce must never repeat
/// under one key; data keys are single-use, but random nonces keep that true even if one is not.
pub fn seal_with_nonce(
    key: &DataKey,
    binding: &RecordBinding,
    plaintext: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, EnvelopeError> {
    let cipher = Aes256Gcm::new(key.as_bytes().into());
    let aad = binding.to_bytes()?;
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: &aad })
        .map_err(|_| EnvelopeError::Authentication)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypts a sealed record; any change to it, the key or the binding fails.
pub fn open(key: &DataKey, binding: &RecordBinding, sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let (&version, rest) = sealed.split_first().ok_or(EnvelopeError::Truncated)?;
    if version != VERSION {
        return Err(EnvelopeError::UnsupportedVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(EnvelopeError::Truncated);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
    let cipher = Aes256Gcm::new(key.as_bytes().into());
    let aad = binding.to_bytes()?;
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad: &aad })
        .map_err(|_| EnvelopeError::Authentication)
}
