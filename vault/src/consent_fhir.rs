//! A grant as a FHIR R4 `Consent` resource, so EHRs and patient apps can read consents in the
//! standard shape. The chain stays the source of truth; this is a view.
//!
//! Patients and providers are identified by `did:pkh:eip155:<chain>:<address>` (the W3C DID
//! method for blockchain accounts); record categories use Medkey's own code system.

use medkey_indexer::model::{GrantState, MirroredGrant};
use medkey_protocol::{Category, Purpose};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const CATEGORY_SYSTEM: &str = "https://medkey.dev/fhir/CodeSystem/record-category";

pub fn did(chain_id: u64, address: alloy::primitives::Address) -> String {
    format!("did:pkh:eip155:{chain_id}:{address}")
}

fn instant(unix: u64) -> Value {
    i64::try_from(unix)
        .ok()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// The R4 `Consent.status` for a grant's state: pending grants are `proposed`, ended ones
/// `inactive`.
pub fn status(state: GrantState) -> &'static str {
    match state {
        GrantState::Pending => "proposed",
        GrantState::Live => "active",
        GrantState::Expired | GrantState::Revoked => "inactive",
    }
}

pub fn consent(chain_id: u64, grant: &MirroredGrant, now: u64) -> Value {
    let reference = |address| json!({"identifier": {"system": "urn:ietf:rfc:3986", "value": did(chain_id, address)}});
    let classes: Vec<Value> = Category::from_mask(grant.categories)
        .into_iter()
        .map(|c| json!({"system": CATEGORY_SYSTEM, "code": c.as_str()}))
        .collect();
    let mut actions =
        vec![json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]})];
    if grant.write {
        actions.push(
            json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "correct"}]}),
        );
    }
    let purpose = Purpose::from_index(grant.purpose).map_or("UNKNOWN", |p| p.as_str());
    json!({
        "resourceType": "Consent",
        "id": format!("{:x}", grant.grant_id).trim_start_matches("0x"),
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": format!("urn:medkey:grant:{chain_id}:{}", grant.grant_id)}],
        "status": status(grant.state_at(now)),
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": reference(grant.patient),
        "performer": [reference(grant.patient)],
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": if grant.emergency { "OPTINR" } else { "OPTIN" }}]},
        "provision": {
            "type": "permit",
            // A grant live at once (not_before 0) has no start of its own to show.
            "period": match grant.not_before {
                0 => json!({"end": instant(grant.expires_at)}),
                start => json!({"start": instant(start), "end": instant(grant.expires_at)}),
            },
            "actor": [{
                "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
                "reference": reference(grant.provider),
            }],
            "action": actions,
            "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": purpose}],
            "class": classes,
        },
    })
}
