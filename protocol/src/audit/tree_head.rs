//! Signed tree heads: the vault's Ed25519 signature over (chain, size, root, time). A client that
//! keeps the last head it saw and checks consistency with every new one detects a rewritten or
//! forked log; the same head anchored on chain makes a fork visible to everyone.
//!
//! ```text
//! signed = "medkey/v1/tree-head" ‖ chain_id u64 BE ‖ size u64 BE ‖ root(32) ‖ timestamp_ms u64 BE
//! ```

use alloy::primitives::B256;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::Root;

const DOMAIN: &[u8] = b"medkey/v1/tree-head";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTreeHead {
    pub chain_id: u64,
    pub size: u64,
    pub root: B256,
    pub timestamp_ms: u64,
    /// Ed25519 over [`SignedTreeHead::message`], hex.
    #[serde(with = "alloy::hex::serde")]
    pub signature: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TreeHeadError {
    #[error("the tree head's signature is not the operator's")]
    BadSignature,
}

impl SignedTreeHead {
    pub fn sign(key: &SigningKey, chain_id: u64, size: u64, root: B256, timestamp_ms: u64) -> Self {
        let signature = key.sign(&message(chain_id, size, root, timestamp_ms)).to_bytes().to_vec();
        Self { chain_id, size, root, timestamp_ms, signature }
    }

    /// The exact bytes the signature covers.
    pub fn message(&self) -> Vec<u8> {
        message(self.chain_id, self.size, self.root, self.timestamp_ms)
    }

    /// Checks the operator's signature (strictly: no malleable or small-order signatures).
    pub fn verify(&self, operator: &VerifyingKey) -> Result<(), TreeHeadError> {
        let signature = Signature::from_slice(&self.signature).map_err(|_| TreeHeadError::BadSignature)?;
        operator.verify_strict(&self.message(), &signature).map_err(|_| TreeHeadError::BadSignature)?;
        Ok(())
    }

    /// The root as `ct_merkle` compares it.
    pub fn root_hash(&self) -> Root {
        Root::new(self.root.0.into(), self.size)
    }
}

fn message(chain_id: u64, size: u64, root: B256, timestamp_ms: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(DOMAIN.len() + 56);
    out.extend_from_slice(DOMAIN);
    out.extend_from_slice(&chain_id.to_be_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(root.as_slice());
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out
}
