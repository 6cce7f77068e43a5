//! The whole system through the real `medkey` binary: a patient uploads official FHIR R4
//! examples (a lab result and a prescription), grants a lab `lab_results` until tomorrow through
//! the gasless relay; the lab fetches and decrypts the lab result on its side but is refused the
//! prescription; the patient revokes and the lab is refused from the next block; the audit log
//! shows all of it and verifies. Each scenario runs against a vault in this process on SQLite
//! and PostgreSQL, and against the real `medkey serve` on PostgreSQL with Redis.

use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use medkey_e2e::chain::{TestChain, mined};
use medkey_e2e::daemon::Daemon;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::RunningIndexer;
use medkey_e2e::vault::{DOMAIN, TestVault};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    medkey_e2e::workspace_root().join("tests/fixtures/fhir-r4").join(name)
}

/// Where the vault runs: in this process over a mirror on SQLite or PostgreSQL, or as the real
/// `medkey serve` binary (indexer and vault in one process) on PostgreSQL with Redis, configured
/// by a TOML file and the environment as an operator would.
#[derive(Clone, Copy, Debug)]
enum Setup {
    InProcess(Backend),
    Served,
}

/// Runs a scenario in every setup.
macro_rules! in_every_setup {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(super::Setup::InProcess(super::Backend::Sqlite)).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario(super::Setup::InProcess(super::Backend::Postgres)).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn served_postgres_redis() {
                super::$scenario(super::Setup::Served).await
            }
        }
    };
}

enum Running {
    InProcess {
        _indexer: Box<RunningIndexer>,
        vault: Box<TestVault>,
    },
    /// Kept so the process runs as long as the world (dropping it kills the process).
    Served {
        _serve: Daemon,
    },
}

/// A chain, a vault with a relayer over a mirror of it, and the deployment file the CLI reads.
struct World {
    chain: TestChain,
    db: TestDb,
    vault_url: String,
    running: Running,
    deployments: tempfile::TempDir,
    _files: tempfile::TempDir,
}

impl World {
    async fn start(setup: Setup) -> Self {
        let chain = TestChain::start().await;
        let deployments = chain.deployments_dir();
        let files = tempfile::tempdir().unwrap();
        match setup {
            Setup::InProcess(backend) => {
                let db = TestDb::new(backend).await;
                let indexer = RunningIndexer::following(&chain, &db.url).await;
                let vault = TestVault::start_relaying(&indexer, &chain).await;
                let vault_url = vault.url.clone();
                let running = Running::InProcess { _indexer: Box::new(indexer), vault: Box::new(vault) };
                Self { chain, db, vault_url, running, deployments, _files: files }
            }
            Setup::Served => {
                let db = TestDb::new(Backend::Postgres).await;
                let mut serve = served(&chain, &db, files.path());
                let vault_url = serve.1.clone();
                serve.0.wait_for(&format!("{vault_url}/readyz")).await;
                Self { chain, db, vault_url, running: Running::Served { _serve: serve.0 }, deployments, _files: files }
            }
        }
    }

