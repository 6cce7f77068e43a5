//! Parsing identifiers from paths and bodies: exact formats only, so nothing like `../` or a
//! partial id ever reaches storage.

use alloy::primitives::Address;
use medkey_protocol::RecordId;

use super::ApiError;

/// A record id, in the forms [`RecordId`] accepts (32 hex digits or a dashed UUID).
pub fn record_id(text: &str) -> Result<RecordId, ApiError> {
    RecordId::parse(text)
        .map_err(|_| ApiError::bad_request("invalid_record_id", "a record id is a UUID (32 hex digits)"))
}

/// A record version: a positive integer.
pub fn version(text: &str) -> Result<u32, ApiError> {
    text.parse()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| ApiError::bad_request("invalid_version", "a version is a positive integer"))
}

/// A provider connection's id: exactly 32 lowercase hex digits (16 bytes her client chose).
pub fn connection_id(text: &str) -> Result<[u8; 16], ApiError> {
    let refused = || ApiError::bad_request("invalid_connection_id", "a connection id is 32 lowercase hex digits");
    if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(refused());
    }
    alloy::hex::decode(text).ok().and_then(|b| b.try_into().ok()).ok_or_else(refused)
}

pub fn address(text: &str) -> Result<Address, ApiError> {
    text.parse().map_err(|_| ApiError::bad_request("invalid_address", format!("'{text}' is not an address")))
}

pub fn base64(field: &'static str, text: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ApiError::bad_request("invalid_base64", format!("{field} is not standard base64")))
}

pub fn to_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_exactly_uuids() {
        assert_eq!(record_id("00112233445566778899aabbccddeeff").unwrap()[15], 0xff);
        assert_eq!(record_id("00112233-4455-6677-8899-aabbccddeeff").unwrap()[0], 0x00);
        for bad in [
            "",
            "..%2f..%2fetc",
            "../etc/passwd",
            "0011",
            "00112233445566778899aabbccddeefg",
            "00112233445566778899aabbccddeeff00",
        ] {
            assert_eq!(record_id(bad).unwrap_err().code, "invalid_record_id", "{bad}");
        }
    }
}
