//! A passkey account's secret: 32 random bytes made on her device, from which both her Ethereum
//! account (for Sign-In with Ethereum and EIP-712 grants) and her X25519 encryption key derive,
//! so an account needs no wallet. `docs/envelope.md` ("Account secret") is the specification,
//! with a test vector; this module and `web/packages/client/src/accountSecret.ts` implement it,
//! and the cross vectors hold the two together.
//!
//! ```text
//! eth_key(S)     = the first HKDF-SHA256(ikm = S, salt = "medkey/v1/account-secret",
//!                    info = "secp256k1 account key" ‖ counter(1)) for counter = 0, 1, …
//!                    that is a valid secp256k1 scalar (0 < k < n)
//! x25519(S, e)   = HKDF-SHA256(ikm = S, salt = "medkey/v1/account-secret",
//!                    info = "x25519 encryption key, epoch " ‖ e(4, big-endian))
//! ```
//!
//! The Ethereum account never changes (it is who she is on chain); the encryption key has an
//! epoch, so replacing it (issue #32, "a new key without losing a record") moves to the next
//! epoch without a new account. An epoch protects against an exposed encryption key, not an
//! exposed account secret: whoever holds `S` derives every epoch.

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::envelope::EncryptionSecret;

pub const HKDF_SALT: &[u8] = b"medkey/v1/account-secret";
const ETH_INFO: &[u8] = b"secp256k1 account key";
const X25519_INFO: &[u8] = b"x25519 encryption key, epoch ";

/// The account secret (zeroised when dropped). Never leaves her devices unwrapped.
pub struct AccountSecret(Zeroizing<[u8; 32]>);

impl AccountSecret {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A new secret from the OS's randomness.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *bytes)?;
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn expand(&self, info: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(HKDF_SALT), &*self.0).expand(info, &mut *out).expect("32 bytes is a valid length");
        out
    }

    /// Her Ethereum account's key: the first expansion that is a valid secp256k1 scalar (all but
    /// about one in 2^128 are, so the counter is almost always 0).
    pub fn ethereum_signer(&self) -> PrivateKeySigner {
        for counter in 0..=u8::MAX {
            let info = [ETH_INFO, &[counter]].concat();
            if let Ok(signer) = PrivateKeySigner::from_bytes(&B256::from(*self.expand(&info))) {
                return signer;
            }
        }
        unreachable!("256 expansions in a row outside the secp256k1 group order")
    }

    pub fn address(&self) -> Address {
        self.ethereum_signer().address()
    }

    /// Her X25519 encryption secret at `epoch` (0 for a new account).
    pub fn encryption_secret(&self, epoch: u32) -> EncryptionSecret {
        let info = [X25519_INFO, &epoch.to_be_bytes()].concat();
        EncryptionSecret::from_bytes(*self.expand(&info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_account_and_a_key_per_epoch() {
        let secret = AccountSecret::from_bytes([7; 32]);
        assert_eq!(secret.address(), AccountSecret::from_bytes([7; 32]).address(), "deterministic");
        assert_ne!(secret.address(), AccountSecret::from_bytes([8; 32]).address());
        let (e0, e1) = (secret.encryption_secret(0).public_key(), secret.encryption_secret(1).public_key());
        assert_ne!(e0.0, e1.0, "each epoch its own key");
        assert_eq!(e0.0, secret.encryption_secret(0).public_key().0);
        assert_ne!(AccountSecret::generate().unwrap().as_bytes(), AccountSecret::generate().unwrap().as_bytes());
    }
}
