//! `medkey admin` and `medkey chain events` (the real binary) against a real anvil: providers
//! registered, suspended and reinstated as the chain sees it, a key without the role refused
//! with the registry's own error and nothing changed, pause stopping grants, the audit anchor
//! forced from a running vault (once per size), and the registry's events listed per patient.

use std::path::Path;
use std::process::Output;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::scenario::AuditedWorld;
use medkey_e2e::vault::{DOMAIN, TestVault};
use medkey_protocol::ConsentRegistry::ConsentRegistryErrors;
use medkey_protocol::{Category, Deployment};
use serde_json::Value;

/// Runs the real `medkey` off the runtime (a vault may be serving on it), with
/// `MEDKEY_PRIVATE_KEY` set when `key` is given.
async fn medkey(args: &[&str], key: Option<&alloy::signers::local::PrivateKeySigner>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let key = key.map(|k| alloy::hex::encode_prefixed(k.to_bytes()));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = key.as_deref().map(|k| vec![("MEDKEY_PRIVATE_KEY", k)]).unwrap_or_default();
        medkey_e2e::medkey(&args, &env)
    })
    .await
    .unwrap()
}

fn streams(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Asserts success and returns stdout.
fn ok(output: Output) -> String {
    let (stdout, stderr) = streams(&output);
    assert!(output.status.success(), "medkey failed ({:?}):\n{stdout}\n{stderr}", output.status.code());
    stdout
}

/// Asserts exit code 1 and returns stdout + stderr.
fn refused(output: Output) -> String {
    let (stdout, stderr) = streams(&output);
    assert_eq!(output.status.code(), Some(1), "expected exit code 1:\n{stdout}\n{stderr}");
    stdout + &stderr
}

/// `--rpc-url` and `--registry` for `chain`.
fn on(chain: &TestChain) -> Vec<String> {
    vec!["--rpc-url".into(), chain.rpc_url(), "--registry".into(), chain.registry.to_string()]
}

fn with<'a>(args: &[&'a str], extra: &'a [String]) -> Vec<&'a str> {
    args.iter().copied().chain(extra.iter().map(String::as_str)).collect()
}

/// A deployment file for `chain` in `dir`, so commands find the registry without `--registry`.
fn write_deployment(chain: &TestChain, dir: &Path) {
    Deployment {
        chain_id: chain.chain_id(),
        contract: "ConsentRegistry".into(),
        address: chain.registry,
        deploy_block: chain.deploy_block,
        tx_hash: B256::ZERO,
        abi_hash: medkey_protocol::bindings::abi_hash(),
        deployer: chain.admin(),
        admin: chain.admin(),
        audit_key: None,
    }
    .save(dir)
    .unwrap();
}

/// (status, encryption key) as the registry holds them: 0 none, 1 active, 2 suspended.
async fn provider_on_chain(chain: &TestChain, provider: Address) -> (u8, B256) {
    let p = chain.registry().getProvider(provider).call().await.unwrap();
    (p.status, p.encryptionKey)
}

