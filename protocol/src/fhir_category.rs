//! Which record category a FHIR R4 resource belongs to, from its `resourceType` and, where the
//! type alone does not say, its codes. Deliberately conservative: a resource that could be
//! sensitive (mental health, substance use, sexual and reproductive health, genetics) is put in
//! that category when any evidence says so — ICD-10-CM, LOINC and SNOMED CT codes, genetics
//! profiles and extensions, category codes, words in its code's text — whatever its type would
//! say, and a type we do not know gets no guess at all, so the patient picks (`--category`)
//! rather than a record landing where a grant would expose it. The evidence is data
//! (`sensitive_codes.json`, shared with the browser client; docs/consent-model.md has the table).

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use crate::Category;

/// The category for `resource`, or `None` when the patient must choose.
pub fn infer(resource: &Value) -> Option<Category> {
    let kind = resource.get("resourceType")?.as_str()?;
    if let Some((sensitive, _)) = sensitive_evidence(resource) {
        return Some(sensitive);
    }
    Some(match kind {
        "Observation" => observation(resource),
        "DiagnosticReport" => {
            if has_category_code(resource, &["RAD", "imaging", "NMR", "CT", "US", "XRC"]) {
                Category::Imaging
            } else {
                Category::LabResults
            }
        }
        "Specimen" => Category::LabResults,
        "MedicationRequest"
        | "MedicationStatement"
        | "MedicationDispense"
        | "MedicationAdministration"
        | "Medication" => Category::Prescriptions,
        "ImagingStudy" | "Media" => Category::Imaging,
        "Immunization" | "ImmunizationRecommendation" | "ImmunizationEvaluation" => Category::Immunizations,
        "AllergyIntolerance" => Category::Allergies,
        "Condition" | "FamilyMemberHistory" => Category::Conditions,
        "ClinicalImpression" => Category::ClinicalNotes,
        "Procedure" => Category::Procedures,
        "Encounter" | "EpisodeOfCare" => Category::Encounters,
        "CarePlan" | "CareTeam" | "Goal" | "ServiceRequest" | "NutritionOrder" => Category::CarePlans,
        "DocumentReference" | "Composition" | "Binary" | "Patient" | "QuestionnaireResponse" => Category::Documents,
        "MolecularSequence" => Category::Genetics,
        _ => return None,
    })
}

fn observation(resource: &Value) -> Category {
    if has_category_code(resource, &["vital-signs"]) {
        Category::Vitals
    } else if has_category_code(resource, &["imaging"]) {
        Category::Imaging
    } else if has_category_code(resource, &["laboratory"]) {
        Category::LabResults
    } else if has_category_code(resource, &["procedure"]) {
        Category::Procedures
    } else {
        Category::ClinicalNotes
    }
}

#[derive(Deserialize)]
struct Table {
    order: Vec<Category>,
    categories: std::collections::HashMap<Category, Evidence>,
}

#[derive(Deserialize)]
struct Evidence {
    icd10_prefixes: Vec<String>,
    loinc: Vec<String>,
    snomed: Vec<String>,
    category_codes: Vec<String>,
    profiles: Vec<String>,
    words: Vec<String>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str(include_str!("sensitive_codes.json")).expect("sensitive_codes.json parses")
    })
}

/// The sensitive category `resource` belongs in, and the evidence, in words ("LOINC 59041-4").
pub fn sensitive_evidence(resource: &Value) -> Option<(Category, String)> {
    let codings = codings(resource);
    let profiles: Vec<&str> = resource
        .pointer("/meta/profile")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(resource.get("extension").and_then(Value::as_array).into_iter().flatten().map(|e| &e["url"]))
        .filter_map(Value::as_str)
        .collect();
    let text = normalized_text(resource);
    let table = table();
    for category in &table.order {
        let evidence = &table.categories[category];
        for (system, code) in &codings {
            let upper = code.to_ascii_uppercase();
            if system.contains("icd-10") && evidence.icd10_prefixes.iter().any(|p| upper.starts_with(p.as_str())) {
                return Some((*category, format!("ICD-10 {code}")));
            }
            if *system == "http://loinc.org" && evidence.loinc.iter().any(|c| c == code) {
                return Some((*category, format!("LOINC {code}")));
            }
            if *system == "http://snomed.info/sct" && evidence.snomed.iter().any(|c| c == code) {
                return Some((*category, format!("SNOMED CT {code}")));
            }
        }
        if let Some(code) =
            category_codes(resource).find(|c| evidence.category_codes.iter().any(|e| e.eq_ignore_ascii_case(c)))
        {
            return Some((*category, format!("category code {code}")));
        }
        if let Some(found) = profiles.iter().find(|url| evidence.profiles.iter().any(|p| url.contains(p.as_str()))) {
            return Some((*category, format!("profile or extension {found}")));
        }
        if let Some(word) = evidence.words.iter().find(|w| text.contains(&format!(" {w}"))) {
            return Some((*category, format!("the words \"{word}\"")));
        }
    }
    None
}

