//! `medkey audit verify` (the real binary) against a vault on a real chain: a clean log passes
//! every check, a later run extends the kept head, and an edited entry or a forked history is
//! reported precisely with exit code 1.

use std::time::Duration;

use alloy::primitives::B256;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::Backend;
use medkey_e2e::on_both_backends;
use medkey_e2e::scenario::AuditedWorld;
use medkey_e2e::vault::DOMAIN;
use medkey_vault::anchoring::Anchorer;

async fn verify(vault: &str, chain: &TestChain, state: &std::path::Path, key: &str) -> (bool, String) {
    let (rpc, registry, state) = (chain.rpc_url(), chain.registry.to_string(), state.display().to_string());
    // Its own deployment file: the repository's deployments/ may be rewritten by other tests.
    let deployments = chain.deployments_dir();
    let dir = deployments.path().display().to_string();
    let args =
        ["audit", "verify", "--vault", vault, "--rpc-url", &rpc, "--registry", &registry, "--deployments-dir", &dir];
    let (ok, stdout, stderr) =
        medkey(&[&args[..], &["--state-dir", &state, "--siwe-domain", DOMAIN]].concat(), key).await;
    (ok, stdout + &stderr)
}

async fn verify_json(vault: &str, chain: &TestChain, state: &std::path::Path, key: &str) -> (bool, String) {
    let (rpc, registry, state) = (chain.rpc_url(), chain.registry.to_string(), state.display().to_string());
    let deployments = chain.deployments_dir();
    let dir = deployments.path().display().to_string();
    let args = ["audit", "verify", "--json", "--vault", vault, "--rpc-url", &rpc, "--registry", &registry];
    let rest = ["--deployments-dir", &dir, "--state-dir", &state, "--siwe-domain", DOMAIN];
    let (ok, stdout, stderr) = medkey(&[&args[..], &rest[..]].concat(), key).await;
    (ok, if ok { stdout } else { stdout + &stderr })
}

/// Runs the real `medkey` with `MEDKEY_PRIVATE_KEY=key` off the runtime; (success, stdout, stderr).
async fn medkey(args: &[&str], key: &str) -> (bool, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let key = key.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        medkey_e2e::medkey(&args, &[("MEDKEY_PRIVATE_KEY", &key)])
    })
    .await
    .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), stdout.into_owned(), stderr.into_owned())
}

