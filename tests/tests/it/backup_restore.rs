//! The backup procedure of docs/operations/README.md, run: `scripts/backup.sh` while
//! `medkey serve` works, everything destroyed, `scripts/restore.sh` into an empty PostgreSQL
//! and an empty blob directory, the same secrets. Every record and attachment opens, the audit
//! log verifies and extends both the head a client kept and the head anchored on chain; a
//! restore from an older backup is caught by `medkey audit verify` as a rollback.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use medkey_e2e::chain::TestChain;
use medkey_e2e::daemon::Daemon;
use medkey_e2e::engines::free_port;
use medkey_e2e::engines::postgres::TempPostgres;
use medkey_e2e::sealed::{encryption_secret, unb64, upload_as};
use medkey_e2e::serve::{base_config, hex_key, login, start_serve, write};
use medkey_protocol::Category;
use medkey_protocol::RecordId;
use medkey_protocol::envelope::{record, stream};
use serde_json::Value;

const VAULT_SECRET: &str = "bac0bac0bac0bac0bac0bac0bac0bac0bac0bac0bac0bac0bac0bac0bac0b001";

/// A record as its patient uploaded it: id, the plaintext, the attachment's plaintext.
struct Stored {
    id: RecordId,
    upload: medkey_e2e::sealed::Upload,
    attachment: Vec<u8>,
}

