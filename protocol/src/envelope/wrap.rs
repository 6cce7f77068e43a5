//! Wrapping a data key to a recipient's X25519 public key:
//!
//! ```text
//! e ← random X25519 secret,  E = e·G
//! shared = X25519(e, R)                      (refused if all zero: R was a low-order point)
//! KEK = HKDF-SHA256(ikm = shared, salt = E ‖ R, info = "medkey/v1/key-wrap" ‖ binding)
//! wrapped = VERSION(1) ‖ E(32) ‖ AES-256-GCM(KEK, nonce = 0¹², data key, aad = binding)   (81 bytes)
//! ```
//!
//! The KEK is used once (fresh `e` per wrap), so the fixed nonce is safe. Binding the record in
//! both the KDF and the AAD means a wrapped key opens for this record, version and owner only.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::{DataKey, EncryptionPublicKey, EncryptionSecret, EnvelopeError, RecordBinding, VERSION, random_bytes};

pub const WRAPPED_LEN: usize = 1 + 32 + 32 + 16;
const INFO_LABEL: &[u8] = b"medkey/v1/key-wrap";

/// Wraps `key` for `recipient`, bound to `binding`.
pub fn wrap(
    key: &DataKey,
    recipient: &EncryptionPublicKey,
    binding: &RecordBinding,
) -> Result<[u8; WRAPPED_LEN], EnvelopeError> {
    wrap_with_ephemeral(key, recipient, binding, &EncryptionSecret::from_bytes(random_bytes()?))
}

/// [`wrap`] with a caller-chosen ephemeral secret: for known-answer tests only.
pub fn wrap_with_ephemeral(
    key: &DataKey,
    recipient: &EncryptionPublicKey,
    binding: &RecordBinding,
    ephemeral: &EncryptionSecret,
) -> Result<[u8; WRAPPED_LEN], EnvelopeError> {
    let ephemeral_public = ephemeral.public_key();
    let kek = key_encryption_key(ephemeral.secret(), recipient, &ephemeral_public, recipient, binding)?;
    let aad = binding.to_bytes()?;
    let sealed = Aes256Gcm::new((&*kek).into())
        .encrypt(&Nonce::from([0u8; 12]), Payload { msg: key.as_bytes(), aad: &aad })
        .map_err(|_| EnvelopeError::Authentication)?;
    let mut out = [0u8; WRAPPED_LEN];
    out[0] = VERSION;
    out[1..33].copy_from_slice(&ephemeral_public.0);
    out[33..].copy_from_slice(&sealed);
    Ok(out)
}

/// Recovers the data key with the recipient's secret; fails for any other key, record or byte.
pub fn unwrap(wrapped: &[u8], recipient: &EncryptionSecret, binding: &RecordBinding) -> Result<DataKey, EnvelopeError> {
    let (&version, _) = wrapped.split_first().ok_or(EnvelopeError::Truncated)?;
    if version != VERSION {
        return Err(EnvelopeError::UnsupportedVersion(version));
    }
    if wrapped.len() != WRAPPED_LEN {
        return Err(EnvelopeError::Truncated);
    }
    let ephemeral_public = EncryptionPublicKey(wrapped[1..33].try_into().expect("32 bytes"));
    // X25519 is symmetric: X25519(r, E) = X25519(e, R).
    let kek =
        key_encryption_key(recipient.secret(), &ephemeral_public, &ephemeral_public, &recipient.public_key(), binding)
            .map_err(|_| EnvelopeError::Authentication)?;
    let aad = binding.to_bytes()?;
    let key = Zeroizing::new(
        Aes256Gcm::new((&*kek).into())
            .decrypt(&Nonce::from([0u8; 12]), Payload { msg: &wrapped[33..], aad: &aad })
            .map_err(|_| EnvelopeError::Authentication)?,
    );
    let bytes: [u8; 32] = key.as_slice().try_into().map_err(|_| EnvelopeError::Authentication)?;
    Ok(DataKey::from_bytes(bytes))
}

/// HKDF-SHA256 over the X25519 shared secret, salted with both public keys and bound to the record.
fn key_encryption_key(
    own_secret: &StaticSecret,
    peer: &EncryptionPublicKey,
    ephemeral_public: &EncryptionPublicKey,
    recipient_public: &EncryptionPublicKey,
    binding: &RecordBinding,
) -> Result<Zeroizing<[u8; 32]>, EnvelopeError> {
    let shared = own_secret.diffie_hellman(&PublicKey::from(peer.0));
    if !shared.was_contributory() {
        return Err(EnvelopeError::WeakPublicKey);
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(&ephemeral_public.0);
    salt[32..].copy_from_slice(&recipient_public.0);
    let info = [INFO_LABEL, &binding.to_bytes()?].concat();
    let mut kek = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes())
        .expand(&info, kek.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    Ok(kek)
}
