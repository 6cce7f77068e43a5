//! What patients stored stays theirs under races and hostile writers, on both backends:
//! - a provider with a write grant cannot replace anyone's wrapped key (only the owner can), and
//!   every add-keys call, accepted or refused, is in the patient's audit log;
//! - erasing a record is atomic against updates, key additions and attachment uploads in flight:
//!   once every request has answered, no ciphertext, wrapped key, attachment row or object of it
//!   is left, whatever the interleaving;
//! - of two uploads racing for one version's attachment, the refused one changes nothing;
//! - on SQLite, the erased bytes are gone from the database file and its WAL.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256};
use alloy::transports::http::reqwest;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::RunningIndexer;
use medkey_e2e::on_both_backends;
use medkey_e2e::sealed::{b64, encryption_secret, unb64, upload, upload_as};
use medkey_e2e::vault::TestVault;
use medkey_protocol::Category;
use medkey_protocol::RecordId;
use medkey_protocol::envelope::{RecordBinding, record, stream, wrap};
use medkey_vault::blobs::BlobStore;
use medkey_vault::limits::LimitSettings;
use serde_json::json;
use sqlx::Row;

async fn a_writer_cannot_replace_keys_and_every_attempt_is_logged(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab, clinic) = (chain.keys[1].clone(), chain.keys[3].clone(), chain.keys[4].clone());
    let (alice_secret, clinic_secret) = (encryption_secret(0xA1), encryption_secret(0xC3));
    chain.register_provider(lab.address()).await;
    let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
    (request.recordsRoot, request.write) = (B256::ZERO, true);
    chain.grant(alice.address(), request).await;
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let vault = TestVault::start(&indexer).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    let id = chain.chain_id();
    let (alice_token, lab_token) = (vault.login(&alice, id).await, vault.login(&lab, id).await);

    // The lab writes a record for Alice; Alice then writes version 2 herself.
    let readers = [(alice.address(), &alice_secret)];
    let mut written = upload(alice.address(), 0x51, Category::LabResults, "Observation", &readers);
    written.body["patient"] = json!(alice.address());
    let (status, body) = vault.call("POST", "/v1/records", Some(&lab_token), Some(written.body.clone())).await;
    assert_eq!(status, 201, "{body}");
    let record_hex = alloy::hex::encode(written.id);
    let v2 = sealed_version(&written, 2, alice.address(), &alice_secret, b"{\"resourceType\":\"Observation\"}");
    let (status, body) = vault.call("PUT", &format!("/v1/records/{record_hex}"), Some(&alice_token), Some(v2)).await;
    assert_eq!(status, 200, "{body}");

    // The lab tries to put junk on Alice's own version 2: that version is not the lab's to touch.
    let her_keys = format!("/v1/records/{record_hex}/versions/2/keys");
    let mut junk = vec![0x42u8; 81];
    junk[0] = medkey_protocol::envelope::VERSION;
    let junk_for_alice = json!({"wrapped_keys": [{"recipient": alice.address(), "wrapped": b64(&junk)}]});
    let (status, body) = vault.call("POST", &her_keys, Some(&lab_token), Some(junk_for_alice.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    // On its own version 1, it cannot replace Alice's key: refused, precisely.
    let keys = format!("/v1/records/{record_hex}/versions/1/keys");
    let (status, body) = vault.call("POST", &keys, Some(&lab_token), Some(junk_for_alice.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("wrapped_key_exists")), "{body}");
    assert_eq!(open_own(&vault, &alice_token, &record_hex, &alice_secret, alice.address()).await, 2);

    // The lab may add a key for a reader that has none; a repeat of it is fine, a change is not.
    let for_clinic = json!({"wrapped_keys": [{"recipient": clinic.address(), "wrapped": b64(&junk)}]});
    assert_eq!(vault.call("POST", &keys, Some(&lab_token), Some(for_clinic.clone())).await.0, 204);
    assert_eq!(vault.call("POST", &keys, Some(&lab_token), Some(for_clinic)).await.0, 204, "identical repeat");
    let mut other = junk.clone();
    other[80] ^= 1;
    let changed = json!({"wrapped_keys": [{"recipient": clinic.address(), "wrapped": b64(&other)}]});
    let (status, body) = vault.call("POST", &keys, Some(&lab_token), Some(changed)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("wrapped_key_exists")), "{body}");
    let twice = json!({"wrapped_keys": [
        {"recipient": clinic.address(), "wrapped": b64(&junk)}, {"recipient": clinic.address(), "wrapped": b64(&other)}]});
    let (status, body) = vault.call("POST", &keys, Some(&alice_token), Some(twice)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("duplicate_recipient")), "{body}");

    // Alice, the owner, may replace the junk with a real key for the clinic.
    let first = vault.call("GET", &format!("/v1/records/{record_hex}/versions/1"), Some(&alice_token), None).await.1;
    let binding = binding(&written, 1, alice.address());
    let key = wrap::unwrap(&unb64(&first["wrapped_key"]), &alice_secret, &binding).unwrap();
    let real = wrap::wrap(&key, &clinic_secret.public_key(), &binding).unwrap();
    let replace = json!({"wrapped_keys": [{"recipient": clinic.address(), "wrapped": b64(&real)}]});
    assert_eq!(vault.call("POST", &keys, Some(&alice_token), Some(replace)).await.0, 204);
    let stored = vault.state.records.wrapped_key(&written.id, 1, clinic.address()).await.unwrap().unwrap();
    assert_eq!(stored, real.to_vec());

    // Alice's audit log shows every call, with its outcome and who made it.
    let log = vault.state.audit.for_patient(alice.address()).await.unwrap();
    let calls: Vec<(Address, &str)> =
        log.iter().filter(|e| e.kind == "keys_added").map(|e| (e.actor, e.outcome.as_str())).collect();
    assert_eq!(
        calls,
        [
            (lab.address(), "not_found"),
            (lab.address(), "wrapped_key_exists"),
            (lab.address(), "ok"),
            (lab.address(), "ok"),
            (lab.address(), "wrapped_key_exists"),
            (alice.address(), "duplicate_recipient"),
            (alice.address(), "ok"),
        ]
    );
    assert!(log.iter().filter(|e| e.kind == "keys_added").all(|e| e.record_id == Some(written.id)));
    db.cleanup().await;
}
on_both_backends!(a_writer_cannot_replace_keys_and_every_attempt_is_logged);