/// (system, code) of `code`, `category` and `valueCodeableConcept`.
fn codings(resource: &Value) -> Vec<(&str, &str)> {
    let concepts = [resource.get("code"), resource.get("valueCodeableConcept")]
        .into_iter()
        .flatten()
        .chain(as_list(resource.get("category")));
    concepts
        .filter_map(|c| c.get("coding").and_then(Value::as_array))
        .flatten()
        .filter_map(|c| Some((c.get("system").and_then(Value::as_str).unwrap_or(""), c.get("code")?.as_str()?)))
        .collect()
}

fn category_codes(resource: &Value) -> impl Iterator<Item = &str> {
    as_list(resource.get("category"))
        .filter_map(|c| c.get("coding").and_then(Value::as_array))
        .flatten()
        .filter_map(|coding| coding.get("code").and_then(Value::as_str))
}

/// `category` is a list in most resources and a single concept in a few.
fn as_list(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    let list: Vec<&Value> = match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single) => vec![single],
        None => vec![],
    };
    list.into_iter()
}

/// The words of the code's and categories' texts and displays, lower case, each after a space.
fn normalized_text(resource: &Value) -> String {
    let concepts = [resource.get("code"), resource.get("valueCodeableConcept")]
        .into_iter()
        .flatten()
        .chain(as_list(resource.get("category")));
    let mut text = String::from(" ");
    for concept in concepts {
        let displays = concept.get("coding").and_then(Value::as_array).into_iter().flatten().map(|c| &c["display"]);
        for part in std::iter::once(&concept["text"]).chain(displays).filter_map(Value::as_str) {
            for word in part.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                text.push_str(word);
                text.push(' ');
            }
        }
    }
    text
}

/// Whether any `category[].coding[].code` is one of `codes`.
fn has_category_code(resource: &Value, codes: &[&str]) -> bool {
    category_codes(resource).any(|code| codes.iter().any(|c| c.eq_ignore_ascii_case(code)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obs(code: &str) -> Value {
        json!({"resourceType": "Observation", "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": code}]}]})
    }

    #[test]
    fn types_and_codes_decide() {
        assert_eq!(infer(&obs("laboratory")), Some(Category::LabResults));
        assert_eq!(infer(&obs("vital-signs")), Some(Category::Vitals));
        assert_eq!(infer(&obs("social-history")), Some(Category::ClinicalNotes));
        assert_eq!(infer(&json!({"resourceType": "MedicationRequest"})), Some(Category::Prescriptions));
        assert_eq!(infer(&json!({"resourceType": "Immunization"})), Some(Category::Immunizations));
        assert_eq!(
            infer(&json!({"resourceType": "DiagnosticReport", "category": [{"coding": [{"code": "RAD"}]}]})),
            Some(Category::Imaging)
        );
        assert_eq!(infer(&json!({"resourceType": "DiagnosticReport"})), Some(Category::LabResults));
    }

    #[test]
    fn sensitive_codes_win_over_the_type() {
        let condition = |code: &str| {
            json!({"resourceType": "Condition", "code": {"coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]}})
        };
        assert_eq!(infer(&condition("F32.1")), Some(Category::MentalHealth));
        assert_eq!(infer(&condition("F10.2")), Some(Category::SubstanceUse));
        assert_eq!(infer(&condition("O24.4")), Some(Category::SexualReproductiveHealth));
        assert_eq!(infer(&condition("E11.9")), Some(Category::Conditions));
    }

    #[test]
    fn official_sensitive_examples_land_in_their_sensitive_category() {
        let fixture = |name: &str| -> Value {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/fhir-r4/");
            serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).unwrap()).unwrap()
        };
        for (name, category, because) in [
            ("Observation-example-genetics-brcapat.json", Category::Genetics, "LOINC 59041-4"),
            ("Observation-example-TPMT-diplotype.json", Category::Genetics, "SNOMED CT 363779003"),
            ("DiagnosticReport-example-pgx.json", Category::Genetics, "the words \"pharmacogen\""),
            ("Observation-alcohol-type.json", Category::SubstanceUse, "the words \"alcohol\""),
            ("Procedure-ob.json", Category::SexualReproductiveHealth, "SNOMED CT 22633006"),
        ] {
            let resource = fixture(name);
            assert_eq!(infer(&resource), Some(category), "{name}");
            assert_eq!(sensitive_evidence(&resource).unwrap().1, because, "{name}");
        }
        // Ordinary examples stay ordinary.
        for name in ["Observation-bloodgroup.json", "Observation-example.json", "Condition-f201.json"] {
            assert_eq!(sensitive_evidence(&fixture(name)), None, "{name}");
        }
        let ecg = json!({"resourceType": "Observation", "code": {"text": "ST segment depression"}});
        assert_eq!(sensitive_evidence(&ecg), None, "an ECG finding is not a mental health record");
        let phq9 = json!({"resourceType": "Observation", "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]}});
        assert_eq!(infer(&phq9), Some(Category::MentalHealth));
    }

    #[test]
    fn unknown_types_get_no_guess() {
        assert_eq!(infer(&json!({"resourceType": "Basic"})), None);
        assert_eq!(infer(&json!({"note": "no type"})), None);
    }
}
