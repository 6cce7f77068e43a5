//! An account's X25519 encryption key, derived from its wallet's signature of a fixed statement.
//!
//! Wallets never reveal a private key; they sign. RFC 6979 signers (MetaMask, Ledger, Trezor,
//! viem, ethers, alloy) sign deterministically, so the signature of one fixed text is a secret
//! only the wallet can reproduce, and HKDF of it is a key every Medkey client (the CLI, the
//! browser library) derives alike. `docs/envelope.md` ("The account's encryption key") is the
//! specification, with a test vector; this module and `web/packages/client/src/walletKey.ts`
//! implement it.

use alloy::primitives::{Address, Signature};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::envelope::EncryptionSecret;

/// The version this module derives; it is written in the statement, so a later derivation can
/// never be confused with this one.
pub const VERSION: u32 = 1;

/// HKDF salt and info of version 1.
pub const HKDF_SALT: &[u8] = b"medkey/wallet-key/v1";
pub const HKDF_INFO: &[u8] = b"x25519 encryption key";

/// The text the wallet signs (EIP-191 `personal_sign`), in plain words because the person sees
/// it in the wallet's prompt. It names the account and nothing about a chain, registry or vault:
/// the key is the person's across networks and vaults (an export imports anywhere), and naming
/// a site would not stop a phishing site from asking for the same text.
pub fn statement(account: Address) -> String {
    format!(
        "Medkey encryption key (version {VERSION})\n\
         \n\
         Signing this lets this app open your medical records on this device.\n\
         Sign it only in a Medkey app: anyone who gets this signature can read your records.\n\
         It costs nothing and sends no transaction.\n\
         \n\
         Account: {account}"
    )
}

/// Why a signature cannot become a key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeriveError {
    #[error("the signature is not a 65-byte secp256k1 signature")]
    Malformed,
    #[error(
        "the signature is not {0}'s signature of the Medkey statement (a smart-contract wallet \
         cannot derive a Medkey encryption key; use an ordinary account)"
    )]
    WrongSigner(Address),
}

/// The X25519 secret of `account`, from its wallet's `signature` of [`statement`]. Checks that
/// `account` made the signature (a wallet that signed with another account, or a contract
/// wallet's EIP-1271 signature, is refused), then keys HKDF with `r ‖ s` in low-s form, so the
/// two valid encodings of one signature and either recovery byte derive the same key.
pub fn derive(account: Address, signature: &[u8]) -> Result<EncryptionSecret, DeriveError> {
    // Low-s form (the recovery bit flips with s), so both encodings of one signature agree.
    let signature = Signature::try_from(signature).map_err(|_| DeriveError::Malformed)?.normalized_s();
    let signer = signature.recover_address_from_msg(statement(account)).map_err(|_| DeriveError::Malformed)?;
    if signer != account {
        return Err(DeriveError::WrongSigner(account));
    }
    let mut ikm = Zeroizing::new([0u8; 64]);
    ikm[..32].copy_from_slice(&signature.r().to_be_bytes::<32>());
    ikm[32..].copy_from_slice(&signature.s().to_be_bytes::<32>());
    let mut seed = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(HKDF_SALT), ikm.as_slice())
        .expand(HKDF_INFO, seed.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 length");
    Ok(EncryptionSecret::from_bytes(*seed))
}

#[cfg(test)]
mod tests {
    use alloy::signers::SignerSync;
    use alloy::signers::local::PrivateKeySigner;

    use alloy::primitives::U256;

    use super::*;

    /// secp256k1's group order n.
    const ORDER: U256 =
        U256::from_be_bytes(alloy::hex!("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"));

    fn signer(byte: u8) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&[byte; 32].into()).unwrap()
    }

    fn sign(signer: &PrivateKeySigner, account: Address) -> Vec<u8> {
        signer.sign_message_sync(statement(account).as_bytes()).unwrap().as_bytes().to_vec()
    }

    #[test]
    fn the_same_wallet_derives_the_same_key_and_another_wallet_another() {
        let (a, b) = (signer(1), signer(2));
        let key_a = derive(a.address(), &sign(&a, a.address())).unwrap();
        assert_eq!(key_a.to_bytes(), derive(a.address(), &sign(&a, a.address())).unwrap().to_bytes());
        assert_ne!(key_a.public_key(), derive(b.address(), &sign(&b, b.address())).unwrap().public_key());
    }

    #[test]
    fn another_accounts_signature_or_a_mangled_one_is_refused() {
        let (a, b) = (signer(1), signer(2));
        assert_eq!(derive(a.address(), &sign(&b, a.address())).err(), Some(DeriveError::WrongSigner(a.address())));
        let mut flipped = sign(&a, a.address());
        flipped[10] ^= 1;
        assert!(derive(a.address(), &flipped).is_err());
        assert_eq!(derive(a.address(), &flipped[..64]).err(), Some(DeriveError::Malformed));
    }

    #[test]
    fn both_recovery_byte_forms_and_the_high_s_form_derive_the_same_key() {
        let a = signer(1);
        let canonical = sign(&a, a.address());
        let want = derive(a.address(), &canonical).unwrap().to_bytes();
        let mut legacy_v = canonical.clone();
        legacy_v[64] -= 27; // 0/1 instead of 27/28, as some hardware wallets answer
        assert_eq!(derive(a.address(), &legacy_v).unwrap().to_bytes(), want);
        // s' = n - s with the recovery bit flipped is the same signature in its other form.
        let mut high = canonical.clone();
        let s = U256::from_be_slice(&canonical[32..64]);
        high[32..64].copy_from_slice(&(ORDER - s).to_be_bytes::<32>());
        high[64] = if canonical[64] == 27 { 28 } else { 27 };
        assert_eq!(derive(a.address(), &high).unwrap().to_bytes(), want);
    }

    #[test]
    fn the_statement_names_the_account_and_its_version() {
        let text = statement(signer(1).address());
        assert!(text.contains(&signer(1).address().to_checksum(None)), "{text}");
        assert!(text.starts_with("Medkey encryption key (version 1)\n"), "{text}");
    }
}