async fn an_erase_leaves_nothing_whatever_races_it(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab) = (chain.keys[1].clone(), chain.keys[3].clone());
    let alice_secret = encryption_secret(0xA1);
    let (_indexer, dir, vault) = vault_with_local_blobs(&chain, &db).await;
    let token = vault.login(&alice, chain.chain_id()).await;

    let rounds = 30u8;
    let mut answers = std::collections::BTreeMap::<(&str, u16), u32>::new();
    for round in 0..rounds {
        let readers = [(alice.address(), &alice_secret)];
        let created = upload_as(
            RecordId::from([round, 0xE5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, round]),
            alice.address(),
            Category::Imaging,
            "Binary",
            &readers,
        );
        assert_eq!(vault.call("POST", "/v1/records", Some(&token), Some(created.body.clone())).await.0, 201);
        let hex = alloy::hex::encode(created.id);
        let mut sealed = Vec::new();
        let attachment = vec![round; 512 * 1024];
        stream::encrypt(&created.key, &created.binding, stream::DEFAULT_CHUNK, attachment.as_slice(), &mut sealed)
            .unwrap();
        let v2 = sealed_version(&created, 2, alice.address(), &alice_secret, b"{\"resourceType\":\"Binary\"}");
        let lab_key = created.wrapped_for(lab.address(), &encryption_secret(0xB2));

        // Everything at once; the erase starts in the middle of the pack.
        let call = |method: &'static str, path: String, body: Option<serde_json::Value>| {
            let (vault, token) = (vault.clone(), token.clone());
            tokio::spawn(async move { (method, vault.call(method, &path, Some(&token), body).await.0) })
        };
        let upload = {
            let (vault, token, path, sealed) =
                (vault.clone(), token.clone(), format!("/v1/records/{hex}/versions/1/attachment"), sealed.clone());
            tokio::spawn(async move {
                ("ATTACH", vault.raw("PUT", &path, &token, "application/octet-stream", sealed).await.0)
            })
        };
        let tasks = vec![
            upload,
            call("PUT", format!("/v1/records/{hex}"), Some(v2)),
            call("POST", format!("/v1/records/{hex}/versions/1/keys"), Some(lab_key)),
            call("DELETE", format!("/v1/records/{hex}"), None),
        ];
        for task in tasks {
            let (what, status) = task.await.unwrap();
            assert!(status < 500, "{what} answered {status}");
            *answers.entry((what, status)).or_default() += 1;
        }
        assert_eq!(answers.get(&("DELETE", 204)).copied().unwrap_or(0), u32::from(round) + 1, "{answers:?}");
        assert_nothing_left(&vault, &created.id, dir.path()).await;
    }
    // Each racer lost at least once and won at least once over the rounds (else the race was
    // never run): a guard on the test itself.
    eprintln!("answers over {rounds} rounds: {answers:?}");
    db.cleanup().await;
}
on_both_backends!(an_erase_leaves_nothing_whatever_races_it);

