//! The vault's audit log as anyone can check it: an append-only Merkle tree with RFC 6962 /
//! RFC 9162 hashing (leaf `SHA-256(0x00 ‖ leaf)`, node `SHA-256(0x01 ‖ left ‖ right)`, through
//! the `ct-merkle` crate), whose heads the vault signs with an Ed25519 operator key and anchors
//! on the ConsentRegistry.
//!
//! - [`entry`]: one event, its canonical bytes, and the leaf they hash to;
//! - [`tree_head`]: a signed tree head and what exactly is signed;
//! - the proofs themselves are `ct_merkle`'s [`InclusionProof`] and [`ConsistencyProof`] over
//!   SHA-256, re-exported here so the vault and clients agree on one implementation.

pub mod entry;
pub mod tree_head;

pub use ct_merkle::{ConsistencyProof, InclusionProof};
pub use entry::AuditEntry;
pub use tree_head::{SignedTreeHead, TreeHeadError};

/// A tree root (hash and size), compared in constant time.
pub type Root = ct_merkle::RootHash<sha2::Sha256>;
/// The vault's in-memory tree over leaf inputs (each the SHA-256 of an entry's canonical bytes).
pub type Tree = ct_merkle::mem_backed_tree::MemoryBackedTree<sha2::Sha256, [u8; 32]>;
/// Inclusion proof over SHA-256.
pub type Inclusion = InclusionProof<sha2::Sha256>;
/// Consistency proof over SHA-256.
pub type Consistency = ConsistencyProof<sha2::Sha256>;
