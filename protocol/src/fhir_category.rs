//! Which record category a FHIR R4 resource belongs to, from its `resourceType` and, where the
//! type alone does not say, its codes. Deliberately conservative: a resource that could be
//! sensitive (mental health, substance use, sexual and reproductive health, genetics) is put in
//! that category when its codes say so, and a type we do not know gets no guess at all, so the
//! patient picks (`--category`) rather than a record landing where a grant would expose it.

use serde_json::Value;

use crate::Category;

/// The category for `resource`, or `None` when the patient must choose.
pub fn infer(resource: &Value) -> Option<Category> {
    let kind = resource.get("resourceType")?.as_str()?;
    if let Some(sensitive) = sensitive_by_code(resource) {
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

/// ICD-10 chapters that are sensitive in themselves: F10–F19 substance use, other F codes
/// mental health, O pregnancy. A code anywhere in `code.coding` decides.
fn sensitive_by_code(resource: &Value) -> Option<Category> {
    let codings = resource.pointer("/code/coding")?.as_array()?;
    for coding in codings {
        let system = coding.get("system").and_then(Value::as_str).unwrap_or("");
        let code = coding.get("code").and_then(Value::as_str).unwrap_or("").to_ascii_uppercase();
        if !system.contains("icd-10") {
            continue;
        }
        if let Some(rest) = code.strip_prefix('F') {
            let chapter: u32 = rest.get(..2).and_then(|d| d.parse().ok()).unwrap_or(0);
            return Some(if (10..=19).contains(&chapter) { Category::SubstanceUse } else { Category::MentalHealth });
        }
        if code.starts_with('O') {
            return Some(Category::SexualReproductiveHealth);
        }
    }
    None
}

/// Whether any `category[].coding[].code` is one of `codes`.
fn has_category_code(resource: &Value, codes: &[&str]) -> bool {
    let Some(categories) = resource.get("category") else { return false };
    let categories: Vec<&Value> = match categories {
        Value::Array(list) => list.iter().collect(),
        single => vec![single],
    };
    categories
        .iter()
        .filter_map(|c| c.get("coding").and_then(Value::as_array))
        .flatten()
        .filter_map(|coding| coding.get("code").and_then(Value::as_str))
        .any(|code| codes.iter().any(|c| c.eq_ignore_ascii_case(code)))
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
    fn unknown_types_get_no_guess() {
        assert_eq!(infer(&json!({"resourceType": "Basic"})), None);
        assert_eq!(infer(&json!({"note": "no type"})), None);
    }
}
