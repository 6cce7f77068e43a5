//! What a SMART Health Link is made of on the patient's machine (HL7 SMART Health Cards and Links
//! IG): a fresh 256-bit key, the file as a compact JWE under it (`dir` + `A256GCM`, with the
//! `biscuit` crate), and the `shlink:/` payload that carries the manifest URL and the key. The
//! vault only ever gets the JWE.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use biscuit::Empty;
use biscuit::jwa::{ContentEncryptionAlgorithm, EncryptionOptions, KeyManagementAlgorithm};
use biscuit::jwe;
use biscuit::jwk::JWK;
use serde::Serialize;
use zeroize::Zeroizing;

/// The content type of a FHIR Bundle file in a link.
pub const FHIR_CONTENT_TYPE: &str = "application/fhir+json";

/// The link's payload, as the specification names its members.
#[derive(Debug, Serialize)]
pub struct Payload {
    pub url: String,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    pub label: String,
    pub v: u8,
}

impl Payload {
    /// `shlink:/…`.
    pub fn link(&self) -> String {
        format!("shlink:/{}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a payload serialises")))
    }
}

/// 32 random bytes.
pub fn random_32() -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|err| anyhow::anyhow!("no OS randomness: {err}"))?;
    Ok(bytes)
}

/// `content` as a compact JWE under `key` (a fresh random 96-bit nonce).
pub fn encrypt(content: &[u8], key: &[u8; 32]) -> anyhow::Result<String> {
    let jwk: JWK<Empty> = JWK::new_octet_key(key, Empty::default());
    let header = jwe::RegisteredHeader {
        cek_algorithm: KeyManagementAlgorithm::DirectSymmetricKey,
        enc_algorithm: ContentEncryptionAlgorithm::A256GCM,
        content_type: Some("application/fhir+json".into()),
        ..Default::default()
    };
    let mut nonce = vec![0u8; 12];
    getrandom::fill(&mut nonce).map_err(|err| anyhow::anyhow!("no OS randomness: {err}"))?;
    let token = jwe::Compact::<Vec<u8>, Empty>::new_decrypted(header.into(), content.to_vec());
    let encrypted = token.encrypt(&jwk, &EncryptionOptions::AES_GCM { nonce }).context("encrypting the link's file")?;
    Ok(encrypted.encrypted().context("the encrypted file")?.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decrypts a compact JWE made by [`encrypt`] (or any `dir` + `A256GCM` JWE) with `key`.
    fn decrypt(compact: &str, key: &[u8; 32]) -> anyhow::Result<Vec<u8>> {
        let jwk: JWK<Empty> = JWK::new_octet_key(key, Empty::default());
        let token = jwe::Compact::<Vec<u8>, Empty>::new_encrypted(compact);
        let opened = token
            .into_decrypted(&jwk, KeyManagementAlgorithm::DirectSymmetricKey, ContentEncryptionAlgorithm::A256GCM)
            .context("the file does not open with this link's key (changed, or another link's)")?;
        Ok(opened.payload().context("the decrypted file")?.clone())
    }

    #[test]
    fn a_file_opens_with_its_key_only_and_the_payload_is_base64url_json() {
        let key = random_32().unwrap();
        let compact = encrypt(br#"{"resourceType":"Bundle","value":0.40}"#, &key).unwrap();
        let parts: Vec<&str> = compact.split('.').collect();
        assert_eq!((parts.len(), parts[1]), (5, ""), "compact, direct encryption: {compact}");
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!((header["alg"].as_str(), header["enc"].as_str()), (Some("dir"), Some("A256GCM")), "{header}");
        assert_eq!(decrypt(&compact, &key).unwrap(), br#"{"resourceType":"Bundle","value":0.40}"#);
        assert!(decrypt(&compact, &random_32().unwrap()).is_err(), "another key");
        let payload = Payload {
            url: "https://vault.example/shl/x".into(),
            key: URL_SAFE_NO_PAD.encode(*key),
            exp: None,
            flag: Some("P".into()),
            label: "For Dr. Okafor".into(),
            v: 1,
        };
        let link = payload.link();
        let decoded: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(link.strip_prefix("shlink:/").unwrap()).unwrap()).unwrap();
        assert_eq!((decoded["flag"].as_str(), decoded["key"].as_str().unwrap().len()), (Some("P"), 43));
    }
}
