//! NUCC Health Care Provider Taxonomy codes: the form every code has, and the names of the common
//! ones (`nucc_taxonomy.json`, shared with the web client).

use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(serde::Deserialize)]
struct Table {
    codes: BTreeMap<String, String>,
}

static LABELS: LazyLock<BTreeMap<String, String>> = LazyLock::new(|| {
    serde_json::from_str::<Table>(include_str!("nucc_taxonomy.json")).expect("nucc_taxonomy.json is valid").codes
});

/// A NUCC code has ten characters: three digits, six letters or digits, and a final `X`.
pub fn is_well_formed(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 10
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && bytes[3..9].iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        && bytes[9] == b'X'
}

/// The specialty's name, for the codes Medkey knows by name.
pub fn label(code: &str) -> Option<&'static str> {
    LABELS.get(code).map(String::as_str)
}

/// Every named code, ordered by code.
pub fn named() -> impl Iterator<Item = (&'static str, &'static str)> {
    LABELS.iter().map(|(code, label)| (code.as_str(), label.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_code_is_well_formed() {
        assert!(named().count() > 40);
        for (code, label) in named() {
            assert!(is_well_formed(code), "{code}");
            assert!(!label.is_empty());
        }
        assert_eq!(label("207Q00000X"), Some("Family Medicine"));
        assert!(!is_well_formed("207Q00000"));
        assert!(!is_well_formed("207q00000X"));
        assert!(!is_well_formed("20AQ00000X"));
    }
}
