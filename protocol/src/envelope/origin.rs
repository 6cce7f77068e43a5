//! A record's origin, sealed so that only its owner can open it: where the record came from in
//! the patient's file (the Bundles around it, its entry's `fullUrl`), kept beside the record so
//! an export can rebuild those Bundles and every reference between their entries resolves again.
//!
//! ```text
//! K      = HKDF-SHA256(ikm = owner's X25519 secret, salt = "medkey/v1/record-origin", info = "origin key", L = 32)
//! aad    = "medkey/v1/record-origin" ‖ record_id(16) ‖ owner(20)
//! sealed = VERSION(1) ‖ nonce(12, random) ‖ AES-256-GCM(K, nonce, origin JSON, aad)
//! ```
//!
//! The key belongs to the account, not to a version: an update keeps the origin, and no provider
//! a record's data key is released to can read it. Bound to the record and owner, so a sealed
//! origin moved to another record does not open.

use alloy::primitives::Address;
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{EncryptionSecret, EnvelopeError, labelled, random_bytes};
use crate::record_id::RecordId;

const LABEL: &[u8] = b"medkey/v1/record-origin";

/// The largest sealed origin a vault stores: a Bundle's header and an entry's `fullUrl` fit many
/// times over. A client keeps a record without its origin rather than go over.
pub const MAX_SEALED_BYTES: usize = 16 * 1024;

/// Where a record came from in a FHIR file. Fragments are kept as the file wrote them (numbers
/// with their digits), never re-serialised.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordOrigin {
    /// The Bundles around the record's entry, outermost first. Empty for an entry at the top of
    /// a Medkey export (the export's own Bundle is not an origin).
    pub bundles: Vec<OriginBundle>,
    /// The record's own entry without its `resource` and Medkey's extensions (`fullUrl`,
    /// `search`, `request`, …), if it has anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Box<RawValue>>,
    /// Where a record pulled from a provider's FHIR API came from (SMART on FHIR: the server,
    /// the resource's type, id and version, when it was pulled, its SHA-256), as the client wrote
    /// it; kept as it is so that re-sealing an origin never drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Box<RawValue>>,
}

/// One Bundle the record was in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OriginBundle {
    /// Random, chosen when the file was read: records from the same Bundle share it.
    pub key: String,
    /// The Bundle without its `entry` array (`resourceType`, `id`, `type`, `meta`, `timestamp`, …).
    pub header: Box<RawValue>,
    /// The place of the entry leading to the record in this Bundle's `entry` array, from 0.
    pub position: u32,
    /// That entry without its `resource` (the `fullUrl` of a Bundle inside a Bundle, …), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Box<RawValue>>,
}

/// What an export needs of a Bundle's header to put its entries back so their references
/// resolve, and to say which Bundle it was: the rest (a signature, `meta`, links) may be dropped
/// when the whole is too large to keep beside each record.
const HEADER_ESSENTIALS: [&str; 5] = ["resourceType", "id", "type", "timestamp", "total"];
/// What an entry (without its resource) keeps in that case: the `fullUrl` references resolve by.
const ENTRY_ESSENTIALS: [&str; 1] = ["fullUrl"];

impl RecordOrigin {
    /// The same origin, smaller: first without the Bundles' signatures (the usual reason a
    /// header is large), else with only what references need (each header's `resourceType`,
    /// `id`, `type`, `timestamp` and `total`, each entry's `fullUrl`), and the order kept either
    /// way. Also the names of the fields left out (`signature`, `Bundle.meta`, `entry.search`…),
    /// for the person importing to be told. `level` 1 or 2; anything else is level 2.
    pub fn slimmed(&self, level: u8) -> (RecordOrigin, std::collections::BTreeSet<String>) {
        let mut dropped = std::collections::BTreeSet::new();
        let mut keep = |raw: &RawValue, essentials: &[&str], what: &str| -> Box<RawValue> {
            let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str::<serde_json::Value>(raw.get()) else {
                return raw.to_owned();
            };
            fields.retain(|name, _| {
                let kept = if level == 1 { name != "signature" } else { essentials.contains(&name.as_str()) };
                if !kept {
                    dropped.insert(format!("{what}.{name}"));
                }
                kept
            });
            RawValue::from_string(serde_json::Value::Object(fields).to_string()).expect("JSON stays JSON")
        };
        let bundles = self
            .bundles
            .iter()
            .map(|b| OriginBundle {
                key: b.key.clone(),
                header: keep(&b.header, &HEADER_ESSENTIALS, "Bundle"),
                position: b.position,
                entry: b.entry.as_deref().map(|e| keep(e, &ENTRY_ESSENTIALS, "Bundle.entry")),
            })
            .collect();
        let entry = self.entry.as_deref().map(|e| keep(e, &ENTRY_ESSENTIALS, "Bundle.entry"));
        (RecordOrigin { bundles, entry, source: self.source.clone() }, dropped)
    }
}

