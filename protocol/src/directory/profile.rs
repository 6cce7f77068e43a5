//! A provider's directory profile and the EIP-712 message that carries it. The provider signs the
//! profile with its wallet (in the registry's domain, so it is bound to one deployment); the
//! registrar's `registerProvider` / `updateProviderProfile` commit to the first 31 bytes of the
//! signed digest. A client shows a profile only when both hold: the signature recovers to the
//! provider, and the commitment equals the chain's.

use alloy::primitives::{Address, B256, FixedBytes, Signature};
use alloy::sol;
use alloy::sol_types::SolStruct;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{npi, taxonomy};
use crate::eip712::domain;

sol! {
    /// The message a provider signs (`eth_signTypedData_v4`) to publish its profile. Field order
    /// and types are part of the protocol: the web client and docs/provider-directory.md repeat them.
    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct ProviderProfile {
        address provider;
        bytes32 encryptionKey;
        string displayName;
        string organization;
        string npi;
        string taxonomy;
        string city;
        string country;
        string website;
        string phone;
        string email;
        uint64 issuedAt;
    }
}

/// A provider's public profile as the API carries it. Public business information only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryProfile {
    /// The provider's wallet, checksummed 0x-hex.
    #[schema(value_type = String, example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub provider: Address,
    /// The X25519 key patients wrap data keys to, 0x-hex (32 bytes); the same the registry holds.
    #[schema(value_type = String)]
    pub encryption_key: B256,
    /// How patients see the provider: "Dr. Maria Lopez" or "Northside Lab".
    pub display_name: String,
    /// The practice, clinic or hospital; empty for an independent practitioner.
    pub organization: String,
    /// National Provider Identifier: 10 digits, Luhn-checked.
    pub npi: String,
    /// NUCC Health Care Provider Taxonomy code, e.g. `207Q00000X` (Family Medicine).
    pub taxonomy: String,
    pub city: String,
    /// ISO 3166-1 alpha-2, e.g. `US`.
    pub country: String,
    /// `https://…`, or empty.
    pub website: String,
    /// International form, `+1 555 010 0199`, or empty.
    pub phone: String,
    /// Or empty; at least one of website, phone and e-mail is given.
    pub email: String,
    /// When the provider signed the profile, Unix seconds.
    pub issued_at: u64,
}

/// What is wrong with a profile, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ProfileError {
    pub field: &'static str,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> ProfileError {
    ProfileError { field, message: message.into() }
}