    /// Waits until the vault decides on chain head `head` (after a revocation, a time jump).
    async fn wait_for_mirror(&self, head: u64) {
        match &self.running {
            Running::InProcess { vault, .. } => vault.wait_for_mirror_head(head).await,
            Running::Served { .. } => {
                let url = format!("{}/readyz", self.vault_url);
                for _ in 0..1_000 {
                    let ready: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
                    // /readyz brings the vault's own view (the one it decides on) to at least the
                    // block it reports, so this waits for the vault's view, not the database's.
                    if ready["mirror"]["indexed_block"].as_u64().is_some_and(|b| b >= head) {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                panic!("medkey serve's mirror never reached block {head}");
            }
        }
    }

    /// The vault's database, for tests that tamper with it.
    async fn database(&self) -> medkey_indexer::Store {
        medkey_indexer::Store::connect(&self.db.url).await.unwrap()
    }

    /// Runs `medkey` as `key`'s account against this world; (success, stdout, stderr).
    async fn medkey(&self, key: &PrivateKeySigner, args: &[&str]) -> (bool, String, String) {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let rpc = self.chain.rpc_url();
        let dir = self.deployments.path().display().to_string();
        for extra in ["--vault", &self.vault_url, "--siwe-domain", DOMAIN, "--rpc-url", &rpc, "--deployments-dir", &dir]
        {
            all.push(extra.to_owned());
        }
        run(all, alloy::hex::encode_prefixed(key.to_bytes())).await
    }

    /// Registers `provider` on chain with the encryption key its own `medkey` derives.
    async fn register(&self, provider: &PrivateKeySigner) {
        let (ok, out, err) = run(vec!["keys".into(), "show".into(), "--json".into()], hex(provider)).await;
        assert!(ok, "{err}");
        let shown: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            shown["address"].as_str().unwrap().parse::<alloy::primitives::Address>().unwrap(),
            provider.address()
        );
        let key: B256 = shown["encryption_key"].as_str().unwrap().parse().unwrap();
        let registry = self.chain.registry();
        mined(
            registry
                .registerProvider(provider.address(), key, medkey_e2e::chain::PROFILE_HASH)
                .from(self.chain.admin())
                .send()
                .await,
        )
        .await;
    }
}

/// `medkey serve` for `chain` on `db` (PostgreSQL) with Redis, the relayer on anvil account 9;
/// returns the running process and the vault's URL.
fn served(chain: &TestChain, db: &TestDb, dir: &Path) -> (Daemon, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let redis = std::env::var("MEDKEY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let config = format!(
        r#"
[chain]
rpc_url = "{rpc}"
ws_url = "{ws}"
chain_id = {chain_id}
registry = "{registry}"
deploy_block = 0
poll_interval_ms = 50

[database]
url = "{database}"

[redis]
url = "{redis}"
prefix = "medkey-patient-cli:{port}"

[vault]
listen = "127.0.0.1:{port}"

[identity]
domain = "{DOMAIN}"

[blobs]
dir = "{blobs}"

[relayer]
enabled = true
"#,
        rpc = chain.rpc_url(),
        ws = chain.ws_url(),
        chain_id = chain.chain_id(),
        registry = chain.registry,
        database = db.url,
        blobs = dir.join("blobs").display(),
    );
    let path = dir.join("medkey.toml");
    std::fs::write(&path, config).unwrap();
    let relayer: PrivateKeySigner = chain.anvil.keys()[9].clone().into();
    let mut command = std::process::Command::new(medkey_e2e::medkey_bin());
    command
        .args(["serve", "--config", path.to_str().unwrap()])
        .current_dir(dir)
        .env_remove("MEDKEY_PRIVATE_KEY")
        .env("MEDKEY_VAULT_SECRET", "0x5e1fe5e1fe5e1fe5e1fe5e1fe5e1fe5e1fe5e1fe5e1fe5e1fe5e1fe5e1fe5e1f")
        .env("MEDKEY_RELAYER_KEY", alloy::hex::encode_prefixed(relayer.to_bytes()));
    (Daemon::spawn("medkey serve", command), format!("http://127.0.0.1:{port}"))
}

fn hex(key: &PrivateKeySigner) -> String {
    alloy::hex::encode_prefixed(key.to_bytes())
}

async fn run(args: Vec<String>, key: String) -> (bool, String, String) {
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        medkey_e2e::medkey(&args, &[("MEDKEY_PRIVATE_KEY", &key)])
    })
    .await
    .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

fn read_json(path: &Path) -> Value {
    json_of(&std::fs::read_to_string(path).unwrap())
}

/// A Bundle's entries that hold a resource other than a Bundle, nested Bundles' included.
fn leaves(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| if e["resource"]["resourceType"] == "Bundle" { leaves(&e["resource"]) } else { vec![e.clone()] })
        .collect()
}

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