async fn audit_verify_passes_a_clean_log_and_names_what_was_tampered(backend: Backend) {
    let AuditedWorld { chain, db, indexer, vault, alice, clinic, lab_token, key_path, .. } =
        AuditedWorld::start(backend).await;
    let anchorer = Anchorer::new(
        &chain.rpc_url(),
        chain.keys[0].clone(),
        chain.registry,
        vault.state.audit.clone(),
        Duration::from_secs(30),
    )
    .unwrap();
    anchorer.anchor_now().await.unwrap().expect("anchored");

    let state = tempfile::tempdir().unwrap();
    let alice_key = alloy::hex::encode_prefixed(alice.to_bytes());
    let (ok, text) = verify(&vault.url, &chain, state.path(), &alice_key).await;
    assert!(ok, "{text}");
    for line in ["(pinned now)", "tree head signed", "same head as the head anchored on chain", "5 entries about"] {
        assert!(text.contains(line), "missing '{line}' in:\n{text}");
    }

    // The history as a table, and as FHIR AuditEvents filtered to one provider.
    let (deployments, rpc) = (chain.deployments_dir(), chain.rpc_url());
    let deployments_arg = deployments.path().display().to_string();
    let base = [
        "audit",
        "log",
        "--vault",
        vault.url.as_str(),
        "--siwe-domain",
        DOMAIN,
        "--rpc-url",
        &rpc,
        "--deployments-dir",
        &deployments_arg,
    ];
    let (ok, table, stderr) = medkey(&base, &alice_key).await;
    assert!(ok, "{stderr}");
    // alice's sign-in, her upload, the release, the denial, and one sign-in for these runs (the
    // CLI keeps its session between commands).
    assert!(table.starts_with("WHEN (UTC)") && table.lines().count() == 6, "{table}");
    assert_eq!(table.matches(" login ").count(), 2, "{table}");
    assert!(table.contains("key_denied") && table.contains("no_live_grant") && table.contains("TREAT"), "{table}");
    let clinic_only = clinic.address().to_string();
    let (ok, fhir, stderr) = medkey(&[&base[..], &["--fhir", "--provider", &clinic_only]].concat(), &alice_key).await;
    assert!(ok, "{stderr}");
    let bundle: serde_json::Value = serde_json::from_str(&fhir).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    let events = bundle["entry"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{fhir}");
    let event = &events[0]["resource"];
    assert_eq!((event["resourceType"].as_str(), event["outcome"].as_str()), (Some("AuditEvent"), Some("4")));
    assert!(event["agent"][0]["who"]["identifier"]["value"].as_str().unwrap().ends_with(&clinic_only));

    // Time filters are applied by the vault: nothing before 2000, everything since.
    let (ok, _, stderr) = medkey(&[&base[..], &["--until", "2000-01-01"]].concat(), &alice_key).await;
    assert!(ok && stderr.contains("0 entries"), "{stderr}");
    let (ok, _, stderr) = medkey(&[&base[..], &["--since", "2000-01-01"]].concat(), &alice_key).await;
    assert!(ok && stderr.contains("5 entries"), "{stderr}");
    let (ok, _, stderr) = medkey(&[&base[..], &["--since", "someday"]].concat(), &alice_key).await;
    assert!(!ok && stderr.contains("not a date"), "{stderr}");

    // More activity: the next run checks the new head extends the kept one.
    assert_eq!(vault.call("GET", &key_path, Some(&lab_token), None).await.0, 200);
    let (ok, text) = verify(&vault.url, &chain, state.path(), &alice_key).await;
    assert!(ok && text.contains("extends the last head this client saw (size 6)"), "{text}");
    assert!(text.contains("extends the head anchored on chain (size 6)"), "{text}");

    // The same checks as JSON lines, for scripts.
    let (ok, text) = verify_json(&vault.url, &chain, state.path(), &alice_key).await;
    assert!(ok, "{text}");
    let checks: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(checks.len() >= 4 && checks.iter().all(|c| c["ok"] == true), "{text}");

    // An entry edited in the database: the run fails and names it.
    let pool = indexer.store.pool();
    sqlx::query("UPDATE access_log SET outcome = 'ok' WHERE kind = 'key_denied'").execute(pool).await.unwrap();
    let (ok, text) = verify(&vault.url, &chain, state.path(), &alice_key).await;
    assert!(!ok && text.contains("FAIL  entry 5 (key_denied"), "{text}");
    sqlx::query("UPDATE access_log SET outcome = 'no_live_grant' WHERE kind = 'key_denied'")
        .execute(pool)
        .await
        .unwrap();

    // An entry this client verified before, deleted from the database (the running vault's tree
    // still holds it, so every head and proof stays valid): the run names what went missing.
    sqlx::query("DELETE FROM access_log WHERE kind = 'key_released'").execute(pool).await.unwrap();
    let (ok, text) = verify(&vault.url, &chain, state.path(), &alice_key).await;
    assert!(!ok && text.contains("verified on an earlier run no longer served"), "{text}");
    assert!(text.contains("(key_released at"), "{text}");

    // A history this client saw that the log does not extend (a fork): caught against the kept head.
    let file = std::fs::read_dir(state.path()).unwrap().next().unwrap().unwrap().path();
    let mut kept: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    kept["head"]["root"] = serde_json::json!(B256::repeat_byte(9));
    std::fs::write(&file, kept.to_string()).unwrap();
    let (ok, text) = verify(&vault.url, &chain, state.path(), &alice_key).await;
    assert!(!ok && text.contains("FAIL  consistency with the last head this client saw"), "{text}");
    assert!(text.contains("two different roots") || text.contains("rewritten or forked"), "{text}");

    // A vault that changes its operator key is refused against the pinned one.
    let other_state = tempfile::tempdir().unwrap();
    std::fs::write(
        other_state.path().join(file.file_name().unwrap()),
        serde_json::json!({"operator_key": "00".repeat(32), "head": kept["head"]}).to_string(),
    )
    .unwrap();
    let (ok, text) = verify(&vault.url, &chain, other_state.path(), &alice_key).await;
    assert!(!ok && text.contains("FAIL  operator key"), "{text}");
    db.cleanup().await;
}
on_both_backends!(audit_verify_passes_a_clean_log_and_names_what_was_tampered);
