//! Alloy bindings for the ConsentRegistry, generated at compile time from the checked-in
//! artifact (ABI + creation bytecode). CI fails when that artifact drifts from the Solidity.

use alloy::primitives::{B256, keccak256};

// The generated event constructors take one argument per field (GrantCreated has nine).
#[allow(clippy::too_many_arguments)]
mod generated {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        ConsentRegistry,
        "../abi/ConsentRegistry.json"
    );
}

pub use generated::*;

/// The artifact exactly as checked in; its keccak256 is the `abiHash` of a deployment.
pub const ARTIFACT_JSON: &str = include_str!("../../abi/ConsentRegistry.json");

/// keccak256 of `abi/ConsentRegistry.json`, recorded in every deployment file so a client can
/// tell whether the contract it talks to was built from the ABI it was compiled against.
pub fn abi_hash() -> B256 {
    keccak256(ARTIFACT_JSON.as_bytes())
}
