//! The EIP-712 messages a patient signs for gasless grants and revocations. Field order and
//! types must match `GRANT_TYPEHASH` / `REVOKE_TYPEHASH` in the contract; the e2e tests check that
//! the digests computed here equal the contract's `hashGrant` / `hashRevoke`.

use alloy::{
    dyn_abi::TypedData,
    primitives::Address,
    sol,
    sol_types::{Eip712Domain, SolStruct, eip712_domain},
};

use crate::bindings::IConsentRegistry::GrantRequest;

sol! {
    /// A grant signed by `patient` for a relayer to submit with `grantBySig`.
    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct Grant {
        address patient;
        address provider;
        uint16 categories;
        bytes32 recordsRoot;
        uint8 purpose;
        uint32 notBefore;
        uint32 expiresAt;
        bool write;
        uint64 nonce;
        uint256 deadline;
    }

    /// A revocation signed by `patient` for a relayer to submit with `revokeBySig`.
    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct Revoke {
        address patient;
        bytes32 grantId;
        uint64 nonce;
        uint256 deadline;
    }
}

/// The registry's signing domain on one chain.
pub fn domain(chain_id: u64, registry: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Medkey ConsentRegistry",
        version: "1",
        chain_id: chain_id,
        verifying_contract: registry,
    }
}

/// `message` as `eth_signTypedData_v4` takes it: domain, types, primary type and message.
pub fn typed_data<S: SolStruct + serde::Serialize>(message: &S, chain_id: u64, registry: Address) -> TypedData {
    TypedData::from_struct(message, Some(domain(chain_id, registry)))
}

impl Grant {
    pub fn new(patient: Address, request: &GrantRequest, nonce: u64, deadline: alloy::primitives::U256) -> Self {
        Self {
            patient,
            provider: request.provider,
            categories: request.categories,
            recordsRoot: request.recordsRoot,
            purpose: request.purpose,
            notBefore: request.notBefore,
            expiresAt: request.expiresAt,
            write: request.write,
            nonce,
            deadline,
        }
    }
}
