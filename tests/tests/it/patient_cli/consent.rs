//! Consent through the CLI: grants and revocations, break-glass, access requests, write grants,
//! expiry, and signing in with a keystore account.

use super::*;

async fn a_patient_shares_a_lab_result_and_revokes(setup: Setup) {
    let world = World::start(setup).await;
    let (alice, lab) = (world.chain.keys[1].clone(), world.chain.keys[3].clone());
    world.register(&lab).await;

    // Upload: categories inferred from the official examples' types and codes.
    // The lab result comes with a scanned report, encrypted as a stream on the patient's side.
    let files = tempfile::tempdir().unwrap();
    let scan: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let scan_file = files.path().join("report.pdf");
    std::fs::write(&scan_file, &scan).unwrap();
    let lab_fixture = fixture("Observation-bloodgroup.json");
    let upload = ["upload", lab_fixture.to_str().unwrap(), "--attach", scan_file.to_str().unwrap(), "--json"];
    let (ok, out, err) = world.medkey(&alice, &upload).await;
    assert!(ok, "{err}");
    let lab_result = json_of(&out)[0].clone();
    assert_eq!(lab_result["category"], "lab_results", "{out}");
    let lab_id = lab_result["record_id"].as_str().unwrap().to_owned();
    let (ok, out, err) = world
        .medkey(&alice, &["upload", fixture("MedicationRequest-medrx0302.json").to_str().unwrap(), "--json"])
        .await;
    assert!(ok, "{err}");
    let prescription = json_of(&out)[0].clone();
    assert_eq!(prescription["category"], "prescriptions");
    let rx_id = prescription["record_id"].as_str().unwrap().to_owned();

    // The patient reads her own record back, decrypted on her side.
    let (ok, out, err) = world.medkey(&alice, &["show", &lab_id]).await;
    assert!(ok, "{err}");
    assert_eq!(json_of(&out), read_json(&fixture("Observation-bloodgroup.json")));

    // A new account with no ETH that sends a grant itself is told so in plain words, with what to do.
    let penniless = PrivateKeySigner::random();
    let lab_text = lab.address().to_string();
    let direct = ["grant", "--provider", &lab_text, "--categories", "lab_results", "--until", "2030-01-01", "--direct"];
    let (ok, _, err) = world.medkey(&penniless, &direct).await;
    assert!(!ok && err.contains("This account has no ETH to pay the transaction fee. Leave out --direct"), "{err}");

    // Grant through the relay: the patient pays no gas.
    let balance = world.chain.provider.get_balance(alice.address()).await.unwrap();
    let tomorrow = time::OffsetDateTime::now_utc().date().next_day().unwrap().to_string();
    let provider = lab.address().to_string();
    let grant_args = [
        "grant",
        "--provider",
        &provider,
        "--categories",
        "lab_results",
        "--until",
        &tomorrow,
        "--purpose",
        "TREAT",
        "--json",
    ];
    let (ok, out, err) = world.medkey(&alice, &grant_args).await;
    assert!(ok, "{err}");
    let granted = json_of(&out);
    assert_eq!(granted["records_shared"], 1, "{out}");
    let grant_id = granted["grant_id"].as_str().unwrap().to_owned();
    assert_eq!(world.chain.provider.get_balance(alice.address()).await.unwrap(), balance, "gasless");

    // The lab sees the patient, her lab result only, and decrypts it on its side.
    let (ok, out, err) = world.medkey(&lab, &["provider", "patients", "--json"]).await;
    assert!(ok, "{err}");
    assert_eq!(json_of(&out).as_array().unwrap().len(), 1, "{out}");
    let patient = alice.address().to_string();
    let (ok, out, err) = world.medkey(&lab, &["provider", "records", "--patient", &patient, "--json"]).await;
    assert!(ok, "{err}");
    let visible = json_of(&out);
    assert_eq!(visible.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(visible[0]["record_id"], lab_id.as_str());
    let fetched = tempfile::tempdir().unwrap();
    let out_file = fetched.path().join("result.json");
    let scan_out = fetched.path().join("report.pdf");
    let (out_arg, scan_arg) = (out_file.to_str().unwrap(), scan_out.to_str().unwrap());
    // Into files that exist, world-readable: each comes back a new file only its owner reads.
    for existing in [&out_file, &scan_out] {
        std::fs::write(existing, b"old").unwrap();
        std::fs::set_permissions(existing, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    }
    let fetch = ["provider", "fetch", &lab_id, "--out", out_arg, "--attachment-out", scan_arg];
    let (ok, _, err) = world.medkey(&lab, &fetch).await;
    assert!(ok, "{err}");
    for written in [&out_file, &scan_out] {
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(written).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "{} kept a looser mode", written.display());
    }
    // A symbolic link in the output's place is refused, and what it points to is left alone.
    let (victim, link) = (fetched.path().join("victim.txt"), fetched.path().join("link.json"));
    std::fs::write(&victim, b"keep me").unwrap();
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let (ok, _, err) = world.medkey(&lab, &["provider", "fetch", &lab_id, "--out", link.to_str().unwrap()]).await;
    assert!(!ok && err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    assert!(std::fs::read(&scan_out).unwrap() == scan, "the attachment decrypts to the scanned file");
    assert!(err.contains("released under grant") && err.contains("TREAT"), "{err}");
    assert_eq!(read_json(&out_file), read_json(&fixture("Observation-bloodgroup.json")));
    let (ok, _, err) = world.medkey(&lab, &["provider", "fetch", &rx_id]).await;
    assert!(!ok && err.contains("no_live_grant"), "{err}");
    // The whole chart in one batch: the lab result, decrypted, in a Bundle.
    let chart = fetched.path().join("chart.json");
    let chart_args = ["provider", "chart", "--patient", &patient, "--out", chart.to_str().unwrap()];
    let (ok, _, err) = world.medkey(&lab, &chart_args).await;
    assert!(ok && err.contains("1 of 1 records opened"), "{err}");
    let bundle = read_json(&chart);
    assert_eq!(bundle["entry"][0]["resource"], read_json(&fixture("Observation-bloodgroup.json")));

    // The patient's view of the grant agrees with the chain: STATE and CHAIN both say live.
    let (ok, table, err) = world.medkey(&alice, &["grants"]).await;
    assert!(ok, "{err}");
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[row.len() - 2..], ["live", "live"], "{table}");

    // Revoke (relayed), naming the grant as the table shows it; the lab is refused from the next block on.
    let short_id = row[0];
    assert!(short_id.contains('…') && grant_id.starts_with(&short_id[..10]), "{table}");
    let (ok, _, err) = world.medkey(&alice, &["revoke", short_id]).await;
    assert!(ok, "{err}");
    world.wait_for_mirror(world.chain.head().await).await;
    let (ok, _, err) = world.medkey(&lab, &["provider", "fetch", &lab_id]).await;
    assert!(!ok && err.contains("no_live_grant"), "{err}");
    let (ok, out, _) = world.medkey(&alice, &["grants", "--json"]).await;
    assert!(ok);
    assert_eq!(
        (json_of(&out)[0]["state"].as_str(), json_of(&out)[0]["chain_live"].as_bool()),
        (Some("revoked"), Some(false))
    );

    // The audit log tells the story, and verifies.
    let (ok, out, err) = world.medkey(&alice, &["audit", "log", "--json"]).await;
    assert!(ok, "{err}");
    let kinds: Vec<String> =
        json_of(&out).as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().into()).collect();
    for kind in ["record_created", "grant_relayed", "key_released", "key_denied", "revoke_relayed"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    let state = tempfile::tempdir().unwrap();
    let (ok, out, err) =
        world.medkey(&alice, &["audit", "verify", "--state-dir", state.path().to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");

    // Bad input is refused precisely, before anything is sent.
    let (ok, _, err) =
        world.medkey(&alice, &["grant", "--provider", &provider, "--categories", "x-rays", "--until", &tomorrow]).await;
    assert!(!ok && err.contains("unknown category 'x-rays' (one of: lab_results,"), "{err}");
    let (ok, _, err) = world.medkey(&alice, &["show", "not-an-id"]).await;
    assert!(!ok && err.contains("not a record id"), "{err}");
    world.db.cleanup().await;
}
in_every_setup!(a_patient_shares_a_lab_result_and_revokes);

/// Break-glass: refused before the patient opts in; after opt-in (keys wrapped for the named
/// emergency department) the provider opens a 4-hour grant and reads the allergy, not the
/// prescription; the patient sees it in her audit log.
async fn emergency_access_after_opt_in(setup: Setup) {
    let world = World::start(setup).await;
    let (alice, er) = (world.chain.keys[1].clone(), world.chain.keys[4].clone());
    world.register(&er).await;
    let (ok, out, err) =
        world.medkey(&alice, &["upload", fixture("AllergyIntolerance-example.json").to_str().unwrap(), "--json"]).await;
    assert!(ok, "{err}");
    let allergy = json_of(&out)[0]["record_id"].as_str().unwrap().to_owned();
    let (ok, out, err) = world
        .medkey(&alice, &["upload", fixture("MedicationRequest-medrx0302.json").to_str().unwrap(), "--json"])
        .await;
    assert!(ok, "{err}");
    let prescription = json_of(&out)[0]["record_id"].as_str().unwrap().to_owned();
    let patient = alice.address().to_string();
    let reason = "unconscious in the emergency department, allergy check";

    let (ok, _, err) = world.medkey(&er, &["provider", "emergency", "--patient", &patient, "--reason", reason]).await;
    assert!(!ok && err.contains("refused emergency access"), "{err}");

    let er_address = er.address().to_string();
    let (ok, out, err) =
        world.medkey(&alice, &["emergency", "opt-in", "--categories", "allergies", "--providers", &er_address]).await;
    assert!(ok, "{err}");
    assert!(out.contains("1 record(s) wrapped"), "{out}");
    let (ok, out, _) = world.medkey(&alice, &["emergency", "status", "--json"]).await;
    assert!(ok, "{out}");
    assert_eq!(json_of(&out)["categories"], serde_json::json!(["allergies"]), "{out}");
    let (ok, out, _) = world.medkey(&alice, &["emergency", "status"]).await;
    assert!(ok && out.lines().next() == Some("allergies"), "{out}");
    assert!(out.contains(&format!("provider {}", er.address())), "{out}");
    // An allergy recorded after the opt-in is wrapped for the emergency department as well.
    let (ok, out, err) =
        world.medkey(&alice, &["upload", fixture("AllergyIntolerance-example.json").to_str().unwrap(), "--json"]).await;
    assert!(ok, "{err}");
    let later_allergy = json_of(&out)[0]["record_id"].as_str().unwrap().to_owned();

    let (ok, out, err) =
        world.medkey(&er, &["provider", "emergency", "--patient", &patient, "--reason", reason, "--json"]).await;
    assert!(ok, "{err}");
    let opened = json_of(&out);
    assert_eq!(opened["reason_hash"], serde_json::json!(alloy::primitives::keccak256(reason)));
    world.wait_for_mirror(world.chain.head().await).await;
    let (ok, out, err) = world.medkey(&er, &["provider", "fetch", &allergy]).await;
    assert!(ok && err.contains("(emergency access)") && err.contains("ETREAT"), "{err}");
    assert_eq!(json_of(&out), read_json(&fixture("AllergyIntolerance-example.json")));
    let (ok, out, err) = world.medkey(&er, &["provider", "fetch", &later_allergy]).await;
    assert!(ok && err.contains("(emergency access)"), "{err}");
    assert_eq!(json_of(&out), read_json(&fixture("AllergyIntolerance-example.json")));
    let (ok, _, err) = world.medkey(&er, &["provider", "fetch", &prescription]).await;
    assert!(!ok && err.contains("no_live_grant"), "{err}");

    let (ok, out, err) = world.medkey(&alice, &["audit", "log", "--json", "--provider", &er_address]).await;
    assert!(ok, "{err}");
    let outcomes: Vec<(String, String)> = json_of(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().into(), e["outcome"].as_str().unwrap().into()))
        .collect();
    assert!(outcomes.contains(&("key_released".into(), "ok".into())), "{outcomes:?}");
    assert!(outcomes.contains(&("key_denied".into(), "no_live_grant".into())), "{outcomes:?}");
    world.db.cleanup().await;
}
in_every_setup!(emergency_access_after_opt_in);

/// A provider asks; the patient sees the request with its note, approves (a grant she signs,
/// relayed), and the provider reads; a second request is declined.
async fn an_access_request_becomes_the_patients_own_grant(setup: Setup) {
    let world = World::start(setup).await;
    let (alice, clinic) = (world.chain.keys[1].clone(), world.chain.keys[3].clone());
    world.register(&clinic).await;
    let (ok, out, err) =
        world.medkey(&alice, &["upload", fixture("Immunization-example.json").to_str().unwrap(), "--json"]).await;
    assert!(ok, "{err}");
    let record = json_of(&out)[0]["record_id"].as_str().unwrap().to_owned();
    let patient = alice.address().to_string();
    let ask = [
        "provider",
        "request",
        "--patient",
        &patient,
        "--categories",
        "immunizations",
        "--for",
        "7d",
        "--note",
        "travel clinic check",
        "--json",
    ];
    let (ok, out, err) = world.medkey(&clinic, &ask).await;
    assert!(ok, "{err}");
    let id = json_of(&out)["id"].as_str().unwrap().to_owned();

    let (ok, out, err) = world.medkey(&alice, &["requests"]).await;
    assert!(ok && out.contains(&id) && out.contains("travel clinic check") && out.contains("pending"), "{out}{err}");
    let (ok, out, err) = world.medkey(&alice, &["requests", "approve", &id, "--json"]).await;
    assert!(ok, "{err}");
    let approved = json_of(&out);
    assert_eq!(
        (approved["status"].as_str(), approved["records_shared"].as_u64()),
        (Some("approved"), Some(1)),
        "{out}"
    );
    let (ok, out, err) = world.medkey(&clinic, &["provider", "fetch", &record]).await;
    assert!(ok, "{err}");
    assert_eq!(json_of(&out), read_json(&fixture("Immunization-example.json")));
    let (ok, out, _) = world.medkey(&clinic, &["requests", "list", "--status", "approved", "--json"]).await;
    assert!(ok && json_of(&out)[0]["grant_id"].is_string(), "{out}");

    let (ok, out, err) = world.medkey(&clinic, &ask).await;
    assert!(ok, "{err}");
    let second = json_of(&out)["id"].as_str().unwrap().to_owned();
    let (ok, _, err) = world.medkey(&alice, &["requests", "decline", &second]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = world.medkey(&alice, &["requests", "approve", &second]).await;
    assert!(!ok && err.contains("no pending request"), "{err}");
    world.db.cleanup().await;
}
in_every_setup!(an_access_request_becomes_the_patients_own_grant);

/// A write grant: the clinic adds a lab result to the patient's file, encrypted on its side for
/// itself and for the patient (to the key she signed), and she reads it; a category outside the
/// grant, a provider without write access and a key the patient did not sign are all refused.
async fn a_write_grant_lets_a_provider_add_records(setup: Setup) {
    let world = World::start(setup).await;
    let (alice, lab, clinic) = (world.chain.keys[1].clone(), world.chain.keys[3].clone(), world.chain.keys[4].clone());
    world.register(&lab).await;
    world.register(&clinic).await;
    let tomorrow = time::OffsetDateTime::now_utc().date().next_day().unwrap().to_string();
    let (clinic_text, lab_text) = (clinic.address().to_string(), lab.address().to_string());
    let write = ["grant", "--provider", &clinic_text, "--categories", "lab_results", "--until", &tomorrow, "--write"];
    let (ok, _, err) = world.medkey(&alice, &write).await;
    assert!(ok, "{err}");
    let read = ["grant", "--provider", &lab_text, "--categories", "lab_results", "--until", &tomorrow];
    let (ok, _, err) = world.medkey(&alice, &read).await;
    assert!(ok, "{err}");

    let patient = alice.address().to_string();
    let result = fixture("Observation-bloodgroup.json");
    let (ok, out, err) =
        world.medkey(&clinic, &["provider", "add", "--patient", &patient, result.to_str().unwrap(), "--json"]).await;
    assert!(ok, "{err}");
    let added = json_of(&out)[0].clone();
    let owner: alloy::primitives::Address = added["owner"].as_str().unwrap().parse().unwrap();
    assert_eq!((owner, added["category"].as_str()), (alice.address(), Some("lab_results")));
    let id = added["record_id"].as_str().unwrap().to_owned();

    // The patient owns and reads it; the lab, granted lab_results, gets it wrapped by the clinic.
    let (ok, out, err) = world.medkey(&alice, &["show", &id]).await;
    assert!(ok, "{err}");
    assert_eq!(json_of(&out), read_json(&result));
    let (ok, out, err) = world.medkey(&lab, &["provider", "fetch", &id]).await;
    assert!(ok, "{err}");
    assert_eq!(json_of(&out), read_json(&result));

    // A Patient record the clinic writes for her never names her to other providers: her name
    // comes from her own Patient record only.
    let impostor = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(impostor.path(), r#"{"resourceType":"Patient","name":[{"text":"Mallory Impostor"}]}"#).unwrap();
    let add =
        ["provider", "add", "--patient", &patient, impostor.path().to_str().unwrap(), "--category", "lab_results"];
    let (ok, _, err) = world.medkey(&clinic, &add).await;
    assert!(ok, "{err}");
    let (ok, out, err) = world.medkey(&lab, &["provider", "patients", "--names"]).await;
    assert!(ok && out.contains(&patient) && !out.contains("Mallory"), "{out}{err}");

    let prescription = fixture("MedicationRequest-medrx0302.json");
    let (ok, _, err) =
        world.medkey(&clinic, &["provider", "add", "--patient", &patient, prescription.to_str().unwrap()]).await;
    assert!(!ok && err.contains("no_live_grant"), "outside the write grant: {err}");
    let (ok, _, err) = world.medkey(&lab, &["provider", "add", "--patient", &patient, result.to_str().unwrap()]).await;
    assert!(!ok && err.contains("no_live_grant"), "a read grant does not write: {err}");

    // A key in the vault that the patient did not sign is never used.
    let bob = world.chain.keys[2].address();
    let database = world.database().await;
    let pool = database.pool();
    sqlx::query("INSERT INTO account_keys (address, encryption_key, signature, updated_at_ms) VALUES ($1, $2, $3, 0)")
        .bind(bob.to_vec())
        .bind(vec![9u8; 32])
        .bind(vec![1u8; 65])
        .execute(pool)
        .await
        .unwrap();
    let bob_text = bob.to_string();
    let (ok, _, err) =
        world.medkey(&clinic, &["provider", "add", "--patient", &bob_text, result.to_str().unwrap()]).await;
    assert!(!ok && err.contains("did not sign"), "{err}");
    world.db.cleanup().await;
}
in_every_setup!(a_write_grant_lets_a_provider_add_records);

/// A grant until tomorrow, and the chain's clock moved two days on: the vault refuses the lab
/// and the chain says the grant is no longer live.
async fn an_expired_grant_releases_nothing(setup: Setup) {
    let world = World::start(setup).await;
    let (alice, lab) = (world.chain.keys[1].clone(), world.chain.keys[3].clone());
    world.register(&lab).await;
    let (ok, out, err) =
        world.medkey(&alice, &["upload", fixture("Observation-bloodgroup.json").to_str().unwrap(), "--json"]).await;
    assert!(ok, "{err}");
    let id = json_of(&out)[0]["record_id"].as_str().unwrap().to_owned();
    let tomorrow = time::OffsetDateTime::now_utc().date().next_day().unwrap().to_string();
    let lab_text = lab.address().to_string();
    let grant = ["grant", "--provider", &lab_text, "--categories", "lab_results", "--until", &tomorrow];
    let (ok, _, err) = world.medkey(&alice, &grant).await;
    assert!(ok, "{err}");
    let (ok, _, err) = world.medkey(&lab, &["provider", "fetch", &id]).await;
    assert!(ok, "{err}");

    let _: Value = world.chain.provider.raw_request("evm_increaseTime".into(), (2 * 86_400u64,)).await.unwrap();
    world.chain.mine(1).await;
    world.wait_for_mirror(world.chain.head().await).await;
    let (ok, _, err) = world.medkey(&lab, &["provider", "fetch", &id]).await;
    assert!(!ok && err.contains("no_live_grant"), "{err}");
    let (ok, out, _) = world.medkey(&alice, &["grants", "--json"]).await;
    assert!(ok);
    assert_eq!(json_of(&out)[0]["chain_live"], false, "{out}");
    world.db.cleanup().await;
}
in_every_setup!(an_expired_grant_releases_nothing);

/// An account in an encrypted keystore: created with a passphrase, never overwritten silently,
/// unlocked only with the right passphrase, and used by the commands without a raw key.
async fn a_keystore_account_signs_in_without_a_raw_key(setup: Setup) {
    let world = World::start(setup).await;
    let home = tempfile::tempdir().unwrap();
    let home_text = home.path().display().to_string();
    let env_run = |args: Vec<String>, passphrase: &'static str| {
        let home = home_text.clone();
        async move {
            let output = tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                medkey_e2e::medkey(&args, &[("MEDKEY_HOME", &home), ("MEDKEY_PASSPHRASE", passphrase)])
            })
            .await
            .unwrap();
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (output.status.success(), text(&output.stdout), text(&output.stderr))
        }
    };
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for weak in ["", "password1"] {
        let (ok, _, err) = env_run(args(&["keys", "new"]), weak).await;
        assert!(!ok && err.contains("passphrase"), "{weak:?} accepted: {err}");
    }
    assert!(!home.path().join("keystore.json").exists(), "nothing written for a refused passphrase");
    let (ok, out, err) = env_run(args(&["keys", "new", "--json"]), "correct horse battery").await;
    assert!(ok, "{err}");
    let created = json_of(&out);
    assert!(created.get("private_key").is_none(), "never printed unless asked: {out}");
    let keystore = std::fs::read_to_string(home.path().join("keystore.json")).unwrap();
    assert!(keystore.contains("scrypt") && keystore.contains("\"n\":262144"), "geth's standard cost: {keystore}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(home.path().join("keystore.json")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    let (ok, _, err) = env_run(args(&["keys", "new"]), "correct horse battery").await;
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = env_run(args(&["keys", "show"]), "wrong passphrase").await;
    assert!(!ok && err.contains("wrong passphrase"), "{err}");
    let (ok, out, err) =
        env_run(args(&["keys", "show", "--json", "--reveal-private-key"]), "correct horse battery").await;
    assert!(ok, "{err}");
    let shown = json_of(&out);
    assert_eq!(shown["address"], created["address"]);
    let signer: PrivateKeySigner = shown["private_key"].as_str().unwrap().parse().unwrap();
    assert_eq!(signer.address(), created["address"].as_str().unwrap().parse::<alloy::primitives::Address>().unwrap());

    // The keystore account uploads and verifies its audit trail.
    let (rpc, dir) = (world.chain.rpc_url(), world.deployments.path().display().to_string());
    let connect =
        ["--vault", world.vault_url.as_str(), "--siwe-domain", DOMAIN, "--rpc-url", &rpc, "--deployments-dir", &dir];
    let fixture_path = fixture("Condition-f201.json");
    let upload = [&["upload", fixture_path.to_str().unwrap()][..], &connect[..]].concat();
    let (ok, _, err) = env_run(args(&upload), "correct horse battery").await;
    assert!(ok, "{err}");
    let state = home.path().join("audit");
    let verify = [&["audit", "verify", "--state-dir", state.to_str().unwrap()][..], &connect[..]].concat();
    let (ok, out, err) = env_run(args(&verify), "correct horse battery").await;
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("entries about {}", signer.address())), "{out}");

    // The session is kept (0600, in the medkey home) and reused: three commands, one sign-in.
    let list = [&["records", "--json"][..], &connect[..]].concat();
    assert!(env_run(args(&list), "correct horse battery").await.0);
    let sessions: Vec<_> =
        std::fs::read_dir(home.path().join("sessions")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&sessions[0]).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let log = [&["audit", "log", "--json"][..], &connect[..]].concat();
    let (ok, out, err) = env_run(args(&log), "correct horse battery").await;
    assert!(ok, "{err}");
    let logins = json_of(&out).as_array().unwrap().iter().filter(|e| e["kind"] == "login").count();
    assert_eq!(logins, 1, "one sign-in for four commands: {out}");
    // A session the vault no longer honours (here: a made-up token) just means a new sign-in.
    let mut kept = read_json(&sessions[0]);
    kept["access_token"] = "e30.e30.AAAA".into();
    kept["refresh_token"] = "spent".into();
    std::fs::write(&sessions[0], kept.to_string()).unwrap();
    assert!(env_run(args(&list), "correct horse battery").await.0);
    world.db.cleanup().await;
}
in_every_setup!(a_keystore_account_signs_in_without_a_raw_key);