/// Plain text of at most `max` characters: no control characters, no leading or trailing space.
fn text(field: &'static str, value: &str, required: bool, max: usize) -> Result<(), ProfileError> {
    if required && value.is_empty() {
        return Err(bad(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(bad(field, format!("is longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(bad(field, "contains a control character"));
    }
    if value.trim() != value {
        return Err(bad(field, "starts or ends with a space"));
    }
    Ok(())
}

impl DirectoryProfile {
    /// Checks every field (the vault refuses, and every client flags, a profile that fails).
    pub fn validate(&self) -> Result<(), ProfileError> {
        if self.provider == Address::ZERO {
            return Err(bad("provider", "is the zero address"));
        }
        if self.encryption_key == B256::ZERO {
            return Err(bad("encryption_key", "is zero"));
        }
        text("display_name", &self.display_name, true, 120)?;
        text("organization", &self.organization, false, 120)?;
        npi::check(&self.npi).map_err(|err| bad("npi", err.to_string()))?;
        if !taxonomy::is_well_formed(&self.taxonomy) {
            return Err(bad("taxonomy", "is not a NUCC taxonomy code (ten characters ending in X, e.g. 207Q00000X)"));
        }
        text("city", &self.city, true, 80)?;
        if !(self.country.len() == 2 && self.country.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(bad("country", "is not a two-letter ISO 3166 code such as US"));
        }
        text("website", &self.website, false, 200)?;
        if !self.website.is_empty()
            && (!self.website.starts_with("https://") || self.website.contains(char::is_whitespace))
        {
            return Err(bad("website", "is not an https:// address"));
        }
        text("phone", &self.phone, false, 24)?;
        let digits = self.phone.chars().filter(char::is_ascii_digit).count();
        if !self.phone.is_empty()
            && (!self.phone.starts_with('+')
                || !(7..=15).contains(&digits)
                || !self.phone[1..].chars().all(|c| c.is_ascii_digit() || " -()".contains(c)))
        {
            return Err(bad("phone", "is not an international number such as +1 555 010 0199"));
        }
        text("email", &self.email, false, 254)?;
        if !self.email.is_empty() && !looks_like_email(&self.email) {
            return Err(bad("email", "is not an e-mail address"));
        }
        if self.website.is_empty() && self.phone.is_empty() && self.email.is_empty() {
            return Err(bad("contact", "give a website, a phone number or an e-mail address"));
        }
        if self.issued_at == 0 {
            return Err(bad("issued_at", "is missing"));
        }
        Ok(())
    }

    /// The specialty's name, when Medkey knows the code.
    pub fn specialty(&self) -> Option<&'static str> {
        taxonomy::label(&self.taxonomy)
    }

    pub fn eip712(&self) -> ProviderProfile {
        ProviderProfile {
            provider: self.provider,
            encryptionKey: self.encryption_key,
            displayName: self.display_name.clone(),
            organization: self.organization.clone(),
            npi: self.npi.clone(),
            taxonomy: self.taxonomy.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
            website: self.website.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            issuedAt: self.issued_at,
        }
    }

    /// The EIP-712 digest the provider signs, in the registry's domain on `chain_id`.
    pub fn signing_hash(&self, chain_id: u64, registry: Address) -> B256 {
        self.eip712().eip712_signing_hash(&domain(chain_id, registry))
    }

    /// What the registry stores: the digest's first 31 bytes.
    pub fn commitment(&self, chain_id: u64, registry: Address) -> FixedBytes<31> {
        commitment_of(self.signing_hash(chain_id, registry))
    }

    /// Checks that `signature` (65 bytes) is the provider's own over this profile.
    pub fn verify_signature(&self, signature: &[u8], chain_id: u64, registry: Address) -> Result<(), ProfileError> {
        let signature =
            Signature::from_raw(signature).map_err(|_| bad("signature", "is not a 65-byte Ethereum signature"))?;
        let signer = signature
            .recover_address_from_prehash(&self.signing_hash(chain_id, registry))
            .map_err(|_| bad("signature", "cannot be verified"))?;
        if signer == self.provider {
            Ok(())
        } else {
            Err(bad("signature", format!("was made by {signer}, not by the provider {}", self.provider)))
        }
    }
}

/// The first 31 bytes of an EIP-712 digest: the on-chain profile commitment.
pub fn commitment_of(digest: B256) -> FixedBytes<31> {
    FixedBytes::<31>::from_slice(&digest[..31])
}

fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.contains(char::is_whitespace)
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use alloy::signers::SignerSync;
    use alloy::signers::local::PrivateKeySigner;

    use super::*;

    fn profile(provider: Address) -> DirectoryProfile {
        DirectoryProfile {
            provider,
            encryption_key: B256::repeat_byte(7),
            display_name: "Dr. Maria Lopez".into(),
            organization: "Northside Family Practice".into(),
            npi: "1234567893".into(),
            taxonomy: "207Q00000X".into(),
            city: "Springfield".into(),
            country: "US".into(),
            website: "https://northside.example".into(),
            phone: "+1 555 010 0199".into(),
            email: String::new(),
            issued_at: 1_800_000_000,
        }
    }

    #[test]
    fn a_good_profile_validates_and_names_its_specialty() {
        let p = profile(Address::repeat_byte(1));
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(p.specialty(), Some("Family Medicine"));
    }

    #[test]
    fn each_bad_field_is_named() {
        let base = profile(Address::repeat_byte(1));
        type Change = Box<dyn Fn(&mut DirectoryProfile)>;
        let cases: Vec<(&str, Change)> = vec![
            ("display_name", Box::new(|p| p.display_name.clear())),
            ("display_name", Box::new(|p| p.display_name = " Dr. Lopez".into())),
            ("display_name", Box::new(|p| p.display_name = "Dr.\u{0007}Lopez".into())),
            ("npi", Box::new(|p| p.npi = "1234567890".into())),
            ("taxonomy", Box::new(|p| p.taxonomy = "family".into())),
            ("city", Box::new(|p| p.city.clear())),
            ("country", Box::new(|p| p.country = "USA".into())),
            ("website", Box::new(|p| p.website = "http://northside.example".into())),
            ("phone", Box::new(|p| p.phone = "555 0100".into())),
            ("email", Box::new(|p| p.email = "maria at example.org".into())),
            (
                "contact",
                Box::new(|p| {
                    p.website.clear();
                    p.phone.clear();
                }),
            ),
        ];
        for (field, change) in cases {
            let mut p = base.clone();
            change(&mut p);
            assert_eq!(p.validate().map_err(|e| e.field), Err(field), "{p:?}");
        }
    }

    #[test]
    fn the_providers_signature_verifies_and_a_changed_field_does_not() {
        let signer = PrivateKeySigner::random();
        let registry = Address::repeat_byte(9);
        let p = profile(signer.address());
        let signature = signer.sign_hash_sync(&p.signing_hash(31337, registry)).unwrap().as_bytes();
        assert_eq!(p.verify_signature(&signature, 31337, registry), Ok(()));
        assert_eq!(&p.commitment(31337, registry)[..], &p.signing_hash(31337, registry)[..31]);

        let mut edited = p.clone();
        edited.npi = "1245319599".into();
        assert_eq!(edited.verify_signature(&signature, 31337, registry).map_err(|e| e.field), Err("signature"));
        assert_ne!(edited.commitment(31337, registry), p.commitment(31337, registry));
        // Bound to one deployment: another chain or registry gives another digest.
        assert!(p.verify_signature(&signature, 1, registry).is_err());
        assert!(p.verify_signature(&signature, 31337, Address::repeat_byte(8)).is_err());
    }
}
