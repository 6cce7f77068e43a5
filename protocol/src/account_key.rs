//! An account's X25519 encryption key, vouched for by its wallet. Patients have no key on chain
//! (only providers register one), so when a provider writes a record for a patient it needs the
//! patient's key from somewhere it does not have to trust: the patient signs this statement
//! (EIP-191), the vault only stores and serves it, and the provider's client checks the
//! signature against the patient's address before wrapping anything to the key.

use alloy::primitives::{Address, Signature};

/// The text the wallet signs: readable in a wallet prompt, and bound to one chain.
pub fn statement(account: Address, chain_id: u64, encryption_key: &[u8; 32]) -> String {
    format!(
        "Medkey encryption key\nAccount: {account}\nChain ID: {chain_id}\nX25519 key: {}",
        alloy::hex::encode_prefixed(encryption_key)
    )
}

/// Whether `signature` is `account`'s signature of [`statement`].
pub fn verify(account: Address, chain_id: u64, encryption_key: &[u8; 32], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::try_from(signature) else { return false };
    signature
        .recover_address_from_msg(statement(account, chain_id, encryption_key))
        .is_ok_and(|signer| signer == account)
}

#[cfg(test)]
mod tests {
    use alloy::signers::SignerSync;
    use alloy::signers::local::PrivateKeySigner;

    use super::*;

    #[test]
    fn only_the_account_vouches_for_its_key_on_its_chain() {
        let (patient, other) = (PrivateKeySigner::random(), PrivateKeySigner::random());
        let key = [7u8; 32];
        let signed = patient.sign_message_sync(statement(patient.address(), 5, &key).as_bytes()).unwrap();
        let signature = signed.as_bytes();
        assert!(verify(patient.address(), 5, &key, &signature));
        assert!(!verify(patient.address(), 6, &key, &signature), "another chain");
        assert!(!verify(patient.address(), 5, &[8u8; 32], &signature), "another key");
        assert!(!verify(other.address(), 5, &key, &signature), "another account");
        assert!(!verify(patient.address(), 5, &key, &signature[..64]), "truncated");
    }
}
