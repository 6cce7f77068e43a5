//! The providers the patient app offers under "Connect a provider", read from a SMART User-access
//! Brands Bundle (SMART App Launch 2.2, "User-access Brands and Endpoints"): the format EHR vendors
//! publish their patient-access endpoints in. Each active FHIR REST `Endpoint` becomes one entry,
//! named by the `Organization` (the brand) that lists it, else by its own name. Checked as FHIR R4
//! first (fhirkit), then read: only the few fields this needs, so the walk is ours.

use anyhow::{Context, bail};
use medkey_vault::http::SmartEndpoint;
use serde_json::Value;
use std::path::Path;

/// What the app lists: the bare addresses configured (named by host), then a Brands Bundle's.
pub fn listed(addresses: &[String], brands: Option<&Path>) -> anyhow::Result<Vec<SmartEndpoint>> {
    let mut all: Vec<SmartEndpoint> = addresses.iter().map(|a| SmartEndpoint::from_address(a)).collect();
    for endpoint in brands.map(read).transpose()?.unwrap_or_default() {
        if !all.iter().any(|e| e.address == endpoint.address) {
            all.push(endpoint);
        }
    }
    Ok(all)
}

/// The brands' endpoints, in the Bundle's order; an error names the file and what is wrong.
pub fn read(path: &Path) -> anyhow::Result<Vec<SmartEndpoint>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    endpoints(&text).with_context(|| format!("{} is not a usable SMART Brands Bundle", path.display()))
}

fn endpoints(text: &str) -> anyhow::Result<Vec<SmartEndpoint>> {
    match fhirkit::from_json_strict::<fhirkit::r4::Resource>(text) {
        Ok(_) => {}
        Err(fhirkit::Error::Invalid(issues)) => bail!("not valid FHIR R4: {}", issues[0]),
        Err(err) => bail!("not valid FHIR R4 JSON: {err}"),
    }
    let bundle: Value = serde_json::from_str(text)?;
    if bundle["resourceType"] != "Bundle" {
        bail!("it is a {}, not a Bundle", bundle["resourceType"].as_str().unwrap_or("resource"));
    }
    let entries = bundle["entry"].as_array().map(Vec::as_slice).unwrap_or_default();
    // Which brand lists each endpoint, by `Endpoint/{id}` and by the entry's fullUrl.
    let mut brand_of = std::collections::HashMap::new();
    for entry in entries {
        let resource = &entry["resource"];
        if resource["resourceType"] != "Organization" {
            continue;
        }
        let Some(name) = resource["name"].as_str() else { continue };
        for reference in resource["endpoint"].as_array().map(Vec::as_slice).unwrap_or_default() {
            if let Some(r) = reference["reference"].as_str() {
                brand_of.entry(r.to_owned()).or_insert_with(|| name.to_owned());
            }
        }
    }
    let mut found = Vec::new();
    for entry in entries {
        let resource = &entry["resource"];
        let fhir_rest = resource["connectionType"]["code"] == "hl7-fhir-rest";
        if resource["resourceType"] != "Endpoint" || !fhir_rest || resource["status"] != "active" {
            continue;
        }
        let Some(address) = resource["address"].as_str() else { continue };
        medkey_vault::http::smart_endpoint_origin(address).map_err(anyhow::Error::msg)?;
        let by_id = resource["id"].as_str().map(|id| format!("Endpoint/{id}"));
        let name = by_id
            .and_then(|r| brand_of.get(&r))
            .or_else(|| entry["fullUrl"].as_str().and_then(|u| brand_of.get(u)))
            .cloned()
            .or_else(|| resource["name"].as_str().map(str::to_owned))
            .unwrap_or_else(|| address.to_owned());
        found.push(SmartEndpoint { address: address.trim_end_matches('/').to_owned(), name });
    }
    if found.is_empty() {
        bail!("it lists no active FHIR endpoint (an Endpoint with connectionType hl7-fhir-rest and status active)");
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRANDS: &str = r#"{"resourceType":"Bundle","type":"collection","entry":[
      {"fullUrl":"https://brands.example/Organization/a","resource":{"resourceType":"Organization","id":"a","name":"Example Health","endpoint":[{"reference":"Endpoint/e1"}]}},
      {"fullUrl":"https://brands.example/Endpoint/e1","resource":{"resourceType":"Endpoint","id":"e1","status":"active","connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-rest"},"payloadType":[{"text":"none"}],"address":"https://fhir.example-health.org/R4/"}},
      {"resource":{"resourceType":"Endpoint","id":"e2","status":"off","connectionType":{"code":"hl7-fhir-rest"},"payloadType":[{"text":"none"}],"address":"https://old.example.org/R4"}},
      {"resource":{"resourceType":"Endpoint","id":"e3","status":"active","name":"Clinic portal","connectionType":{"code":"hl7-fhir-rest"},"payloadType":[{"text":"none"}],"address":"https://clinic.example.org/fhir"}}
    ]}"#;

    #[test]
    fn each_active_fhir_endpoint_named_by_its_brand() {
        let found = endpoints(BRANDS).unwrap();
        let pairs: Vec<(&str, &str)> = found.iter().map(|e| (e.name.as_str(), e.address.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("Example Health", "https://fhir.example-health.org/R4"),
                ("Clinic portal", "https://clinic.example.org/fhir")
            ]
        );
    }

    #[test]
    fn lists_configured_addresses_then_brands_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brands.json");
        std::fs::write(&path, BRANDS).unwrap();
        let addresses = vec!["https://clinic.example.org/fhir/".to_owned()];
        let all = listed(&addresses, Some(&path)).unwrap();
        let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["clinic.example.org", "Example Health"], "the brand's copy of a listed address is dropped");
        assert!(listed(&[], Some(&dir.path().join("missing.json"))).unwrap_err().to_string().contains("cannot read"));
    }

    #[test]
    fn refuses_what_is_not_a_brands_bundle_in_words() {
        let err = |text: &str| endpoints(text).unwrap_err().to_string();
        assert!(err(r#"{"resourceType":"Patient"}"#).contains("not a Bundle"));
        assert!(err("{").contains("not valid FHIR R4"));
        assert!(err(r#"{"resourceType":"Bundle","type":"collection"}"#).contains("no active FHIR endpoint"));
        let plain = BRANDS.replace("https://fhir.example-health.org", "http://fhir.example-health.org");
        assert!(err(&plain).contains("must be https"), "{}", err(&plain));
    }
}
