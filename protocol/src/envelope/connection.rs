//! A provider connection (SMART on FHIR), sealed so that only its owner opens it: the provider's
//! endpoints, her id there, the refresh token and the sync cursor, as her client wrote them
//! (JSON; `web/packages/client/src/smart/connection.ts` defines the fields). The vault keeps the
//! sealed bytes and learns neither the provider nor the token.
//!
//! ```text
//! K      = HKDF-SHA256(ikm = owner's X25519 secret, salt = "medkey/v1/provider-connection", info = "connection key", L = 32)
//! aad    = "medkey/v1/provider-connection" ‖ connection_id(16) ‖ owner(20)
//! sealed = VERSION(1) ‖ nonce(12, random) ‖ AES-256-GCM(K, nonce, connection JSON, aad)
//! ```
//!
//! The same construction as a record's origin under its own label, so neither opens as the other.

use alloy::primitives::Address;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{EncryptionSecret, EnvelopeError, labelled, random_bytes};

const LABEL: &[u8] = b"medkey/v1/provider-connection";

/// The largest sealed connection a vault keeps.
pub const MAX_SEALED_BYTES: usize = 8 * 1024;

/// The account's key for sealing provider connections.
pub struct ConnectionKey(Zeroizing<[u8; 32]>);

impl ConnectionKey {
    pub fn derive(owner_secret: &EncryptionSecret) -> Self {
        let ikm = Zeroizing::new(owner_secret.to_bytes());
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(LABEL), &*ikm)
            .expand(b"connection key", &mut *key)
            .expect("32 bytes is a valid length");
        Self(key)
    }

    /// Seals the connection's JSON for connection `id` of `owner`.
    pub fn seal(&self, id: &[u8; 16], owner: Address, json: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        self.seal_with_nonce(id, owner, json, random_bytes()?)
    }

    /// `seal` with a given nonce: for known-answer vectors only (a nonce must never repeat).
    #[doc(hidden)]
    pub fn seal_with_nonce(
        &self,
        id: &[u8; 16],
        owner: Address,
        json: &[u8],
        nonce: [u8; 12],
    ) -> Result<Vec<u8>, EnvelopeError> {
        labelled::seal(&self.0, &aad(id, owner), json, nonce)
    }

    /// The connection's JSON (zeroised when dropped: it holds a refresh token).
    pub fn open(&self, id: &[u8; 16], owner: Address, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        labelled::open(&self.0, &aad(id, owner), sealed)
    }
}

fn aad(id: &[u8; 16], owner: Address) -> Vec<u8> {
    [LABEL, id.as_slice(), owner.as_slice()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_for_its_id_and_owner() {
        let key = ConnectionKey::derive(&EncryptionSecret::from_bytes([7; 32]));
        let owner = Address::repeat_byte(1);
        let sealed = key.seal(&[2; 16], owner, br#"{"refreshToken":"r"}"#).unwrap();
        assert_eq!(&**key.open(&[2; 16], owner, &sealed).unwrap(), br#"{"refreshToken":"r"}"#);
        assert!(key.open(&[3; 16], owner, &sealed).is_err(), "another connection's id");
        assert!(key.open(&[2; 16], Address::repeat_byte(9), &sealed).is_err(), "another owner");
        let other = ConnectionKey::derive(&EncryptionSecret::from_bytes([8; 32]));
        assert!(other.open(&[2; 16], owner, &sealed).is_err(), "another account's key");
    }
}
