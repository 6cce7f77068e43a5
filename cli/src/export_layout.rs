//! Where each record goes in an export: records that came from a Bundle go back into that Bundle
//! (rebuilt from the origins sealed with them: header, entry order, `fullUrl`s), Bundles inside
//! Bundles included; records with no origin, or from the top of an earlier Medkey export, are
//! entries of the export itself.

use std::collections::{BTreeMap, HashMap, HashSet};

use medkey_protocol::envelope::origin::{OriginBundle, RecordOrigin};
use serde_json::value::RawValue;

/// The entries of one Bundle, in the order to write them.
#[derive(Default)]
pub struct Level {
    pub nodes: Vec<Node>,
    groups: HashMap<String, usize>,
}

pub enum Node {
    /// The record at this index of the caller's list.
    Record(usize),
    Bundle(Group),
}

/// A Bundle rebuilt around the records that came from it.
pub struct Group {
    /// What the entry holding this Bundle had besides it (inside another Bundle: its `fullUrl`, …).
    pub entry: Option<Box<RawValue>>,
    /// The Bundle without its entries.
    pub header: Box<RawValue>,
    /// Its entries by their place in the original Bundle.
    pub children: BTreeMap<u32, Level>,
}

impl Level {
    /// The layout of records with these origins (by index; `None`: no origin).
    pub fn of<'a>(origins: impl IntoIterator<Item = Option<&'a RecordOrigin>>) -> Self {
        let mut top = Level::default();
        for (index, origin) in origins.into_iter().enumerate() {
            let chain: &[OriginBundle] = origin.map(|o| o.bundles.as_slice()).unwrap_or_default();
            top.insert(chain, None, index);
        }
        top
    }

    fn insert(&mut self, chain: &[OriginBundle], holding: Option<&RawValue>, index: usize) {
        let Some((bundle, inner)) = chain.split_first() else {
            self.nodes.push(Node::Record(index));
            return;
        };
        let at = *self.groups.entry(bundle.key.clone()).or_insert_with(|| {
            self.nodes.push(Node::Bundle(Group {
                entry: holding.map(ToOwned::to_owned),
                header: bundle.header.clone(),
                children: BTreeMap::new(),
            }));
            self.nodes.len() - 1
        });
        let Node::Bundle(group) = &mut self.nodes[at] else { unreachable!("groups index bundles only") };
        group.children.entry(bundle.position).or_default().insert(inner, bundle.entry.as_deref(), index);
    }
}

/// `rest` without its `fullUrl` if an earlier entry of the same Bundle had that `fullUrl`
/// already: a Bundle's fullUrls must be unique (bdl-7), which two imports of one file with
/// `--allow-duplicates` would otherwise break.
pub fn unique_full_url(rest: Option<&RawValue>, seen: &mut HashSet<String>) -> anyhow::Result<Option<Box<RawValue>>> {
    let Some(rest) = rest else { return Ok(None) };
    let mut members: indexmap::IndexMap<String, Box<RawValue>> = serde_json::from_str(rest.get())?;
    let Some(url) = members.get("fullUrl").and_then(|u| serde_json::from_str::<String>(u.get()).ok()) else {
        return Ok(Some(rest.to_owned()));
    };
    if seen.insert(url) {
        return Ok(Some(rest.to_owned()));
    }
    members.shift_remove("fullUrl");
    if members.is_empty() {
        return Ok(None);
    }
    Ok(Some(RawValue::from_string(serde_json::to_string(&members)?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.into()).unwrap()
    }

    fn bundle(key: &str, position: u32) -> OriginBundle {
        OriginBundle { key: key.into(), header: raw(r#"{"resourceType":"Bundle"}"#), position, entry: None }
    }

    fn shape(level: &Level) -> String {
        level
            .nodes
            .iter()
            .map(|node| match node {
                Node::Record(i) => i.to_string(),
                Node::Bundle(group) => {
                    let inner: Vec<String> =
                        group.children.iter().map(|(at, level)| format!("{at}:{}", shape(level))).collect();
                    format!("[{}]", inner.join(" "))
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn records_go_back_into_their_bundles_in_their_places() {
        let origins = [
            Some(RecordOrigin { bundles: vec![bundle("a", 2)], entry: None, source: None }),
            None,
            Some(RecordOrigin { bundles: vec![bundle("a", 0), bundle("b", 1)], entry: None, source: None }),
            Some(RecordOrigin { bundles: vec![bundle("a", 0), bundle("b", 0)], entry: None, source: None }),
            Some(RecordOrigin { bundles: vec![], entry: None, source: None }),
        ];
        let level = Level::of(origins.iter().map(Option::as_ref));
        assert_eq!(shape(&level), "[0:[0:3 1:2] 2:0],1,4");
    }

    #[test]
    fn a_repeated_full_url_is_dropped() {
        let mut seen = HashSet::new();
        let rest = raw(r#"{"fullUrl":"urn:uuid:1","search":{"mode":"match"}}"#);
        assert_eq!(unique_full_url(Some(&rest), &mut seen).unwrap().unwrap().get(), rest.get());
        assert_eq!(unique_full_url(Some(&rest), &mut seen).unwrap().unwrap().get(), r#"{"search":{"mode":"match"}}"#);
        assert!(unique_full_url(Some(&raw(r#"{"fullUrl":"urn:uuid:1"}"#)), &mut seen).unwrap().is_none());
    }
}