async fn a_refused_attachment_upload_changes_nothing(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let alice = chain.keys[1].clone();
    let alice_secret = encryption_secret(0xA1);
    let (_indexer, dir, vault) = vault_with_local_blobs(&chain, &db).await;
    let token = vault.login(&alice, chain.chain_id()).await;

    for round in 0..15u8 {
        let readers = [(alice.address(), &alice_secret)];
        let created = upload_as(
            RecordId::from([0xA7, round, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, round]),
            alice.address(),
            Category::Imaging,
            "Binary",
            &readers,
        );
        assert_eq!(vault.call("POST", "/v1/records", Some(&token), Some(created.body.clone())).await.0, 201);
        let hex = alloy::hex::encode(created.id);
        let put = format!("/v1/records/{hex}/versions/1/attachment");
        let sealed: Vec<Vec<u8>> = [1usize, 2]
            .iter()
            .map(|n| {
                let mut out = Vec::new();
                let plain = vec![*n as u8; 300_000 * n];
                stream::encrypt(&created.key, &created.binding, stream::DEFAULT_CHUNK, plain.as_slice(), &mut out)
                    .unwrap();
                out
            })
            .collect();
        let racers: Vec<_> = sealed
            .iter()
            .map(|body| {
                let (url, token, body) = (format!("{}{put}", vault.url), token.clone(), body.clone());
                tokio::spawn(async move {
                    let request = reqwest::Client::new().put(url).bearer_auth(token);
                    let sent = request.header("content-type", "application/octet-stream").body(body).send().await;
                    // A server that refuses early (the other upload already committed) may close
                    // the connection before this client has sent the whole body: 0 stands for that.
                    sent.map_or(0, |response| response.status().as_u16())
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for racer in racers {
            statuses.push(racer.await.unwrap());
        }
        let winner = match statuses.as_slice() {
            [201, 409 | 0] => 0,
            [409 | 0, 201] => 1,
            other => panic!("round {round}: expected one 201 and one refusal (409), got {other:?}"),
        };
        let (status, served) = vault.bytes(&format!("/v1/records/{hex}/attachment"), &token).await;
        assert_eq!(status, 200);
        assert!(served == sealed[winner], "round {round}: the download is not the accepted upload");
        assert_eq!(objects_of(dir.path(), &created.id).len(), 1, "the refused upload's object is gone");
    }
    db.cleanup().await;
}
on_both_backends!(a_refused_attachment_upload_changes_nothing);

/// SQLite only: PostgreSQL and object stores keep deleted bytes until vacuum or reuse, which the
/// threat model and the vault README tell operators about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_record_leaves_no_bytes_in_sqlite_files() {
    let chain = TestChain::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let alice = chain.keys[1].clone();
    let alice_secret = encryption_secret(0xA1);
    let indexer = RunningIndexer::following(&chain, &db.url).await;
    let vault = TestVault::start(&indexer).await;
    let token = vault.login(&alice, chain.chain_id()).await;

    // One record small enough to sit in a table page, one large enough for overflow pages; both
    // updated once so that two versions and their keys are stored.
    let mut secrets: Vec<Vec<u8>> = Vec::new();
    for (byte, size) in [(0x01u8, 200usize), (0x02, 20_000)] {
        let readers = [(alice.address(), &alice_secret)];
        let mut created = upload(alice.address(), byte, Category::LabResults, "Observation", &readers);
        let plain = format!("{{\"resourceType\":\"Observation\",\"note\":\"{}\"}}", "x".repeat(size));
        let ciphertext = record::seal(&created.key, &created.binding, plain.as_bytes()).unwrap();
        created.body["ciphertext"] = json!(b64(&ciphertext));
        assert_eq!(vault.call("POST", "/v1/records", Some(&token), Some(created.body.clone())).await.0, 201);
        secrets.push(ciphertext);
        secrets.push(unb64(&created.body["wrapped_keys"][0]["wrapped"]));
        let v2 = sealed_version(&created, 2, alice.address(), &alice_secret, plain.as_bytes());
        secrets.push(unb64(&v2["ciphertext"]));
        secrets.push(unb64(&v2["wrapped_keys"][0]["wrapped"]));
        let path = format!("/v1/records/{}", alloy::hex::encode(created.id));
        assert_eq!(vault.call("PUT", &path, Some(&token), Some(v2)).await.0, 200);
    }
    let files = sqlite_files(&db.url);
    assert!(found_in(&files, &secrets).iter().all(|f| *f), "the scan must see what is stored before the erase");

    for byte in [0x01u8, 0x02] {
        let path = format!("/v1/records/{}", alloy::hex::encode([byte; 16]));
        assert_eq!(vault.call("DELETE", &path, Some(&token), None).await.0, 204);
    }
    for (i, found) in found_in(&files, &secrets).into_iter().enumerate() {
        assert!(!found, "erased bytes #{i} still in the SQLite files (database or WAL)");
    }
    db.cleanup().await;
}

/// A vault over `chain`'s mirror in `db`, keeping attachments in a local directory (returned, to
/// look inside), shared by concurrent requests.
async fn vault_with_local_blobs(
    chain: &TestChain,
    db: &TestDb,
) -> (RunningIndexer, tempfile::TempDir, std::sync::Arc<TestVault>) {
    let indexer = RunningIndexer::following(chain, &db.url).await;
    let dir = tempfile::tempdir().unwrap();
    let state = TestVault::state(&indexer, LimitSettings::default(), false)
        .await
        .with_blobs(BlobStore::local(dir.path()).unwrap(), 4 << 20);
    let vault = std::sync::Arc::new(TestVault::serve(state).await);
    (indexer, dir, vault)
}

/// A new version of `created`, sealed under a fresh key and wrapped for the owner only.
fn sealed_version(
    created: &medkey_e2e::sealed::Upload,
    version: u32,
    owner: Address,
    owner_secret: &medkey_protocol::envelope::EncryptionSecret,
    plain: &[u8],
) -> serde_json::Value {
    let binding = binding(created, version, owner);
    let key = medkey_protocol::envelope::DataKey::generate().unwrap();
    let ciphertext = record::seal(&key, &binding, plain).unwrap();
    let wrapped = wrap::wrap(&key, &owner_secret.public_key(), &binding).unwrap();
    json!({"ciphertext": b64(&ciphertext), "wrapped_keys": [{"recipient": owner, "wrapped": b64(&wrapped)}]})
}

fn binding(created: &medkey_e2e::sealed::Upload, version: u32, owner: Address) -> RecordBinding {
    RecordBinding { version, owner, ..created.binding.clone() }
}

/// Fetches and opens the owner's current version; returns its version number.
async fn open_own(
    vault: &TestVault,
    token: &str,
    record_hex: &str,
    secret: &medkey_protocol::envelope::EncryptionSecret,
    owner: Address,
) -> u64 {
    let (status, fetched) = vault.call("GET", &format!("/v1/records/{record_hex}"), Some(token), None).await;
    assert_eq!(status, 200, "{fetched}");
    let record = &fetched["record"];
    let binding = RecordBinding {
        record_id: alloy::hex::decode(record_hex).unwrap().try_into().unwrap(),
        version: record["version"].as_u64().unwrap() as u32,
        owner,
        category: record["category"].as_str().unwrap().parse::<Category>().unwrap().index(),
        resource_type: record["resource_type"].as_str().unwrap().into(),
    };
    let key = wrap::unwrap(&unb64(&fetched["wrapped_key"]), secret, &binding).expect("the owner's key still opens");
    record::open(&key, &binding, &unb64(&fetched["ciphertext"])).expect("the record opens");
    u64::from(binding.version)
}

async fn assert_nothing_left(vault: &TestVault, id: &RecordId, blobs: &Path) {
    let pool = vault.state.mirror.pool();
    let count = |sql: &'static str| async move {
        sqlx::query(sql).bind(id.to_vec()).fetch_one(pool).await.unwrap().try_get::<i64, _>(0).unwrap()
    };
    let hex = alloy::hex::encode(id);
    assert_eq!(
        count("SELECT COUNT(*) FROM record_versions WHERE record_id = $1 AND ciphertext IS NOT NULL").await,
        0,
        "{hex}: ciphertext left after the erase"
    );
    assert_eq!(count("SELECT COUNT(*) FROM wrapped_keys WHERE record_id = $1").await, 0, "{hex}: wrapped key left");
    assert_eq!(count("SELECT COUNT(*) FROM attachments WHERE record_id = $1").await, 0, "{hex}: attachment row left");
    assert_eq!(objects_of(blobs, id), Vec::<PathBuf>::new(), "{hex}: attachment object left");
}

/// Every file under the record's prefix in a local blob directory (staging files included).
fn objects_of(dir: &Path, id: &RecordId) -> Vec<PathBuf> {
    let record_dir = dir.join("attachments").join(alloy::hex::encode(id));
    match std::fs::read_dir(&record_dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// The SQLite database file and its WAL and shared-memory files.
fn sqlite_files(url: &str) -> Vec<PathBuf> {
    let file = PathBuf::from(url.trim_start_matches("sqlite://").split('?').next().unwrap());
    ["", "-wal", "-shm"].iter().map(|suffix| PathBuf::from(format!("{}{suffix}", file.display()))).collect()
}

/// For each secret, whether some 32-byte piece of it appears in any of `files` (one pass over
/// the files, looking each window up among all the pieces).
fn found_in(files: &[PathBuf], secrets: &[Vec<u8>]) -> Vec<bool> {
    let mut pieces = std::collections::HashMap::<&[u8], usize>::new();
    for (i, secret) in secrets.iter().enumerate() {
        for piece in secret.chunks_exact(32) {
            pieces.insert(piece, i);
        }
    }
    let mut found = vec![false; secrets.len()];
    for contents in files.iter().filter_map(|f| std::fs::read(f).ok()) {
        for window in contents.windows(32) {
            if let Some(i) = pieces.get(window) {
                found[*i] = true;
            }
        }
    }
    found
}