fn json_line(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|err| panic!("not one JSON object ({err}):\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_registered_suspended_and_reinstated_on_chain() {
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_deployment(&chain, dir.path());
    // The vault keeps the words of suspension and reinstatement reasons (their hash goes on chain).
    let db = TestDb::new(Backend::Sqlite).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    let vault = TestVault::start(&indexer).await;
    let admin = chain.keys[0].clone();
    let (rpc, deployments) = (chain.rpc_url(), dir.path().display().to_string());
    let target = [
        "--rpc-url".to_owned(),
        rpc,
        "--deployments-dir".to_owned(),
        deployments,
        "--vault".to_owned(),
        vault.url.clone(),
        "--siwe-domain".to_owned(),
        DOMAIN.to_owned(),
    ];
    let lab = chain.provider_account(0);
    let lab_text = lab.to_string();
    let key = format!("0x{}", "ab".repeat(32));
    let profile = format!("0x{}", "cd".repeat(31));
    let reason = "Licence under review";

    // Not registered yet.
    let shown = json_line(&ok(medkey(&with(&["admin", "provider", "show", &lab_text, "--json"], &target), None).await));
    assert_eq!((shown["registered"].as_bool(), shown["suspended"].as_bool()), (Some(false), Some(false)), "{shown}");
    assert!(shown["encryption_key"].is_null(), "{shown}");

    let out = ok(medkey(
        &with(
            &[
                "admin",
                "provider",
                "register",
                &lab_text,
                "--encryption-key",
                &key,
                "--profile-hash",
                &profile,
                "--json",
            ],
            &target,
        ),
        Some(&admin),
    )
    .await);
    let sent = json_line(&out);
    assert_eq!(sent["action"], "provider_register");
    let tx: B256 = sent["tx_hash"].as_str().unwrap().parse().unwrap();
    let receipt = chain.provider.get_transaction_receipt(tx).await.unwrap().expect("the transaction is mined");
    assert!(receipt.status());
    assert_eq!(sent["block"].as_u64(), receipt.block_number, "{sent}");
    assert_eq!(provider_on_chain(&chain, lab).await, (1, B256::repeat_byte(0xab)));

    let shown = ok(medkey(&with(&["admin", "provider", "show", &lab_text], &target), None).await);
    assert!(shown.contains("active") && shown.contains(&"ab".repeat(32)), "{shown}");

    // A live grant to the lab stops being live while it is suspended.
    let patient = chain.patient(0);
    let grant = chain.grant(patient, chain.request(lab, &[Category::LabResults]).await).await;
    let can_access = || async { chain.registry().canAccess(grant, patient, lab, 0).call().await.unwrap() };
    let is_live = || async { chain.registry().isLive(grant).call().await.unwrap() };
    assert!(can_access().await && is_live().await);

    let out =
        ok(medkey(&with(&["admin", "provider", "suspend", &lab_text, "--reason", reason], &target), Some(&admin))
            .await);
    assert!(out.contains("suspended") && out.contains("tx 0x") && out.contains("block"), "{out}");
    assert_eq!(provider_on_chain(&chain, lab).await.0, 2);
    assert!(!can_access().await && !is_live().await, "a suspended provider's grant is not live");
    let shown = json_line(&ok(medkey(&with(&["admin", "provider", "show", &lab_text, "--json"], &target), None).await));
    assert_eq!((shown["registered"].as_bool(), shown["suspended"].as_bool()), (Some(true), Some(true)), "{shown}");

    // Suspending twice is refused by the registry, decoded.
    let text = refused(
        medkey(&with(&["admin", "provider", "suspend", &lab_text, "--reason", reason], &target), Some(&admin)).await,
    );
    assert!(text.contains("ProviderNotActive") && text.contains("hint:"), "{text}");

    let out = ok(medkey(
        &with(&["admin", "provider", "reinstate", &lab_text, "--reason", "Licence confirmed", "--json"], &target),
        Some(&admin),
    )
    .await);
    assert_eq!(json_line(&out)["action"], "provider_reinstate");
    assert_eq!(provider_on_chain(&chain, lab).await.0, 1);
    assert!(can_access().await && is_live().await, "reinstated: live again");

    let text = refused(
        medkey(
            &with(&["admin", "provider", "reinstate", &lab_text, "--reason", "Licence confirmed"], &target),
            Some(&admin),
        )
        .await,
    );
    assert!(text.contains("ProviderNotSuspended"), "{text}");
    let text = refused(
        medkey(
            &with(
                &["admin", "provider", "register", &lab_text, "--encryption-key", &key, "--profile-hash", &profile],
                &target,
            ),
            Some(&admin),
        )
        .await,
    );
    assert!(text.contains("ProviderAlreadyRegistered"), "{text}");
    let text = refused(
        medkey(
            &with(
                &["admin", "provider", "suspend", &chain.provider_account(2).to_string(), "--reason", reason],
                &target,
            ),
            Some(&admin),
        )
        .await,
    );
    assert!(text.contains("ProviderNotActive"), "{text}");

    // A malformed key never reaches the chain (usage error).
    let bad = medkey(
        &with(
            &["admin", "provider", "register", &lab_text, "--encryption-key", "0x1234", "--profile-hash", &profile],
            &target,
        ),
        None,
    )
    .await;
    assert_eq!(bad.status.code(), Some(2), "{:?}", streams(&bad));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_without_the_role_is_refused_with_the_registry_error_and_nothing_changes() {
    let chain = TestChain::start().await;
    let target = on(&chain);
    let outsider = chain.keys[1].clone();
    let clinic = chain.provider_account(1);
    let clinic_text = clinic.to_string();
    let key = format!("0x{}", "cd".repeat(32));
    let profile = format!("0x{}", "ef".repeat(31));
    let before = chain.head().await;

    let text = refused(
        medkey(
            &with(
                &["admin", "provider", "register", &clinic_text, "--encryption-key", &key, "--profile-hash", &profile],
                &target,
            ),
            Some(&outsider),
        )
        .await,
    );
    assert!(text.contains("AccessControlUnauthorizedAccount"), "{text}");
    assert!(text.contains("REGISTRAR_ROLE") && text.contains(&outsider.address().to_string()), "{text}");
    assert!(text.contains("hint:"), "{text}");
    assert_eq!(provider_on_chain(&chain, clinic).await, (0, B256::ZERO), "nothing registered");

    // --json: the refusal as JSON on stdout too, still exit code 1.
    let output = medkey(
        &with(
            &[
                "admin",
                "provider",
                "register",
                &clinic_text,
                "--encryption-key",
                &key,
                "--profile-hash",
                &profile,
                "--json",
            ],
            &target,
        ),
        Some(&outsider),
    )
    .await;
    let (stdout, _) = streams(&output);
    assert_eq!(output.status.code(), Some(1));
    let answer = json_line(&stdout);
    assert_eq!(
        (answer["ok"].as_bool(), answer["error"].as_str()),
        (Some(false), Some("AccessControlUnauthorizedAccount"))
    );

    let text = refused(medkey(&with(&["admin", "pause"], &target), Some(&outsider)).await);
    assert!(text.contains("AccessControlUnauthorizedAccount") && text.contains("PAUSER_ROLE"), "{text}");
    assert!(!chain.registry().paused().call().await.unwrap());

    // The registered provider cannot be suspended by the outsider either.
    chain.register_provider(clinic).await;
    let text = refused(
        medkey(&with(&["admin", "provider", "suspend", &clinic_text, "--reason", "no role"], &target), Some(&outsider))
            .await,
    );
    assert!(text.contains("AccessControlUnauthorizedAccount"), "{text}");
    assert_eq!(provider_on_chain(&chain, clinic).await.0, 1, "still active");

    // Refusals are simulated, never sent: the outsider sent no transaction at all.
    let nonce = chain.provider.get_transaction_count(outsider.address()).await.unwrap();
    assert_eq!(nonce, 0, "a refused command must not send a transaction");
    assert_eq!(chain.head().await, before + 1, "only the test's own registration was mined");

    // No key at all: a clear message, not a prompt.
    let output = medkey(&with(&["admin", "pause", "--keystore", "/nonexistent/keystore.json"], &target), None).await;
    let text = refused(output);
    assert!(text.contains("no account"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_new_grants_until_unpause() {
    let chain = TestChain::start().await;
    let target = on(&chain);
    let admin = chain.keys[0].clone();
    let lab = chain.provider_account(0);
    chain.register_provider(lab).await;
    let patient = chain.patient(0);
    let earlier = chain.grant(patient, chain.request(lab, &[Category::Vitals]).await).await;

    let out = json_line(&ok(medkey(&with(&["admin", "pause", "--json"], &target), Some(&admin)).await));
    assert_eq!((out["action"].as_str(), out["paused"].as_bool()), (Some("pause"), Some(true)), "{out}");
    assert!(chain.registry().paused().call().await.unwrap());

    let request = chain.request(lab, &[Category::Vitals]).await;
    let err = chain.registry().grant(request.clone()).from(patient).call().await.expect_err("paused: no new grants");
    assert!(
        matches!(
            err.as_decoded_interface_error::<ConsentRegistryErrors>(),
            Some(ConsentRegistryErrors::EnforcedPause(_))
        ),
        "{err}"
    );
    // Revocation still works while paused.
    chain.revoke(patient, earlier).await;

    let text = refused(medkey(&with(&["admin", "pause"], &target), Some(&admin)).await);
    assert!(text.contains("EnforcedPause"), "{text}");

    let out = ok(medkey(&with(&["admin", "unpause"], &target), Some(&admin)).await);
    assert!(out.contains("unpaused") && out.contains("tx 0x"), "{out}");
    assert!(!chain.registry().paused().call().await.unwrap());
    chain.grant(patient, request).await;

    let text = refused(medkey(&with(&["admin", "unpause"], &target), Some(&admin)).await);
    assert!(text.contains("ExpectedPause"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_events_lists_exactly_a_patients_grant_and_revocation() {
    let chain = TestChain::start().await;
    let target = on(&chain);
    let (lab, clinic) = (chain.provider_account(0), chain.provider_account(1));
    chain.register_provider(lab).await;
    chain.register_provider(clinic).await;
    let (alice, bob) = (chain.patient(0), chain.patient(1));
    let request = chain.request(lab, &[Category::LabResults, Category::Imaging]).await;
    let grant = chain.grant(alice, request.clone()).await;
    let noise = chain.grant(bob, chain.request(lab, &[Category::Vitals]).await).await;
    chain.grant(bob, chain.request(clinic, &[Category::Genetics]).await).await;
    chain.revoke(alice, grant).await;
    chain.empty_block().await;

    let alice_text = alice.to_string();
    let table = ok(medkey(&with(&["chain", "events", "--patient", &alice_text], &target), None).await);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two events:\n{table}");
    assert!(lines[0].starts_with("BLOCK") && lines[0].contains("TIME (UTC)") && lines[0].contains("EVENT"), "{table}");
    assert!(lines[1].contains("GrantCreated") && lines[2].contains("GrantRevoked"), "{table}");
    for line in &lines[1..] {
        assert!(line.contains(&format!("grant_id={grant}")), "{line}");
        assert!(line.contains(&format!("patient={alice}")) && line.contains(&format!("provider={lab}")), "{line}");
    }
    assert!(lines[1].contains("categories=lab_results,imaging") && lines[1].contains("purpose=TREAT"), "{table}");
    assert!(lines[1].contains("write=false") && lines[1].contains("expires_at=20"), "{table}");
    assert!(!table.contains(&noise.to_string()), "bob's grant is not alice's:\n{table}");

    let json_out = ok(medkey(&with(&["chain", "events", "--patient", &alice_text, "--json"], &target), None).await);
    let events: Vec<Value> =
        json_out.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(events.len(), 2, "{json_out}");
    let (created, revoked) = (&events[0], &events[1]);
    assert_eq!((created["event"].as_str(), revoked["event"].as_str()), (Some("GrantCreated"), Some("GrantRevoked")));
    for event in &events {
        assert_eq!(event["fields"]["grant_id"].as_str(), Some(grant.to_string().as_str()), "{event}");
        assert_eq!(event["fields"]["patient"].as_str(), Some(alice.to_checksum(None).as_str()), "{event}");
        assert_eq!(event["fields"]["provider"].as_str(), Some(lab.to_checksum(None).as_str()), "{event}");
        // The block's own timestamp, as RFC 3339 UTC; and the transaction that emitted it.
        let number = event["block"].as_u64().unwrap();
        let block = chain.provider.get_block_by_number(BlockNumberOrTag::Number(number)).await.unwrap().unwrap();
        assert_eq!(event["timestamp"].as_u64(), Some(block.header.timestamp), "{event}");
        assert!(event["time"].as_str().unwrap().ends_with('Z'), "{event}");
        let tx: B256 = event["tx_hash"].as_str().unwrap().parse().unwrap();
        let receipt = chain.provider.get_transaction_receipt(tx).await.unwrap().unwrap();
        assert_eq!(receipt.block_number, Some(number));
    }
    let fields = &created["fields"];
    assert_eq!(fields["categories"], serde_json::json!(["lab_results", "imaging"]));
    assert_eq!(fields["category_mask"].as_u64(), Some(u64::from(request.categories)));
    assert_eq!(fields["purpose"], "TREAT");
    assert_eq!(fields["write"], false);
    assert_eq!(fields["records_root"].as_str(), Some(B256::repeat_byte(0x42).to_string().as_str()));
    let expires = time_of(fields["expires_at"].as_str().unwrap());
    assert_eq!(expires, u64::from(request.expiresAt), "{fields}");
    assert!(created["block"].as_u64() < revoked["block"].as_u64());

    // Reading one block per request gives the same answer.
    let chunked =
        ok(medkey(&with(&["chain", "events", "--patient", &alice_text, "--json", "--chunk-size", "1"], &target), None)
            .await);
    assert_eq!(chunked, json_out);

    // By grant: the same two events. By provider: its registration and every grant to it.
    let by_grant =
        ok(medkey(&with(&["chain", "events", "--grant", &grant.to_string(), "--json"], &target), None).await);
    assert_eq!(by_grant, json_out);
    let by_lab = ok(medkey(&with(&["chain", "events", "--provider", &lab.to_string(), "--json"], &target), None).await);
    let names: Vec<String> = by_lab.lines().map(|l| json_line(l)["event"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["ProviderRegistered", "GrantCreated", "GrantCreated", "GrantRevoked"], "{by_lab}");
    let both = ok(medkey(
        &with(&["chain", "events", "--provider", &lab.to_string(), "--patient", &bob.to_string(), "--json"], &target),
        None,
    )
    .await);
    assert_eq!(both.lines().count(), 1, "bob's one grant to the lab:\n{both}");
    assert!(both.contains(&noise.to_string()));

    // Everything, unfiltered, includes the deployment's role grants; a range narrows it.
    let all = ok(medkey(&with(&["chain", "events", "--json"], &target), None).await);
    assert!(all.lines().any(|l| json_line(l)["event"] == "RoleGranted"), "{all}");
    let from = created["block"].as_u64().unwrap().to_string();
    let to = created["block"].as_u64().unwrap().to_string();
    let one =
        ok(medkey(&with(&["chain", "events", "--from-block", &from, "--to-block", &to, "--json"], &target), None)
            .await);
    assert_eq!(one.lines().count(), 1, "{one}");
    let nothing =
        ok(medkey(&with(&["chain", "events", "--patient", &Address::repeat_byte(7).to_string()], &target), None).await);
    assert!(nothing.contains("no matching registry events"), "{nothing}");
    let text = refused(medkey(&with(&["chain", "events", "--to-block", "99999999"], &target), None).await);
    assert!(text.contains("past the chain's head"), "{text}");
}

fn time_of(rfc3339: &str) -> u64 {
    // The CLI prints whole seconds in UTC: YYYY-MM-DDTHH:MM:SSZ.
    let (date, clock) = rfc3339.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let t: Vec<i64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
    let (y, m) = if d[1] <= 2 { (d[0] - 1, d[1] + 9) } else { (d[0], d[1] - 3) };
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d[2] - 1 - 719_468;
    (days * 86_400 + t[0] * 3_600 + t[1] * 60 + t[2]) as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_anchor_anchors_the_vaults_signed_head_once_per_size() {
    let world = AuditedWorld::start(Backend::Sqlite).await;
    let (chain, vault) = (&world.chain, &world.vault);
    // Its own deployment file: the repository's deployments/ may be rewritten by other tests.
    let deployments = chain.deployments_dir();
    let mut target = on(chain);
    target.extend(["--deployments-dir".to_owned(), deployments.path().display().to_string()]);
    let admin = chain.keys[0].clone();
    assert_eq!(chain.registry().latestAuditAnchor().call().await.unwrap().size, 0);

    // A key the head is not signed with is refused before anything is sent.
    let wrong = "11".repeat(32);
    let text = refused(
        medkey(&with(&["admin", "anchor", "--vault", &vault.url, "--operator-key", &wrong], &target), Some(&admin))
            .await,
    );
    assert!(text.contains("refusing to anchor"), "{text}");
    assert_eq!(chain.registry().latestAuditAnchor().call().await.unwrap().size, 0);

    // Someone without OPERATOR_ROLE: the registry's error.
    let text = refused(medkey(&with(&["admin", "anchor", "--vault", &vault.url], &target), Some(&chain.keys[1])).await);
    assert!(text.contains("AccessControlUnauthorizedAccount") && text.contains("OPERATOR_ROLE"), "{text}");

    let out = ok(medkey(&with(&["admin", "anchor", "--vault", &vault.url, "--json"], &target), Some(&admin)).await);
    let anchored = json_line(&out);
    let (status, head) = vault.call("GET", "/v1/audit/tree-head", None, None).await;
    assert_eq!(status, 200, "{head}");
    let on_chain = chain.registry().latestAuditAnchor().call().await.unwrap();
    assert_eq!(on_chain.size, head["size"].as_u64().unwrap());
    assert!(on_chain.size >= 3, "the world holds at least three audit entries");
    assert_eq!(on_chain.root, head["root"].as_str().unwrap().parse::<B256>().unwrap());
    assert_eq!(anchored["size"].as_u64(), Some(on_chain.size), "{anchored}");
    assert_eq!(anchored["root"].as_str(), Some(on_chain.root.to_string().as_str()), "{anchored}");
    assert_eq!(anchored["previous_size"].as_u64(), Some(0), "{anchored}");

    // The same size again: refused, the chain keeps its anchor.
    let text = refused(medkey(&with(&["admin", "anchor", "--vault", &vault.url], &target), Some(&admin)).await);
    assert!(text.contains(&format!("already holds an anchor at size {}", on_chain.size)), "{text}");
    assert_eq!(chain.registry().latestAuditAnchor().call().await.unwrap(), on_chain);

    // The log grows: the next anchor is proven to extend the last one and lands.
    assert_eq!(vault.call("GET", &world.key_path, Some(&world.lab_token), None).await.0, 200);
    let grown = vault.call("GET", "/v1/audit/tree-head", None, None).await.1["size"].as_u64().unwrap();
    assert!(grown > on_chain.size);
    let out = ok(medkey(&with(&["admin", "anchor", "--vault", &vault.url], &target), Some(&admin)).await);
    let expected = format!("anchored audit log size {grown}");
    assert!(out.contains(&expected) && out.contains(&format!("extends size {}", on_chain.size)), "{out}");
    assert_eq!(chain.registry().latestAuditAnchor().call().await.unwrap().size, grown);

    // And it shows among the registry's events.
    let events = ok(medkey(&with(&["chain", "events", "--json"], &target), None).await);
    let anchors: Vec<Value> = events.lines().map(json_line).filter(|e| e["event"] == "AuditAnchored").collect();
    assert_eq!(anchors.len(), 2, "{events}");
    assert_eq!(anchors[1]["fields"]["size"].as_u64(), Some(grown));
    world.db.cleanup().await;
}
