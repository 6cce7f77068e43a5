//! A record as the patient's client seals it and a reader's client opens it: a fresh data key
//! per version, the FHIR JSON under AES-256-GCM bound to the record's metadata, the data key
//! wrapped to each reader's X25519 key. The vault only ever sees the output of this module.

use alloy::primitives::Address;
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use medkey_protocol::Category;
use medkey_protocol::RecordId;
use medkey_protocol::api::{CreateRecordBody, KeyRelease, RecordContent, RecordView, VersionBody, WrappedKeyBody};
use medkey_protocol::envelope::origin::{OriginKey, RecordOrigin};
use medkey_protocol::envelope::{DataKey, EncryptionPublicKey, EncryptionSecret, RecordBinding, record, wrap};

/// One version of a record, sealed; its data key stays on this machine.
pub struct Sealed {
    pub binding: RecordBinding,
    pub key: DataKey,
    pub ciphertext: Vec<u8>,
}

/// A random record id: an RFC 4122 version-4 UUID, shown as 32 hex digits.
pub fn new_record_id() -> anyhow::Result<RecordId> {
    RecordId::random().map_err(|err| anyhow::anyhow!("no OS randomness: {err}"))
}

pub fn seal(binding: RecordBinding, plaintext: &[u8]) -> anyhow::Result<Sealed> {
    let key = DataKey::generate()?;
    let ciphertext = record::seal(&key, &binding, plaintext)?;
    Ok(Sealed { binding, key, ciphertext })
}

impl Sealed {
    /// The wrapped keys of this version, as the vault takes them.
    pub fn wrapped_for(&self, readers: &[(Address, EncryptionPublicKey)]) -> anyhow::Result<Vec<WrappedKeyBody>> {
        wrapped_keys(&self.key, &self.binding, readers)
    }

    /// The `PUT /v1/records/{id}` body of a new version.
    pub fn version_body(&self, readers: &[(Address, EncryptionPublicKey)]) -> anyhow::Result<VersionBody> {
        Ok(VersionBody {
            ciphertext: STANDARD.encode(&self.ciphertext),
            wrapped_keys: self.wrapped_for(readers)?,
            origin: None,
        })
    }

    /// The `POST /v1/records` body (`patient` set when a provider writes for a patient; `origin`
    /// sealed with [`seal_origin`], only by the patient herself).
    pub fn create_body(
        &self,
        readers: &[(Address, EncryptionPublicKey)],
        patient: Option<Address>,
        origin: Option<&[u8]>,
    ) -> anyhow::Result<CreateRecordBody> {
        Ok(CreateRecordBody {
            record_id: alloy::hex::encode(self.binding.record_id),
            patient: patient.map(|p| p.to_string()),
            category: Category::from_index(self.binding.category).context("a category index")?,
            resource_type: self.binding.resource_type.clone(),
            ciphertext: STANDARD.encode(&self.ciphertext),
            wrapped_keys: self.wrapped_for(readers)?,
            origin: origin.map(|o| STANDARD.encode(o)),
        })
    }
}

/// A record's origin sealed under the owner's origin key (see `envelope::origin`).
pub fn seal_origin(
    owner: &EncryptionSecret,
    binding: &RecordBinding,
    origin: &RecordOrigin,
) -> anyhow::Result<Vec<u8>> {
    Ok(OriginKey::derive(owner).seal(&binding.record_id, binding.owner, origin)?)
}

/// The origin stored with a record the caller owns, if any; an origin that does not open is an
/// error (it was altered, or moved from another record).
pub fn open_origin(content: &RecordContent, owner: &EncryptionSecret) -> anyhow::Result<Option<RecordOrigin>> {
    let Some(sealed) = content.origin.as_deref() else {
        return Ok(None);
    };
    let binding = binding_of(&content.record)?;
    let origin = OriginKey::derive(owner)
        .open(&binding.record_id, binding.owner, &STANDARD.decode(sealed)?)
        .context("the record's origin does not open (altered, or moved from another record)")?;
    Ok(Some(origin))
}

pub fn wrapped_keys(
    key: &DataKey,
    binding: &RecordBinding,
    readers: &[(Address, EncryptionPublicKey)],
) -> anyhow::Result<Vec<WrappedKeyBody>> {
    // Each reader once: the vault refuses a recipient named twice.
    let mut seen = std::collections::HashSet::new();
    readers
        .iter()
        .filter(|(address, _)| seen.insert(*address))
        .map(|(address, public)| {
            let wrapped = wrap::wrap(key, public, binding)?;
            Ok(WrappedKeyBody { recipient: address.to_string(), wrapped: STANDARD.encode(wrapped) })
        })
        .collect()
}

/// The binding a record's metadata describes.
pub fn binding_of(view: &RecordView) -> anyhow::Result<RecordBinding> {
    let id = alloy::hex::decode(view.record_id.replace('-', ""))?;
    Ok(RecordBinding {
        record_id: id.try_into().map_err(|_| anyhow::anyhow!("a record id is 16 bytes"))?,
        version: view.version,
        owner: view.owner,
        category: view.category.index(),
        resource_type: view.resource_type.clone(),
    })
}

/// What a reader fetched: the owner's `RecordContent` or a provider's `KeyRelease`.
pub trait Fetched {
    fn parts(&self) -> (&RecordView, &str, Option<&str>);
}

impl Fetched for RecordContent {
    fn parts(&self) -> (&RecordView, &str, Option<&str>) {
        (&self.record, &self.ciphertext, self.wrapped_key.as_deref())
    }
}

impl Fetched for KeyRelease {
    fn parts(&self) -> (&RecordView, &str, Option<&str>) {
        (&self.record, &self.ciphertext, Some(&self.wrapped_key))
    }
}

/// Opens a fetched record with the reader's secret: the binding, the data key, the plaintext.
pub fn open(fetched: &impl Fetched, secret: &EncryptionSecret) -> anyhow::Result<(RecordBinding, DataKey, Vec<u8>)> {
    let (view, ciphertext, wrapped) = fetched.parts();
    let binding = binding_of(view)?;
    let Some(wrapped) = wrapped else {
        bail!("the record's key is not wrapped for this account");
    };
    let key = wrap::unwrap(&STANDARD.decode(wrapped)?, secret, &binding)
        .context("the wrapped key does not open with this account's key (or was moved to another record)")?;
    let ciphertext = STANDARD.decode(ciphertext)?;
    let plaintext = record::open(&key, &binding, &ciphertext)
        .context("the ciphertext does not authenticate: it was altered or belongs to another record")?;
    Ok((binding, key, plaintext))
}

#[cfg(test)]
mod tests {
    #[test]
    fn record_ids_are_version_4_uuids() {
        for _ in 0..64 {
            let id = uuid::Uuid::from_bytes(super::new_record_id().unwrap().into_bytes());
            assert_eq!((id.get_version_num(), id.get_variant()), (4, Some(uuid::Variant::RFC4122)));
        }
    }
}
