//! Records sealed the way a patient's client seals them: a fresh data key, the FHIR JSON under
//! AES-256-GCM bound to its metadata, the key wrapped for each reader. Gives the upload body.

use alloy::primitives::Address;
use medkey_protocol::Category;
use medkey_protocol::RecordId;
use medkey_protocol::envelope::{DataKey, EncryptionSecret, RecordBinding, record, wrap};
use serde_json::{Value, json};

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(text: &Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text.as_str().expect("a base64 string")).expect("valid base64")
}

/// A deterministic X25519 secret for test accounts.
pub fn encryption_secret(byte: u8) -> EncryptionSecret {
    EncryptionSecret::from_bytes([byte; 32])
}

pub struct Upload {
    pub id: RecordId,
    pub key: DataKey,
    pub binding: RecordBinding,
    /// The `POST /v1/records` body.
    pub body: Value,
}

impl Upload {
    /// The data key wrapped for one more reader, as `POST …/keys` takes it.
    pub fn wrapped_for(&self, reader: Address, secret: &EncryptionSecret) -> Value {
        let wrapped = wrap::wrap(&self.key, &secret.public_key(), &self.binding).expect("wrap");
        json!({"wrapped_keys": [{"recipient": reader, "wrapped": b64(&wrapped)}]})
    }
}

/// Record `[id_byte; 16]` (version 1) whose plaintext contains `secret-<id_byte>`.
pub fn upload(
    owner: Address,
    id_byte: u8,
    category: Category,
    resource: &str,
    readers: &[(Address, &EncryptionSecret)],
) -> Upload {
    upload_as(RecordId::from([id_byte; 16]), owner, category, resource, readers)
}

/// Record `id` (version 1) whose plaintext contains `secret-<last byte of id>`.
pub fn upload_as(
    id: RecordId,
    owner: Address,
    category: Category,
    resource: &str,
    readers: &[(Address, &EncryptionSecret)],
) -> Upload {
    let id_byte = id[15];
    let binding =
        RecordBinding { record_id: id, version: 1, owner, category: category.index(), resource_type: resource.into() };
    let key = DataKey::generate().expect("OS randomness");
    let fhir = format!(r#"{{"resourceType":"{resource}","status":"final","note":"secret-{id_byte}"}}"#);
    let ciphertext = record::seal(&key, &binding, fhir.as_bytes()).expect("seal");
    let keys: Vec<Value> = readers
        .iter()
        .map(|(a, s)| json!({"recipient": a, "wrapped": b64(&wrap::wrap(&key, &s.public_key(), &binding).expect("wrap"))}))
        .collect();
    let body = json!({
        "record_id": alloy::hex::encode(id), "category": category, "resource_type": resource,
        "ciphertext": b64(&ciphertext), "wrapped_keys": keys,
    });
    Upload { id, key, binding, body }
}
