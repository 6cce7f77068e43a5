//! The consent vocabulary, mirrored from `contracts/src/ConsentTypes.sol`. The order of each list
//! is part of the contract ABI: a bit index for categories, a code for purposes.

use std::{fmt, str::FromStr};

use crate::record_id::RecordId;
use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $repr:ty, $err:literal, [$($variant:ident = $value:literal => $text:literal),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        #[repr($repr)]
        pub enum $name { $($variant = $value),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The on-chain value (bit index for categories, code for purposes).
            pub const fn index(self) -> $repr { self as $repr }

            pub fn from_index(index: $repr) -> Option<Self> {
                Self::ALL.get(usize::from(index)).copied()
            }

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl FromStr for $name {
            type Err = UnknownTerm;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
                    .ok_or_else(|| UnknownTerm {
                        kind: $err,
                        term: s.to_owned(),
                        valid: Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    })
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownTerm;
            fn try_from(s: String) -> Result<Self, Self::Error> { s.parse() }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String { v.as_str().to_owned() }
        }
    };
}

/// A term that is not in the fixed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{term}' (one of: {valid})")]
pub struct UnknownTerm {
    pub kind: &'static str,
    pub term: String,
    /// The terms that are, comma-separated.
    pub valid: String,
}

vocabulary!(
    /// Record categories: bit `index()` of a grant's category mask.
    Category, u8, "category", [
        LabResults = 0 => "lab_results",
        Prescriptions = 1 => "prescriptions",
        Imaging = 2 => "imaging",
        Immunizations = 3 => "immunizations",
        Allergies = 4 => "allergies",
        Conditions = 5 => "conditions",
        ClinicalNotes = 6 => "clinical_notes",
        Vitals = 7 => "vitals",
        Procedures = 8 => "procedures",
        Encounters = 9 => "encounters",
        CarePlans = 10 => "care_plans",
        Documents = 11 => "documents",
        MentalHealth = 12 => "mental_health",
        SubstanceUse = 13 => "substance_use",
        SexualReproductiveHealth = 14 => "sexual_reproductive_health",
        Genetics = 15 => "genetics",
    ]
);

vocabulary!(
    /// HL7 v3 PurposeOfUse codes a grant may name.
    Purpose, u8, "purpose of use", [
        Treat = 0 => "TREAT",
        Etreat = 1 => "ETREAT",
        Coc = 2 => "COC",
        Caremgt = 3 => "CAREMGT",
        Hpaymt = 4 => "HPAYMT",
        Hoperat = 5 => "HOPERAT",
        Hresch = 6 => "HRESCH",
        Clintrl = 7 => "CLINTRL",
        Patrqt = 8 => "PATRQT",
        Famrqt = 9 => "FAMRQT",
        Pwatrny = 10 => "PWATRNY",
        Pubhlth = 11 => "PUBHLTH",
    ]
);

impl Category {
    /// This category's bit in a grant's mask.
    pub const fn bit(self) -> u16 {
        1 << self.index()
    }

    /// Folds categories into the on-chain mask.
    pub fn mask<I: IntoIterator<Item = Category>>(categories: I) -> u16 {
        categories.into_iter().fold(0, |m, c| m | c.bit())
    }

    /// The categories a mask covers, in bit order.
    pub fn from_mask(mask: u16) -> Vec<Category> {
        Self::ALL.iter().copied().filter(|c| mask & c.bit() != 0).collect()
    }

    /// `lab_results,vitals`: the names, comma-separated, as the CLI takes them.
    pub fn names(list: &[Category]) -> String {
        list.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
    }
}

/// The commitment a grant carries when it covers only some records: keccak256 of
/// `"medkey/v1/records"` followed by the 16-byte record ids, sorted and deduplicated. Zero (an
/// empty list) means "every record in the granted categories". The patient's client computes it;
/// the vault recomputes it from the id list the client registers with the grant.
pub fn records_root(record_ids: &[RecordId]) -> alloy::primitives::B256 {
    if record_ids.is_empty() {
        return alloy::primitives::B256::ZERO;
    }
    let mut ids = record_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut preimage = b"medkey/v1/records".to_vec();
    ids.iter().for_each(|id| preimage.extend_from_slice(id.as_slice()));
    alloy::primitives::keccak256(preimage)
}

#[cfg(test)]
mod tests {
    #[test]
    fn records_root_ignores_order_and_duplicates_and_zero_means_all() {
        use super::records_root;
        let (a, b) = (RecordId::from([1u8; 16]), RecordId::from([2u8; 16]));
        assert_eq!(records_root(&[a, b]), records_root(&[b, a, b]));
        assert_ne!(records_root(&[a]), records_root(&[a, b]));
        assert!(records_root(&[]).is_zero());
    }

    use super::*;

    #[test]
    fn categories_round_trip_through_text_and_mask() {
        assert_eq!(Category::ALL.len(), 16);
        for (i, c) in Category::ALL.iter().enumerate() {
            assert_eq!(usize::from(c.index()), i);
            assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
            assert_eq!(Category::from_index(c.index()), Some(*c));
        }
        // Names are read trimmed and in any case (the CLI splits its lists at commas).
        let list: Vec<Category> = ["lab_results", " GENETICS"].iter().map(|s| s.parse().unwrap()).collect();
        let mask = Category::mask(list.clone());
        assert_eq!(mask, 0b1000_0000_0000_0001);
        assert_eq!(Category::from_mask(mask), list);
        assert_eq!(Category::from_index(16), None);
    }

    #[test]
    fn unknown_terms_are_named_in_the_error() {
        let err = "horoscope".parse::<Category>().unwrap_err();
        assert!(
            err.to_string().starts_with("unknown category 'horoscope' (one of: lab_results, prescriptions,"),
            "{err}"
        );
        assert!("TREATMENT".parse::<Purpose>().is_err());
        assert_eq!("etreat".parse::<Purpose>().unwrap(), Purpose::Etreat);
        assert_eq!(Purpose::ALL.len(), 12);
    }

    #[test]
    fn serde_uses_the_documented_names() {
        let json = serde_json::to_string(&[Category::ClinicalNotes]).unwrap();
        assert_eq!(json, r#"["clinical_notes"]"#);
        let back: Vec<Purpose> = serde_json::from_str(r#"["PWATRNY"]"#).unwrap();
        assert_eq!(back, vec![Purpose::Pwatrny]);
        assert!(serde_json::from_str::<Category>(r#""nope""#).is_err());
    }
}
