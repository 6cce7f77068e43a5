//! Which references between a Bundle's entries resolve, by the rules of FHIR R4's Bundle
//! ("Resolving references in Bundles", http://hl7.org/fhir/R4/bundle.html#references): each
//! Bundle is its own scope, an absolute reference (`urn:uuid:…`, `http…`) must equal the
//! `fullUrl` of an entry in the same Bundle, and a relative one (`Type/id`) resolves against the
//! base of the referring entry's RESTful `fullUrl`. Written independently of the export code, so
//! that an export can be checked against the file it came from.

use std::collections::BTreeSet;

use serde_json::Value;

/// Every (referring resource, reference) that resolves inside its Bundle, nested Bundles
/// included. A resource is named by `Type/id`, or by its JSON when it has no id.
pub fn resolved(bundle: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    scope(bundle, &mut out);
    out
}

/// Every reference found in resources that are not Bundles (resolved or not), named as above.
pub fn all(bundle: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for entry in bundle["entry"].as_array().into_iter().flatten() {
        let resource = &entry["resource"];
        if resource["resourceType"] == "Bundle" {
            out.extend(all(resource));
        } else {
            let mut refs = Vec::new();
            references(resource, &mut refs);
            out.extend(refs.into_iter().map(|r| (name(resource), r)));
        }
    }
    out
}

fn scope(bundle: &Value, out: &mut BTreeSet<(String, String)>) {
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    let full_urls: BTreeSet<&str> = entries.iter().filter_map(|e| e["fullUrl"].as_str()).collect();
    for entry in &entries {
        let resource = &entry["resource"];
        if resource["resourceType"] == "Bundle" {
            scope(resource, out);
            continue;
        }
        let mut refs = Vec::new();
        references(resource, &mut refs);
        for reference in refs {
            let target = if is_absolute(&reference) {
                Some(reference.clone())
            } else {
                entry["fullUrl"].as_str().and_then(restful_base).map(|base| format!("{base}{reference}"))
            };
            if target.is_some_and(|t| full_urls.contains(t.as_str())) {
                out.insert((name(resource), reference));
            }
        }
    }
}

fn is_absolute(reference: &str) -> bool {
    reference.starts_with("urn:") || reference.contains("://")
}

/// `http://x/fhir/` of `http://x/fhir/Observation/1` (a RESTful URL: base, type, id).
fn restful_base(full_url: &str) -> Option<&str> {
    if !full_url.contains("://") {
        return None;
    }
    let mut parts = full_url.rsplitn(3, '/');
    let (_id, kind, base) = (parts.next()?, parts.next()?, parts.next()?);
    kind.chars().next().is_some_and(|c| c.is_ascii_uppercase()).then(|| &full_url[..base.len() + 1])
}

/// The `reference` strings inside a resource (contained resources' own references included).
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("reference", Value::String(r)) if !r.starts_with('#') => out.push(r.clone()),
                    _ => references(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| references(i, out)),
        _ => {}
    }
}

fn name(resource: &Value) -> String {
    match (resource["resourceType"].as_str(), resource["id"].as_str()) {
        (Some(kind), Some(id)) => format!("{kind}/{id}"),
        _ => resource.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn follows_the_bundle_rules() {
        let bundle = json!({"resourceType": "Bundle", "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient"}},
            {"fullUrl": "http://x.org/fhir/Patient/p", "resource": {"resourceType": "Patient", "id": "p"}},
            {"fullUrl": "http://x.org/fhir/Observation/o", "resource": {"resourceType": "Observation", "id": "o",
                "subject": {"reference": "Patient/p"}, "performer": [{"reference": "urn:uuid:1"}],
                "hasMember": [{"reference": "Observation/missing"}]}},
            {"resource": {"resourceType": "Observation", "id": "q", "subject": {"reference": "Patient/p"}}},
            {"resource": {"resourceType": "Bundle", "entry": [
                {"resource": {"resourceType": "Observation", "id": "n", "subject": {"reference": "urn:uuid:1"}}}]}}
        ]});
        let resolved: Vec<(String, String)> = resolved(&bundle).into_iter().collect();
        assert_eq!(
            resolved,
            [("Observation/o".into(), "Patient/p".into()), ("Observation/o".into(), "urn:uuid:1".into())]
        );
        assert_eq!(all(&bundle).len(), 5);
    }
}
