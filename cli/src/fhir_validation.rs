//! Every resource is checked against the FHIR R4 model before anything is sealed or sent, so an
//! invalid file is refused here, with the path of its first error, instead of being stored and
//! failing later in someone else's system. The model is `fhirkit`'s (generated from the R4
//! specification; it reads all the official R4 examples): element names and types, required
//! elements, choice types, primitive formats. Terminology bindings are not checked.

use anyhow::bail;
use fhirkit::r4::Resource;

use crate::fhir_file::FileEntry;

/// `--no-validate`, for every command that stores a file.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct ValidateArgs {
    /// Store the file even if it is not valid FHIR R4 (by default every resource is checked
    /// first and an invalid file is refused, with the place of its first error).
    #[arg(long)]
    pub no_validate: bool,
}

/// Refuses the file at its first invalid resource.
pub fn check(entries: &[FileEntry], args: ValidateArgs) -> anyhow::Result<()> {
    if args.no_validate {
        return Ok(());
    }
    for entry in entries {
        let issues = match fhirkit::from_json_strict::<Resource>(&entry.text) {
            Ok(_) => continue,
            Err(fhirkit::Error::Invalid(issues)) => issues,
            Err(fhirkit::Error::Json(err)) => bail!("{}: not JSON ({err})", place(entry)),
        };
        let Some(first) = issues.first() else { bail!("{}: not a FHIR R4 resource this build can read", place(entry)) };
        let more = match issues.len() - 1 {
            0 => String::new(),
            n => format!(" (and {n} more problem{})", if n == 1 { "" } else { "s" }),
        };
        bail!(
            "{}: not valid FHIR R4: {}: {}{more}. Correct the file, or pass --no-validate to store it as it is",
            place(entry),
            first.path,
            first.message
        );
    }
    Ok(())
}

fn place(entry: &FileEntry) -> String {
    if entry.place.is_empty() { "the resource".into() } else { format!("entry {}", entry.place) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(json: &str) -> anyhow::Result<()> {
        check(&crate::fhir_file::read_from(json.as_bytes()).unwrap(), ValidateArgs::default())
    }

    #[test]
    fn the_first_error_is_named_by_its_path() {
        let high =
            r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"high"}}"#;
        let err = checked(high).unwrap_err().to_string();
        assert!(
            err.contains("the resource: not valid FHIR R4: Observation.valueQuantity.value: expected a number"),
            "{err}"
        );
        assert!(err.contains("--no-validate"), "{err}");
        let bundle = r#"{"resourceType":"Bundle","type":"collection","entry":[
            {"resource":{"resourceType":"Patient"}},
            {"resource":{"resourceType":"Observation","code":{"text":"x"},"effectiveDateTime":"yesterday"}}]}"#;
        let err = checked(bundle).unwrap_err().to_string();
        assert!(
            err.starts_with("entry 2: not valid FHIR R4: Observation.") && err.contains("(and 1 more problem)"),
            "{err}"
        );
        let entries = crate::fhir_file::read_from(high.as_bytes()).unwrap();
        assert!(check(&entries, ValidateArgs { no_validate: true }).is_ok(), "--no-validate stores it as it is");
    }

    #[test]
    fn exact_decimals_and_the_official_examples_are_valid() {
        checked(r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.000000000000000000E-245}}"#).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fhir-r4");
        let mut seen = 0;
        for file in std::fs::read_dir(dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                check(&crate::fhir_file::read(&path).unwrap(), ValidateArgs::default()).unwrap();
                seen += 1;
            }
        }
        assert!(seen >= 14, "{seen} examples");
    }
}
