//! A record's id: 16 random bytes the patient's client chooses. One type for every crate, so the
//! vault's routes, the CLI's arguments and the stores parse and print it alike.
//!
//! Accepted forms (and no others, so nothing like `../` or a partial id reaches storage or a
//! URL): 32 hex digits, or the dashed UUID form `8-4-4-4-12`, in either case. Printed as 32
//! lowercase hex digits, the form the vault's API and its database use.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RecordId([u8; 16]);

/// Why a text is not a record id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a record id (32 hex digits, or a UUID)")]
pub struct InvalidRecordId(String);

impl RecordId {
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub const fn into_bytes(self) -> [u8; 16] {
        self.0
    }

    /// A fresh id: an RFC 4122 version-4 UUID (122 bits from the operating system's random
    /// source), so that the dashed form is a valid UUID wherever one is expected.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // the RFC 4122 variant
        Ok(Self(bytes))
    }

    /// 32 hex digits or the dashed UUID form, either case (see the module docs).
    pub fn parse(text: &str) -> Result<Self, InvalidRecordId> {
        let invalid = || InvalidRecordId(text.chars().take(80).collect());
        let hex: String = match text.len() {
            32 => text.to_owned(),
            36 if dashes_at_uuid_places(text) => text.replace('-', ""),
            _ => return Err(invalid()),
        };
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let mut bytes = [0u8; 16];
        alloy::hex::decode_to_slice(&hex, &mut bytes).map_err(|_| invalid())?;
        Ok(Self(bytes))
    }

    /// The dashed UUID form (lowercase), for file names and FHIR `urn:uuid:` references.
    pub fn uuid(&self) -> String {
        let h = alloy::hex::encode(self.0);
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    }
}

fn dashes_at_uuid_places(text: &str) -> bool {
    let bytes = text.as_bytes();
    [8, 13, 18, 23].iter().all(|&i| bytes[i] == b'-') && bytes.iter().filter(|b| **b == b'-').count() == 4
}

impl From<[u8; 16]> for RecordId {
    fn from(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

/// From a database column: the bytes back when they are not 16 (as `[u8; 16]` does).
impl TryFrom<Vec<u8>> for RecordId {
    type Error = Vec<u8>;
    fn try_from(bytes: Vec<u8>) -> Result<Self, Vec<u8>> {
        <[u8; 16]>::try_from(bytes).map(Self)
    }
}

impl TryFrom<&[u8]> for RecordId {
    type Error = std::array::TryFromSliceError;
    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        <[u8; 16]>::try_from(bytes).map(Self)
    }
}

impl From<RecordId> for [u8; 16] {
    fn from(id: RecordId) -> Self {
        id.0
    }
}

/// The bytes, as alloy's fixed-size hashes deref to theirs (hashing, SQL parameters).
impl std::ops::Deref for RecordId {
    type Target = [u8; 16];
    fn deref(&self) -> &[u8; 16] {
        &self.0
    }
}

impl AsRef<[u8]> for RecordId {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl FromStr for RecordId {
    type Err = InvalidRecordId;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&alloy::hex::encode(self.0))
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({self})")
    }
}

impl Serialize for RecordId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = "crate::record_id::option_bytes")]`: an optional id as its 16 bytes (a JSON
/// array of numbers), the form audit entries have always had on the wire and in the vectors.
pub mod option_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::RecordId;

    pub fn serialize<S: Serializer>(id: &Option<RecordId>, serializer: S) -> Result<S::Ok, S::Error> {
        id.map(RecordId::into_bytes).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<RecordId>, D::Error> {
        Ok(Option::<[u8; 16]>::deserialize(deserializer)?.map(RecordId))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_to_the_same_id_and_print_as_hex() {
        let plain = RecordId::parse("00112233445566778899AABBCCDDEEFF").unwrap();
        let dashed = RecordId::parse("00112233-4455-6677-8899-aabbccddeeff").unwrap();
        assert_eq!(plain, dashed);
        assert_eq!(plain.to_string(), "00112233445566778899aabbccddeeff");
        assert_eq!(plain.uuid(), "00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(RecordId::parse(&plain.uuid()).unwrap(), plain);
    }

    #[test]
    fn nothing_else_is_an_id() {
        for bad in [
            "",
            "..%2f..%2fetc",
            "../etc/passwd",
            "0011",
            "0x00112233445566778899aabbccddeeff",
            " 00112233445566778899aabbccddeeff",
            "00112233445566778899aabbccddeefg",
            "00112233445566778899aabbccddeeff00",
            "0011223-34455-6677-8899-aabbccddeeff",
            "00112233-4455-6677-8899-aabbccddeef-",
            "001122334455667788-9-aabbccddeeff-ff",
            "00112233-4455-6677-8899-aabbccddeéf",
        ] {
            assert!(RecordId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn random_ids_are_version_4_uuids() {
        for _ in 0..64 {
            let id = RecordId::random().unwrap();
            assert_eq!(id[6] >> 4, 4, "version 4");
            assert_eq!(id[8] >> 6, 0b10, "the RFC 4122 variant");
            assert_eq!(id.uuid().as_bytes()[14], b'4');
        }
    }

    #[test]
    fn serde_uses_the_text_form() {
        let id = RecordId::from_bytes([7; 16]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"07070707070707070707070707070707\"");
        assert_eq!(serde_json::from_str::<RecordId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<RecordId>("\"07\"").is_err());
    }
}