/// The account's key for sealing origins.
pub struct OriginKey(Zeroizing<[u8; 32]>);

impl OriginKey {
    pub fn derive(owner_secret: &EncryptionSecret) -> Self {
        let ikm = Zeroizing::new(owner_secret.to_bytes());
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(LABEL), &*ikm).expand(b"origin key", &mut *key).expect("32 bytes is a valid length");
        Self(key)
    }

    pub fn seal(&self, record_id: &RecordId, owner: Address, origin: &RecordOrigin) -> Result<Vec<u8>, EnvelopeError> {
        self.seal_with_nonce(record_id, owner, origin, random_bytes()?)
    }

    /// `seal` with a given nonce: for known-answer vectors only (a nonce must never repeat).
    #[doc(hidden)]
    pub fn seal_with_nonce(
        &self,
        record_id: &RecordId,
        owner: Address,
        origin: &RecordOrigin,
        nonce: [u8; 12],
    ) -> Result<Vec<u8>, EnvelopeError> {
        let plaintext = serde_json::to_vec(origin).expect("an origin serialises");
        labelled::seal(&self.0, &aad(record_id, owner), &plaintext, nonce)
    }

    pub fn open(&self, record_id: &RecordId, owner: Address, sealed: &[u8]) -> Result<RecordOrigin, EnvelopeError> {
        let plaintext = labelled::open(&self.0, &aad(record_id, owner), sealed)?;
        serde_json::from_slice(&plaintext).map_err(|_| EnvelopeError::Authentication)
    }
}

fn aad(record_id: &RecordId, owner: Address) -> Vec<u8> {
    [LABEL, record_id.as_slice(), owner.as_slice()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> RecordOrigin {
        RecordOrigin {
            bundles: vec![OriginBundle {
                key: "k1".into(),
                header: RawValue::from_string(r#"{"resourceType":"Bundle","id":"b","type":"collection"}"#.into())
                    .unwrap(),
                position: 3,
                entry: None,
            }],
            entry: Some(
                RawValue::from_string(r#"{"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}"#.into()).unwrap(),
            ),
            source: None,
        }
    }

    #[test]
    fn slimming_keeps_what_references_need() {
        let mut big = origin();
        big.bundles[0].header = RawValue::from_string(
            r#"{"resourceType":"Bundle","id":"b","type":"document","meta":{"tag":[]},"signature":{"data":"QUJD"}}"#
                .into(),
        )
        .unwrap();
        big.entry =
            Some(RawValue::from_string(r#"{"fullUrl":"urn:uuid:1","search":{"mode":"match"}}"#.into()).unwrap());
        let (first, dropped) = big.slimmed(1);
        let json = |raw: &RawValue| serde_json::from_str::<serde_json::Value>(raw.get()).unwrap();
        assert_eq!(
            json(&first.bundles[0].header),
            serde_json::json!({"resourceType": "Bundle", "id": "b", "type": "document", "meta": {"tag": []}})
        );
        assert_eq!(dropped.into_iter().collect::<Vec<_>>(), ["Bundle.signature"]);
        let (second, dropped) = big.slimmed(2);
        assert_eq!(
            json(&second.bundles[0].header),
            serde_json::json!({"resourceType": "Bundle", "id": "b", "type": "document"})
        );
        assert_eq!(json(second.entry.as_deref().unwrap()), serde_json::json!({"fullUrl": "urn:uuid:1"}));
        assert_eq!(second.bundles[0].position, 3);
        assert_eq!(dropped.into_iter().collect::<Vec<_>>(), ["Bundle.entry.search", "Bundle.meta", "Bundle.signature"]);
    }

    #[test]
    fn opens_for_its_record_and_owner_only() {
        let secret = EncryptionSecret::from_bytes([7; 32]);
        let key = OriginKey::derive(&secret);
        let owner = Address::repeat_byte(0xA1);
        let sealed = key.seal(&RecordId::from([1; 16]), owner, &origin()).unwrap();
        let opened = key.open(&RecordId::from([1; 16]), owner, &sealed).unwrap();
        assert_eq!(opened.bundles[0].position, 3);
        assert_eq!(opened.entry.unwrap().get(), r#"{"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}"#);
        assert!(key.open(&RecordId::from([2; 16]), owner, &sealed).is_err(), "moved to another record");
        assert!(key.open(&RecordId::from([1; 16]), Address::repeat_byte(0xB2), &sealed).is_err(), "another owner");
        let other = OriginKey::derive(&EncryptionSecret::from_bytes([8; 32]));
        assert!(other.open(&RecordId::from([1; 16]), owner, &sealed).is_err(), "another account's key");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.open(&RecordId::from([1; 16]), owner, &tampered).is_err(), "tampered");
    }
}
