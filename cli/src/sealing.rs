//! A record as the patient's client seals it and a reader's client opens it: a fresh data key
//! per version, the FHIR JSON under AES-256-GCM bound to the record's metadata, the data key
//! wrapped to each reader's X25519 key. The vault only ever sees the output of this module.

use alloy::primitives::Address;
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use medkey_protocol::Category;
use medkey_protocol::envelope::{DataKey, EncryptionPublicKey, EncryptionSecret, RecordBinding, record, wrap};
use serde_json::{Value, json};

/// One version of a record, sealed; its data key stays on this machine.
pub struct Sealed {
    pub binding: RecordBinding,
    pub key: DataKey,
    pub ciphertext: Vec<u8>,
}

/// A random record id (16 bytes, shown as 32 hex digits).
pub fn new_record_id() -> anyhow::Result<[u8; 16]> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|err| anyhow::anyhow!("no OS randomness: {err}"))?;
    Ok(id)
}

pub fn seal(binding: RecordBinding, plaintext: &[u8]) -> anyhow::Result<Sealed> {
    let key = DataKey::generate()?;
    let ciphertext = record::seal(&key, &binding, plaintext)?;
    Ok(Sealed { binding, key, ciphertext })
}

impl Sealed {
    /// `[{recipient, wrapped}]` as the vault takes wrapped keys.
    pub fn wrapped_for(&self, readers: &[(Address, EncryptionPublicKey)]) -> anyhow::Result<Vec<Value>> {
        wrapped_keys(&self.key, &self.binding, readers)
    }

    /// The `PUT /v1/records/{id}` body of a new version.
    pub fn version_body(&self, readers: &[(Address, EncryptionPublicKey)]) -> anyhow::Result<Value> {
        Ok(json!({"ciphertext": STANDARD.encode(&self.ciphertext), "wrapped_keys": self.wrapped_for(readers)?}))
    }

    /// The `POST /v1/records` body (`patient` set when a provider writes for a patient).
    pub fn create_body(
        &self,
        readers: &[(Address, EncryptionPublicKey)],
        patient: Option<Address>,
    ) -> anyhow::Result<Value> {
        let category = Category::from_index(self.binding.category).context("a category index")?;
        let mut body = json!({
            "record_id": alloy::hex::encode(self.binding.record_id),
            "category": category,
            "resource_type": self.binding.resource_type,
            "ciphertext": STANDARD.encode(&self.ciphertext),
            "wrapped_keys": self.wrapped_for(readers)?,
        });
        if let Some(patient) = patient {
            body["patient"] = json!(patient);
        }
        Ok(body)
    }
}

pub fn wrapped_keys(
    key: &DataKey,
    binding: &RecordBinding,
    readers: &[(Address, EncryptionPublicKey)],
) -> anyhow::Result<Vec<Value>> {
    // Each reader once: the vault refuses a recipient named twice.
    let mut seen = std::collections::HashSet::new();
    readers
        .iter()
        .filter(|(address, _)| seen.insert(*address))
        .map(|(address, public)| {
            let wrapped = wrap::wrap(key, public, binding)?;
            Ok(json!({"recipient": address, "wrapped": STANDARD.encode(wrapped)}))
        })
        .collect()
}

/// The binding a record's metadata (`RecordView` JSON) describes.
pub fn binding_of(view: &Value) -> anyhow::Result<RecordBinding> {
    let id = alloy::hex::decode(view["record_id"].as_str().context("a record without an id")?.replace('-', ""))?;
    let category: Category = view["category"].as_str().context("a record without a category")?.parse()?;
    Ok(RecordBinding {
        record_id: id.try_into().map_err(|_| anyhow::anyhow!("a record id is 16 bytes"))?,
        version: view["version"].as_u64().context("a record without a version")? as u32,
        owner: view["owner"].as_str().context("a record without an owner")?.parse()?,
        category: category.index(),
        resource_type: view["resource_type"].as_str().context("a record without a type")?.to_owned(),
    })
}

/// Opens a fetched record (`{record, ciphertext, wrapped_key}`, from the owner's fetch or a
/// provider's key release) with the reader's secret: the binding, the data key, the plaintext.
pub fn open(fetched: &Value, secret: &EncryptionSecret) -> anyhow::Result<(RecordBinding, DataKey, Vec<u8>)> {
    let binding = binding_of(&fetched["record"])?;
    let Some(wrapped) = fetched["wrapped_key"].as_str() else {
        bail!("the record's key is not wrapped for this account");
    };
    let key = wrap::unwrap(&STANDARD.decode(wrapped)?, secret, &binding)
        .context("the wrapped key does not open with this account's key (or was moved to another record)")?;
    let ciphertext = STANDARD.decode(fetched["ciphertext"].as_str().context("no ciphertext")?)?;
    let plaintext = record::open(&key, &binding, &ciphertext)
        .context("the ciphertext does not authenticate: it was altered or belongs to another record")?;
    Ok((binding, key, plaintext))
}