async fn upload_records(
    http: &reqwest::Client,
    base: &str,
    patient: &PrivateKeySigner,
    first: u8,
    n: u8,
) -> Vec<Stored> {
    let token = login(http, base, patient).await;
    let mut stored = Vec::new();
    for i in first..first + n {
        let id = RecordId::from([i; 16]);
        let secret = encryption_secret(0x01);
        let upload =
            upload_as(id, patient.address(), Category::LabResults, "Observation", &[(patient.address(), &secret)]);
        let created = http
            .post(format!("{base}/v1/records"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(upload.body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let attachment = vec![i; 20_000];
        let mut sealed = Vec::new();
        stream::encrypt(&upload.key, &upload.binding, stream::DEFAULT_CHUNK, attachment.as_slice(), &mut sealed)
            .unwrap();
        let put = http
            .put(format!("{base}/v1/records/{}/versions/1/attachment", alloy::hex::encode(id)))
            .bearer_auth(&token)
            .header("content-type", "application/octet-stream")
            .body(sealed)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 201);
        stored.push(Stored { id, upload, attachment });
    }
    stored
}

async fn assert_all_open(http: &reqwest::Client, base: &str, patient: &PrivateKeySigner, records: &[Stored]) {
    let token = login(http, base, patient).await;
    for r in records {
        let id = alloy::hex::encode(r.id);
        let body: Value =
            http.get(format!("{base}/v1/records/{id}")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let opened = record::open(&r.upload.key, &r.upload.binding, &unb64(&body["ciphertext"])).unwrap();
        assert_eq!(
            opened,
            record::open(&r.upload.key, &r.upload.binding, &unb64(&r.upload.body["ciphertext"])).unwrap()
        );
        let sealed = http.get(format!("{base}/v1/records/{id}/attachment")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(sealed.status(), 200, "attachment of {id}");
        let mut attachment = Vec::new();
        stream::decrypt(&r.upload.key, &r.upload.binding, sealed.bytes().await.unwrap().as_ref(), &mut attachment)
            .unwrap();
        assert_eq!(attachment, r.attachment);
    }
}

fn script(name: &str, args: &[&str]) {
    let out =
        Command::new("bash").arg(medkey_e2e::workspace_root().join("scripts").join(name)).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{name} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `medkey audit verify` as the patient, keeping its state in `state`: (passed, output).
fn audit_verify(base: &str, state: &Path, chain: &TestChain, patient: &PrivateKeySigner) -> (bool, String) {
    let out = medkey_e2e::medkey_command()
        .args(["audit", "verify", "--vault", base, "--state-dir"])
        .arg(state)
        .args(["--rpc-url", &chain.rpc_url(), "--registry", &chain.registry.to_string()])
        .args(["--siwe-domain", medkey_e2e::vault::DOMAIN])
        .env("MEDKEY_PRIVATE_KEY", alloy::hex::encode_prefixed(patient.to_bytes()))
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `medkey serve` over `postgres` and `blobs`, anchoring every 4 entries, ready.
async fn serve(dir: &Path, chain: &TestChain, postgres: &TempPostgres, blobs: &Path, port: u16) -> Daemon {
    let mut config =
        base_config(&chain.rpc_url(), &chain.registry.to_string(), chain.deploy_block, &postgres.url("127.0.0.1", ""));
    config = config.replace("dir = \"blobs\"", &format!("dir = \"{}\"", blobs.display()));
    config.push_str(&format!(
        "\n[vault]\nlisten = \"127.0.0.1:{port}\"\n\n[anchoring]\nenabled = true\nevery_entries = 4\nevery_secs = 1\n"
    ));
    let path = write(dir, &format!("medkey-{port}.toml"), &config);
    let env = [("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned()), ("MEDKEY_OPERATOR_KEY", hex_key(&chain.keys[0]))];
    let mut daemon = start_serve(dir, &path, &env);
    daemon.wait_for(&format!("http://127.0.0.1:{port}/readyz")).await;
    daemon
}

/// Waits until the chain's anchored head covers `size` entries.
async fn wait_for_anchor(chain: &TestChain, size: u64) {
    for _ in 0..300 {
        let anchor = chain.registry().latestAuditAnchor().call().await.unwrap();
        if anchor.size >= size {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the audit log was never anchored up to {size} entries");
}

async fn log_size(http: &reqwest::Client, base: &str) -> u64 {
    let head: Value = http.get(format!("{base}/v1/audit/tree-head")).send().await.unwrap().json().await.unwrap();
    head["size"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_everything_and_a_rollback_is_detected() {
    let chain = TestChain::start().await;
    let patient = chain.keys[1].clone();
    let dir = tempfile::Builder::new().prefix("medkey-backup").tempdir().unwrap();
    let http = reqwest::Client::new();
    let state = dir.path().join("audit-state");

    let original = TempPostgres::start(None);
    let blobs = dir.path().join("blobs");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let serving = serve(dir.path(), &chain, &original, &blobs, port).await;
    let mut records = upload_records(&http, &base, &patient, 1, 4).await;
    let (ok, out) = audit_verify(&base, &state, &chain, &patient);
    assert!(ok, "{out}");

    // The older backup, while the vault serves.
    let older = dir.path().join("backup-older");
    let database = original.url("127.0.0.1", "");
    script("backup.sh", &[&database, blobs.to_str().unwrap(), older.to_str().unwrap()]);
    // The operator's only: share-link ids, live tickets and recipients' names are inside.
    let mode =
        |path: &Path| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o777;
    assert_eq!(mode(&older), 0o700, "the backup directory");
    for file in std::fs::read_dir(&older).unwrap() {
        let file = file.unwrap().path();
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    records.extend(upload_records(&http, &base, &patient, 10, 4).await);
    let size = log_size(&http, &base).await;
    wait_for_anchor(&chain, size).await;
    let (ok, out) = audit_verify(&base, &state, &chain, &patient);
    assert!(ok, "{out}");
    let newer = dir.path().join("backup-newer");
    script("backup.sh", &[&database, blobs.to_str().unwrap(), newer.to_str().unwrap()]);

    // Everything is destroyed.
    let (status, output) = serving.terminate();
    assert_eq!(status.code(), Some(0), "{output}");
    drop(original);
    std::fs::remove_dir_all(&blobs).unwrap();

    // The newer backup, into empty servers: everything opens, the log extends what was seen.
    let restored = TempPostgres::start(None);
    let restored_blobs = dir.path().join("blobs-restored");
    script("restore.sh", &[newer.to_str().unwrap(), &restored.url("127.0.0.1", ""), restored_blobs.to_str().unwrap()]);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let serving = serve(dir.path(), &chain, &restored, &restored_blobs, port).await;
    assert_all_open(&http, &base, &patient, &records).await;
    let (ok, out) = audit_verify(&base, &state, &chain, &patient);
    assert!(ok, "the restored log must verify:\n{out}");
    serving.terminate();

    // The older backup: a client that saw the newer log is told it was rolled back.
    let rolled_back = TempPostgres::start(None);
    let old_blobs = dir.path().join("blobs-older");
    script("restore.sh", &[older.to_str().unwrap(), &rolled_back.url("127.0.0.1", ""), old_blobs.to_str().unwrap()]);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let serving = serve(dir.path(), &chain, &rolled_back, &old_blobs, port).await;
    let (ok, out) = audit_verify(&base, &state, &chain, &patient);
    assert!(!ok, "a rolled-back log must fail verification:\n{out}");
    assert!(out.contains("shrank"), "the failure must say the log shrank:\n{out}");
    serving.terminate();

    // Restoring over existing data is refused.
    let out = Command::new("bash")
        .arg(medkey_e2e::workspace_root().join("scripts/restore.sh"))
        .args([
            newer.to_str().unwrap(),
            &rolled_back.url("127.0.0.1", ""),
            dir.path().join("blobs-x").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already has tables"));
}
