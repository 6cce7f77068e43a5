//! Her records leaving and coming back through the CLI: export and import round trips, Bundle
//! references kept, and SMART Health Links opened by an independent receiver.

use super::*;

/// Export → import into a fresh account → export again gives the same resources, attached
/// files and exact decimals included; nested Bundles are read whole; the Bundle is a valid FHIR
/// R4 `collection` and the NDJSON files hold one resource per line. A record that cannot be
/// opened is listed, the others exported, and a previous export file is not replaced.
async fn export_then_import_round_trips(setup: Setup) {
    let world = World::start(setup).await;
    let (alice, bob) = (world.chain.keys[1].clone(), world.chain.keys[2].clone());
    let bundle = tempfile::tempdir().unwrap();
    let entries = |names: &[&str]| -> Vec<Value> {
        names.iter().map(|name| serde_json::json!({"resource": read_json(&fixture(name))})).collect()
    };
    // Two official examples inside a Bundle inside the Bundle: both are stored.
    let nested = serde_json::json!({"resource": {"resourceType": "Bundle", "type": "collection",
        "entry": entries(&["Observation-bloodgroup.json", "Observation-example.json"])}});
    let mut source = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [nested]});
    source["entry"].as_array_mut().unwrap().extend(entries(&[
        "MedicationRequest-medrx0302.json",
        "Condition-f201.json",
        "AllergyIntolerance-example.json",
        "Immunization-example.json",
        "DiagnosticReport-f201.json",
        "DocumentReference-example.json",
        "Patient-example.json",
    ]));
    // Written by hand so the decimals are as a lab would send them (a JSON value would round them).
    let exact = r#"{"resource":{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"text":"Body temperature"},"valueQuantity":{"value":37.10,"unit":"Cel"},"component":[{"code":{"text":"tiny"},"valueQuantity":{"value":1.000000000000000000E-245}}]}}"#;
    let listed: Vec<String> = source["entry"].as_array().unwrap().iter().map(Value::to_string).collect();
    let source_text =
        format!(r#"{{"resourceType":"Bundle","type":"collection","entry":[{},{exact}]}}"#, listed.join(","));
    let source_file = bundle.path().join("source.json");
    std::fs::write(&source_file, &source_text).unwrap();
    let (ok, out, err) = world.medkey(&alice, &["upload", source_file.to_str().unwrap(), "--json"]).await;
    assert!(ok, "{err}");
    let categories: Vec<String> =
        json_of(&out).as_array().unwrap().iter().map(|r| r["category"].as_str().unwrap().to_owned()).collect();
    let inferred = [
        "lab_results",
        "vitals",
        "prescriptions",
        "conditions",
        "allergies",
        "immunizations",
        "imaging",
        "documents",
        "documents",
        "vitals",
    ];
    assert_eq!(categories, inferred);

    // Two records with attached files: a scanned letter, and a photo attached to an Observation.
    let pdf: Vec<u8> =
        [&b"%PDF-1.4\n"[..], &(0..300_000u32).map(|i| (i * 31 % 251) as u8).collect::<Vec<_>>()].concat();
    let (letter, photo) = (bundle.path().join("letter.pdf"), bundle.path().join("rash.png"));
    std::fs::write(&letter, &pdf).unwrap();
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n-a-small-image").unwrap();
    let document = bundle.path().join("letter.json");
    std::fs::write(&document, r#"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"application/pdf","title":"letter.pdf"}}]}"#).unwrap();
    let (ok, out, err) = world
        .medkey(&alice, &["upload", document.to_str().unwrap(), "--attach", letter.to_str().unwrap(), "--json"])
        .await;
    assert!(ok, "{err}");
    let letter_id = json_of(&out)[0]["record_id"].as_str().unwrap().to_owned();
    let rash = bundle.path().join("rash.json");
    std::fs::write(&rash, r#"{"resourceType":"Observation","status":"final","code":{"text":"Rash on the left arm"}}"#)
        .unwrap();
    let args = ["upload", rash.to_str().unwrap(), "--attach", photo.to_str().unwrap(), "--category", "imaging"];
    assert!(world.medkey(&alice, &args).await.0);

    let first = bundle.path().join("first.json");
    let ndjson = bundle.path().join("bulk");
    let (ok, _, err) =
        world.medkey(&alice, &["export", "--out", first.to_str().unwrap(), "--ndjson", ndjson.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let first_text = std::fs::read_to_string(&first).unwrap();
    assert!(first_text.contains("37.10") && first_text.contains("1.000000000000000000E-245"), "decimals as written");
    let exported = json_of(&first_text);
    assert_eq!((exported["resourceType"].as_str(), exported["type"].as_str()), (Some("Bundle"), Some("collection")));
    let b64 = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
    let entry_of = |bundle: &Value, pred: &dyn Fn(&Value) -> bool| -> Value {
        bundle["entry"].as_array().unwrap().iter().find(|e| pred(&e["resource"])).cloned().unwrap()
    };
    let letter_entry = entry_of(&exported, &|r| r["content"][0]["attachment"]["title"] == "letter.pdf");
    assert_eq!(letter_entry["resource"]["content"][0]["attachment"]["data"], b64(&pdf), "the PDF inside the Bundle");
    let rash_entry = entry_of(&exported, &|r| r["code"]["text"] == "Rash on the left arm");
    assert_eq!(rash_entry["extension"][1]["valueAttachment"]["data"], b64(b"\x89PNG\r\n\x1a\n-a-small-image"));
    let (valid, report) = medkey_e2e::fhir_validate(&[&first]);
    assert!(valid && report.contains("valid    ") && report.contains("FHIR 4.0.1"), "{report}");
    // The validator is not a rubber stamp: the same Bundle with one broken entry fails.
    let mut broken = exported.clone();
    broken["entry"][0]["resource"]["meta"] = serde_json::json!("meta is an object, not a string");
    let broken_file = bundle.path().join("broken.json");
    std::fs::write(&broken_file, broken.to_string()).unwrap();
    let (valid, report) = medkey_e2e::fhir_validate(&[&broken_file]);
    assert!(!valid && report.contains("INVALID"), "{report}");
    let observations = std::fs::read_to_string(ndjson.join("Observation.ndjson")).unwrap();
    assert_eq!(observations.lines().count(), 4);
    assert!(observations.lines().all(|line| json_of(line)["resourceType"] == "Observation"));
    assert!(std::fs::read_to_string(ndjson.join("DocumentReference.ndjson")).unwrap().contains(&b64(&pdf)));

    let (ok, _, err) = world.medkey(&bob, &["import", first.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    assert!(err.contains("12 records imported (2 with an attached file)"), "{err}");
    let second = bundle.path().join("second.json");
    let (ok, _, err) = world.medkey(&bob, &["export", "--out", second.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let second_text = std::fs::read_to_string(&second).unwrap();
    assert!(second_text.contains("37.10") && second_text.contains("1.000000000000000000E-245"), "decimals as written");
    let resources = |bundle: &Value| {
        let mut all: Vec<String> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{}|{}", e["extension"], e["resource"]))
            .collect();
        all.sort();
        all
    };
    assert_eq!(resources(&json_of(&second_text)), resources(&exported), "the same records, files and categories");
    let mut originals: Vec<String> = json_of(&source_text)["entry"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| match e["resource"]["resourceType"].as_str() {
            Some("Bundle") => {
                e["resource"]["entry"].as_array().unwrap().iter().map(|e| e["resource"].to_string()).collect()
            }
            _ => vec![e["resource"].to_string()],
        })
        .collect();
    let mut round_tripped: Vec<String> = leaves(&json_of(&second_text))
        .iter()
        .filter(|e| e["resource"]["content"][0]["attachment"]["title"] != "letter.pdf" && e["extension"][1].is_null())
        .map(|e| e["resource"].to_string())
        .collect();
    originals.sort();
    round_tripped.sort();
    assert_eq!(round_tripped, originals, "the same resources, byte for byte as JSON values");

    // The same file again: recognised and skipped, with a count.
    let (ok, _, err) = world.medkey(&bob, &["import", first.to_str().unwrap()]).await;
    assert!(ok && err.contains("0 records imported") && err.contains("12 skipped"), "{err}");

    // A Bundle with one bad entry imports nothing.
    let bad = bundle.path().join("bad.json");
    let broken = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": read_json(&fixture("Condition-f201.json"))}, {"resource": {"resourceType": "NotAThing"}}]});
    std::fs::write(&bad, broken.to_string()).unwrap();
    let (ok, _, err) = world.medkey(&bob, &["import", bad.to_str().unwrap()]).await;
    assert!(!ok && err.contains("entry 2"), "{err}");
    let (ok, out, _) = world.medkey(&bob, &["records", "--json"]).await;
    assert!(ok);
    assert_eq!(json_of(&out).as_array().unwrap().len(), 12, "nothing of the bad Bundle was stored");

    // An update keeps the attached file (sealed again under the new version's key).
    let (ok, _, err) = world.medkey(&alice, &["update", &letter_id, document.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let kept = bundle.path().join("kept.pdf");
    let (ok, _, err) = world.medkey(&alice, &["show", &letter_id, "--attachment-out", kept.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(&kept).unwrap(), pdf);

    // A record the vault serves corrupted: the rest is exported, the failure named, and the
    // earlier export file left as it was.
    let pool = world.db.pool().await;
    let id = alloy::hex::decode(&letter_id).unwrap();
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT ciphertext FROM record_versions WHERE record_id = $1 ORDER BY version DESC LIMIT 1")
            .bind(id.clone())
            .fetch_one(&pool)
            .await
            .unwrap();
    let mut tampered = stored.clone();
    *tampered.last_mut().unwrap() ^= 1;
    sqlx::query("UPDATE record_versions SET ciphertext = $1 WHERE record_id = $2 AND version = 2")
        .bind(tampered)
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let before = std::fs::read(&first).unwrap();
    let (ok, out, err) = world.medkey(&alice, &["export", "--out", first.to_str().unwrap(), "--json"]).await;
    assert!(!ok, "a partial export fails");
    assert!(err.contains(&format!("record {letter_id} could not be exported")), "{err}");
    assert_eq!(std::fs::read(&first).unwrap(), before, "the earlier export is left as it was");
    let summary = json_of(&out);
    assert_eq!(summary["failures"][0]["record_id"], letter_id.as_str());
    assert_eq!(summary["records"], 11);
    let partial = read_json(&bundle.path().join("first.json.partial"));
    assert_eq!(leaves(&partial).len(), 11);
    world.db.cleanup().await;
}
in_every_setup!(export_then_import_round_trips);

/// References between a Bundle's entries (`urn:uuid:` fullUrls, and `Type/id` against RESTful
/// fullUrls, in a Bundle inside a Bundle) resolve in the export as in the uploaded file, and
/// again after that export is imported into another account and exported; the Bundle's own
/// id, type and meta come back too.
async fn bundle_references_resolve_after_export_and_import(setup: Setup) {
    let world = World::start(setup).await;
    let (alice, bob) = (world.chain.keys[1].clone(), world.chain.keys[2].clone());
    let dir = tempfile::tempdir().unwrap();
    let patient = read_json(&fixture("Patient-example.json"));
    let weight = read_json(&fixture("Observation-example.json"));
    assert_eq!(weight["subject"]["reference"], "Patient/example");
    let restful = serde_json::json!({"resourceType": "Bundle", "id": "clinic-export", "type": "searchset",
        "meta": {"lastUpdated": "2026-11-01T09:00:00Z"}, "total": 2, "entry": [
        {"fullUrl": "http://clinic.example/fhir/Patient/example", "resource": patient,
         "search": {"mode": "match"}},
        {"fullUrl": "http://clinic.example/fhir/Observation/example", "resource": weight,
         "search": {"mode": "include"}}]});
    let (p, o) = ("urn:uuid:2f0b8a52-6c3e-4b7e-9d1a-0c4e5f6a7b8c", "urn:uuid:8d7c6b5a-4f3e-4d2c-8b1a-0f9e8d7c6b5a");
    let source = serde_json::json!({"resourceType": "Bundle", "id": "from-my-gp", "type": "collection",
        "meta": {"tag": [{"system": "http://example.org/tags", "code": "gp"}]}, "entry": [
        {"fullUrl": o, "resource": {"resourceType": "Observation", "status": "final",
            "code": {"text": "Heart rate"}, "subject": {"reference": p},
            "valueQuantity": {"value": 64, "unit": "/min"}}},
        {"resource": restful},
        {"fullUrl": p, "resource": {"resourceType": "Patient", "name": [{"family": "Example"}]}}]});
    let source_file = dir.path().join("gp.json");
    std::fs::write(&source_file, source.to_string()).unwrap();
    let expected = medkey_e2e::fhir_refs::resolved(&source);
    assert_eq!(expected.len(), 2, "the file's own references resolve: {expected:?}");
    let (ok, _, err) =
        world.medkey(&alice, &["upload", source_file.to_str().unwrap(), "--category", "documents"]).await;
    assert!(ok, "{err}");

    // Invalid FHIR is refused before anything is sealed, at the path of its first error;
    // --no-validate stores it as it is.
    let invalid = dir.path().join("invalid.json");
    std::fs::write(&invalid, r#"{"resourceType":"Observation","valueQuantity":{"value":"high"}}"#).unwrap();
    let upload = ["upload", invalid.to_str().unwrap(), "--category", "vitals"];
    let (ok, _, err) = world.medkey(&alice, &upload).await;
    assert!(!ok && err.contains("Observation.valueQuantity.value: expected a number, found a string"), "{err}");
    assert!(err.contains("--no-validate"), "{err}");
    let (_, out, _) = world.medkey(&alice, &["records", "--json"]).await;
    assert_eq!(json_of(&out).as_array().unwrap().len(), 4, "nothing of the invalid file was stored");

    // A Bundle whose header is over what is kept beside each record (a big signature, as HL7's
    // Bundle-father has): its entries stay in it with their fullUrls, so its references still
    // resolve after a round trip; only the signature is left out, and the upload says so.
    let signed = dir.path().join("signed.json");
    let signature = serde_json::json!({"type": [{"system": "urn:iso-astm:E1762-95:2013",
        "code": "1.2.840.10065.1.12.1.1"}], "when": "2026-11-01T09:00:00Z", "who": {"display": "GP"},
        "data": "QUJD".repeat(5_000)});
    let (q, r) = ("urn:uuid:5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d", "urn:uuid:0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b");
    let big = serde_json::json!({"resourceType": "Bundle", "id": "signed", "type": "collection",
        "signature": signature, "entry": [
        {"fullUrl": q, "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "Signed"},
            "subject": {"reference": r}}},
        {"fullUrl": r, "resource": {"resourceType": "Patient", "name": [{"family": "Signed"}]}}]});
    std::fs::write(&signed, big.to_string()).unwrap();
    let (ok, _, err) = world.medkey(&alice, &["upload", signed.to_str().unwrap(), "--category", "vitals"]).await;
    assert!(ok && err.contains("kept without Bundle.signature"), "{err}");
    // Another Bundle holding exactly the same resources as the first one's (as HL7's Bundle-ghp
    // shares Observations with Bundle-101): each Bundle keeps its own copy through a round trip.
    let shared = dir.path().join("shared.json");
    let copy = serde_json::json!({"resourceType": "Bundle", "id": "same-resources", "type": "collection",
        "entry": [source["entry"][0].clone(), source["entry"][2].clone()]});
    std::fs::write(&shared, copy.to_string()).unwrap();
    let (ok, _, err) = world.medkey(&alice, &["upload", shared.to_str().unwrap(), "--category", "vitals"]).await;
    assert!(ok, "{err}");
    let mut expected = expected;
    expected.extend(medkey_e2e::fhir_refs::resolved(&big));
    expected.extend(medkey_e2e::fhir_refs::resolved(&copy));

    let first = dir.path().join("first.json");
    let (ok, _, err) = world.medkey(&alice, &["export", "--out", first.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let exported = read_json(&first);
    assert_eq!(medkey_e2e::fhir_refs::resolved(&exported), expected, "after upload and export");
    let gp = &exported["entry"][0]["resource"];
    assert_eq!((gp["id"].as_str(), gp["type"].as_str()), (Some("from-my-gp"), Some("collection")));
    assert_eq!(gp["meta"], source["meta"]);
    assert_eq!(gp["entry"][1]["resource"]["total"], 2, "the inner Bundle as it was, its entries in order");
    assert_eq!(gp["entry"][1]["resource"]["entry"][0]["search"]["mode"], "match");
    let kept = exported["entry"].as_array().unwrap().iter().find(|e| e["resource"]["id"] == "signed").unwrap();
    assert_eq!(kept["resource"]["entry"].as_array().unwrap().len(), 2, "its entries in it: {kept}");
    assert!(kept["resource"].get("signature").is_none(), "the signature was left out: {kept}");
    assert_eq!(kept["resource"]["entry"][1]["fullUrl"], r);
    let both = exported["entry"].as_array().unwrap().iter().find(|e| e["resource"]["id"] == "same-resources").unwrap();
    assert_eq!(both["resource"]["entry"].as_array().unwrap().len(), 2, "{both}");
    let (valid, report) = medkey_e2e::fhir_validate(&[&first]);
    assert!(valid, "{report}");

    let (ok, _, err) = world.medkey(&bob, &["import", first.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let second = dir.path().join("second.json");
    let (ok, _, err) = world.medkey(&bob, &["export", "--out", second.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let again = read_json(&second);
    assert_eq!(medkey_e2e::fhir_refs::resolved(&again), expected, "after export, import and export");
    assert_eq!(again["entry"], exported["entry"], "the same Bundle inside the export");
    world.db.cleanup().await;
}

mod bundle_references_resolve_after_export_and_import {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::bundle_references_resolve_after_export_and_import(super::Setup::InProcess(super::Backend::Sqlite)).await
    }
}

/// `medkey share-link`: records shared by a SMART Health Link that a receiver written from the
/// specification (Python, jwcrypto) opens with the passcode; listed with each use; revoked.
async fn a_share_link_from_the_cli_opens_in_an_independent_receiver(setup: Setup) {
    let world = World::start(setup).await;
    let alice = world.chain.keys[1].clone();
    let upload = |name: &str| ["upload".to_owned(), fixture(name).to_str().unwrap().to_owned()];
    for name in ["AllergyIntolerance-example.json", "Condition-f201.json"] {
        let args = upload(name);
        let (ok, _, err) = world.medkey(&alice, &[&args[0], &args[1]]).await;
        assert!(ok, "{err}");
    }
    let create = [
        "share-link",
        "create",
        "--categories",
        "allergies",
        "--label",
        "For Dr. Okafor",
        "--passcode",
        "tulip-42",
        "--json",
    ];
    let (ok, out, err) = world.medkey(&alice, &create).await;
    assert!(ok, "{err}");
    assert!(err.contains("1 record(s) shared by link \"For Dr. Okafor\""), "{err}");
    let created = json_of(&out);
    let link = created["link"].as_str().unwrap().to_owned();
    assert!(link.starts_with("shlink:/") && created["viewer_url"].as_str().unwrap().contains("/view/#shlink:/"));
    let receive = |passcode: &str| {
        std::process::Command::new(medkey_e2e::workspace_root().join("tools/py/bin/python"))
            .arg(medkey_e2e::workspace_root().join("scripts/shl_receive.py"))
            .args([&link, "--recipient", "Dr. Okafor", "--passcode", passcode])
            .output()
            .unwrap()
    };
    let wrong = receive("tulip-00");
    assert_eq!(wrong.status.code(), Some(3), "{}", String::from_utf8_lossy(&wrong.stderr));
    let right = receive("tulip-42");
    assert!(right.status.success(), "{}", String::from_utf8_lossy(&right.stderr));
    let received = json_of(&String::from_utf8_lossy(&right.stdout));
    let bundle = &received["files"][0]["content"];
    assert_eq!(bundle["resourceType"], "Bundle");
    let kinds: Vec<&str> =
        bundle["entry"].as_array().unwrap().iter().map(|e| e["resource"]["resourceType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["AllergyIntolerance"], "the allergies only");
    assert_eq!(bundle["entry"][0]["resource"], read_json(&fixture("AllergyIntolerance-example.json")));
    let shared = tempfile::tempdir().unwrap();
    let shared_file = shared.path().join("shared.json");
    std::fs::write(&shared_file, bundle.to_string()).unwrap();
    let (valid, report) = medkey_e2e::fhir_validate(&[&shared_file]);
    assert!(valid, "the shared Bundle is valid FHIR R4: {report}");

    let (ok, out, _) = world.medkey(&alice, &["share-link", "list", "--json"]).await;
    assert!(ok);
    let links = json_of(&out);
    let outcomes: Vec<&str> =
        links[0]["accesses"].as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["wrong_passcode", "ok"]);
    let id = created["share_link"]["id"].as_str().unwrap();
    let (ok, _, err) = world.medkey(&alice, &["share-link", "revoke", id]).await;
    assert!(ok, "{err}");
    let after = receive("tulip-42");
    assert_eq!(after.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&after.stderr).contains("link_revoked"));
    let (ok, _, err) = world.medkey(&alice, &["share-link", "create", "--categories", "imaging", "--label", "x"]).await;
    assert!(!ok && err.contains("none of your records is in those categories"), "{err}");
    world.db.cleanup().await;
}

mod a_share_link_from_the_cli_opens_in_an_independent_receiver {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_share_link_from_the_cli_opens_in_an_independent_receiver(super::Setup::InProcess(
            super::Backend::Sqlite,
        ))
        .await
    }
}
