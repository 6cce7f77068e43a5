//! What a ciphertext and its wrapped keys are bound to: the record's identity and the metadata
//! the vault stores in the clear. Moving a ciphertext or a wrapped key to another record, owner,
//! version or category makes it fail to open.

use alloy::primitives::Address;

use super::EnvelopeError;
use crate::record_id::RecordId;

/// The longest resource type a binding carries, in ASCII bytes.
pub const MAX_RESOURCE_TYPE: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordBinding {
    /// The record's id (a UUID's 16 bytes).
    pub record_id: RecordId,
    /// Each update is a new version with a new data key.
    pub version: u32,
    /// The patient who owns the record.
    pub owner: Address,
    /// Bit index of the record's category (see `Category`).
    pub category: u8,
    /// The FHIR resource type, e.g. "Observation" (at most 64 bytes).
    pub resource_type: String,
}

impl RecordBinding {
    /// Canonical bytes: `"medkey/v1/record" ‖ id(16) ‖ version(u32 BE) ‖ owner(20) ‖ category(1)
    /// ‖ len(1) ‖ resource type`. Fixed-width fields and one length prefix: no two bindings share
    /// an encoding.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        let resource = self.resource_type.as_bytes();
        // Refused, never truncated: two types sharing 64 bytes must not bind alike.
        if resource.is_empty() || resource.len() > MAX_RESOURCE_TYPE || !resource.is_ascii() {
            return Err(EnvelopeError::ResourceType(self.resource_type.chars().take(80).collect()));
        }
        let mut out = Vec::with_capacity(16 + 16 + 4 + 20 + 2 + resource.len());
        out.extend_from_slice(b"medkey/v1/record");
        out.extend_from_slice(self.record_id.as_slice());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(self.owner.as_slice());
        out.push(self.category);
        out.push(resource.len() as u8);
        out.extend_from_slice(resource);
        Ok(out)
    }
}
