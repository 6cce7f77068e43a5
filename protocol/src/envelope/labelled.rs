//! The sealing shared by a record's origin and a provider connection: AES-256-GCM under a key of
//! the account's, with associated data that starts with the kind's own label, so a blob of one
//! kind never opens as the other (`docs/envelope.md`).
//!
//! ```text
//! sealed = VERSION(1) ‖ nonce(12) ‖ AES-256-GCM(K, nonce, plaintext, aad)
//! ```

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use super::{EnvelopeError, VERSION};

pub(crate) fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8], nonce: [u8; 12]) -> Result<Vec<u8>, EnvelopeError> {
    let sealed = Aes256Gcm::new(key.into())
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
        .map_err(|_| EnvelopeError::Authentication)?;
    let mut out = Vec::with_capacity(1 + 12 + sealed.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The plaintext (zeroised when dropped).
pub(crate) fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let (&version, rest) = sealed.split_first().ok_or(EnvelopeError::Truncated)?;
    if version != VERSION {
        return Err(EnvelopeError::UnsupportedVersion(version));
    }
    if rest.len() < 12 + 16 {
        return Err(EnvelopeError::Truncated);
    }
    let (nonce, ciphertext) = rest.split_at(12);
    Aes256Gcm::new(key.into())
        .decrypt(&Nonce::try_from(nonce).map_err(|_| EnvelopeError::Truncated)?, Payload { msg: ciphertext, aad })
        .map(Zeroizing::new)
        .map_err(|_| EnvelopeError::Authentication)
}
