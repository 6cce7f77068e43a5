//! Attachments end to end, on both backends, with blobs in a local directory: the client
//! encrypts a multi-megabyte file as a STREAM, the vault stores only ciphertext, the owner and a
//! granted provider stream it back and decrypt, everyone else is refused (and logged), bad
//! uploads leave nothing behind, and erasing the record deletes the blob.

use alloy::primitives::B256;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::sealed::{b64, encryption_secret, unb64, upload};
use medkey_e2e::vault::TestVault;
use medkey_protocol::Category;
use medkey_protocol::envelope::{stream, wrap};
use medkey_vault::blobs::BlobStore;
use medkey_vault::limits::LimitSettings;

const LIMIT: u64 = 4 << 20;

async fn attachments_stream_in_and_out_under_the_gate(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab, clinic) = (chain.keys[1].clone(), chain.keys[3].clone(), chain.keys[4].clone());
    let lab_secret = encryption_secret(0xB2);
    for provider in [lab.address(), clinic.address()] {
        chain.register_provider(provider).await;
    }
    let mut request = chain.request(lab.address(), &[Category::Imaging]).await;
    request.recordsRoot = B256::ZERO;
    chain.grant(alice.address(), request).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let dir = tempfile::tempdir().unwrap();
    let blobs = BlobStore::local(dir.path()).unwrap();
    let state = TestVault::state(&indexer, LimitSettings::default(), false).await.with_blobs(blobs, LIMIT);
    let vault = TestVault::serve(state).await;
    let id = chain.chain_id();
    let (owner, lab_token, clinic_token) =
        (vault.login(&alice, id).await, vault.login(&lab, id).await, vault.login(&clinic, id).await);

    // A Binary record describing the image, readable by the patient and the lab.
    let readers = [(alice.address(), &encryption_secret(0xA1)), (lab.address(), &lab_secret)];
    let record = upload(alice.address(), 5, Category::Imaging, "Binary", &readers);
    assert_eq!(vault.call("POST", "/v1/records", Some(&owner), Some(record.body.clone())).await.0, 201);

    // 3 MiB and a bit of "imaging": not a multiple of the chunk size, with a marker to hunt for.
    let mut image: Vec<u8> = (0..3 * 1024 * 1024 + 5).map(|i| (i * 31 % 251) as u8).collect();
    image[1_000..1_016].copy_from_slice(b"PATIENT-MARKER-1");
    let mut sealed = Vec::new();
    stream::encrypt(&record.key, &record.binding, stream::DEFAULT_CHUNK, image.as_slice(), &mut sealed).unwrap();
    let put = format!("/v1/records/{}/versions/1/attachment", alloy::hex::encode(record.id));
    let get = format!("/v1/records/{}/attachment", alloy::hex::encode(record.id));

    // Refused uploads store nothing. (A server that refuses an upload answers before reading the
    // rest of it, so these bodies are kept small enough to be fully sent first; the oversized
    // one is refused after LIMIT bytes, with only a little still in flight.)
    let small = sealed[..1024].to_vec();
    let (status, body) = vault.raw("PUT", &put, &owner, "application/json", small.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (415, Some("unsupported_media_type")));
    let (status, body) = vault.raw("PUT", &put, &owner, "application/octet-stream", image[..1024].to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_ciphertext")));
    let oversized = [&sealed[..12], &vec![0u8; LIMIT as usize + 500][..]].concat();
    let (status, body) = vault.raw("PUT", &put, &owner, "application/octet-stream", oversized).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("attachment_too_large")));
    assert_eq!(vault.raw("PUT", &put, &lab_token, "application/octet-stream", small).await.0, 404);
    let (status, _) = vault.call("GET", &get, Some(&owner), None).await;
    assert_eq!(status, 404, "nothing was stored");
    assert_eq!(files_under(dir.path()), 0, "no partial blob left behind");

    let (status, stored) = vault.raw("PUT", &put, &owner, "application/octet-stream", sealed.clone()).await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["size"].as_u64().unwrap(), sealed.len() as u64);
    let (status, body) = vault.raw("PUT", &put, &owner, "application/octet-stream", sealed.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("attachment_exists")));

    // On disk: ciphertext only.
    let on_disk: Vec<u8> = walk(dir.path()).into_iter().flat_map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!on_disk.windows(16).any(|w| w == b"PATIENT-MARKER-1"), "plaintext in the blob directory");

    // The owner and the granted lab stream it back and decrypt; the clinic is refused and logged.
    assert_eq!(vault.bytes(&get, &owner).await, (200, sealed.clone()));
    let (status, key_body) =
        vault.call("GET", &format!("/v1/records/{}/key", alloy::hex::encode(record.id)), Some(&lab_token), None).await;
    assert_eq!(status, 200, "{key_body}");
    let key = wrap::unwrap(&unb64(&key_body["wrapped_key"]), &lab_secret, &record.binding).unwrap();
    let (status, fetched) = vault.bytes(&get, &lab_token).await;
    assert_eq!(status, 200);
    let mut opened = Vec::new();
    stream::decrypt(&key, &record.binding, fetched.as_slice(), &mut opened).unwrap();
    assert_eq!(opened, image);
    let (status, _) = vault.bytes(&get, &clinic_token).await;
    assert_eq!(status, 403);
    let log = vault.state.audit.for_patient(alice.address()).await.unwrap();
    assert!(log.iter().any(|e| e.kind == "attachment_released" && e.actor == lab.address()));
    assert!(
        log.iter()
            .any(|e| e.kind == "attachment_denied" && e.actor == clinic.address() && e.outcome == "no_live_grant")
    );

    // Her history: a second version (no attachment) on top of the first, each listed with who
    // stored it and its attachment's size; the first one still opens with its own key.
    let v2_binding = medkey_protocol::envelope::RecordBinding { version: 2, ..record.binding.clone() };
    let v2_key = medkey_protocol::envelope::DataKey::generate().unwrap();
    let v2 = medkey_protocol::envelope::record::seal(&v2_key, &v2_binding, br#"{"resourceType":"Binary"}"#).unwrap();
    let v2_wrapped = wrap::wrap(&v2_key, &encryption_secret(0xA1).public_key(), &v2_binding).unwrap();
    let body = serde_json::json!({"ciphertext": b64(&v2), "wrapped_keys": [{"recipient": alice.address(), "wrapped": b64(&v2_wrapped)}]});
    let record_path = format!("/v1/records/{}", alloy::hex::encode(record.id));
    assert_eq!(vault.call("PUT", &record_path, Some(&owner), Some(body)).await.0, 200);
    let (status, history) = vault.call("GET", &format!("{record_path}/versions"), Some(&owner), None).await;
    assert_eq!(status, 200, "{history}");
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.iter().map(|v| v["version"].as_u64().unwrap()).collect::<Vec<_>>(), [2, 1], "newest first");
    assert_eq!(versions[0]["attachment_size"], serde_json::Value::Null);
    assert_eq!(versions[1]["attachment_size"].as_u64(), Some(sealed.len() as u64));
    assert_eq!(
        versions[1]["created_by"].as_str().unwrap().parse::<alloy::primitives::Address>().unwrap(),
        alice.address()
    );
    let (status, first) = vault.call("GET", &format!("{record_path}/versions/1"), Some(&owner), None).await;
    assert_eq!(
        (status, first["version"]["version"].as_u64(), first["record"]["version"].as_u64()),
        (200, Some(1), Some(2))
    );
    let v1_key = wrap::unwrap(&unb64(&first["wrapped_key"]), &encryption_secret(0xA1), &record.binding).unwrap();
    let opened =
        medkey_protocol::envelope::record::open(&v1_key, &record.binding, &unb64(&first["ciphertext"])).unwrap();
    assert!(String::from_utf8(opened).unwrap().contains("secret-5"));
    for (path, token, expected) in [
        (format!("{record_path}/versions"), &lab_token, (404, "not_found")),
        (format!("{record_path}/versions/1"), &lab_token, (404, "not_found")),
        (format!("{record_path}/versions/3"), &owner, (404, "not_found")),
        (format!("{record_path}/versions/0"), &owner, (400, "invalid_version")),
    ] {
        let (status, body) = vault.call("GET", &path, Some(token), None).await;
        assert_eq!((status, body["error"]["code"].as_str().unwrap()), expected, "{path}");
    }

    // Erasing the record deletes the blob as well.
    let (status, _) =
        vault.call("DELETE", &format!("/v1/records/{}", alloy::hex::encode(record.id)), Some(&owner), None).await;
    assert_eq!(status, 204);
    assert_eq!(files_under(dir.path()), 0);
    assert_eq!(vault.call("GET", &get, Some(&owner), None).await.0, 404);
    let (status, body) = vault.call("GET", &format!("{record_path}/versions/1"), Some(&owner), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (410, Some("record_erased")));
    db.cleanup().await;
}
/// A provider that wrote a record for a patient under a write grant may attach a file to it
/// while that grant is live, and only then; nobody else may.
async fn a_writer_attaches_only_under_a_live_write_grant(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let (alice, lab, stranger) = (chain.keys[1].clone(), chain.keys[3].clone(), chain.keys[5].clone());
    let alice_secret = encryption_secret(0xA1);
    chain.register_provider(lab.address()).await;
    let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
    (request.recordsRoot, request.write) = (B256::ZERO, true);
    let grant = chain.grant(alice.address(), request).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let vault = TestVault::start(&indexer).await;
    vault.wait_for_mirror_head(chain.head().await).await;
    let id = chain.chain_id();
    let (lab_token, stranger_token) = (vault.login(&lab, id).await, vault.login(&stranger, id).await);

    let readers = [(alice.address(), &alice_secret)];
    let (mut paths, mut files, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for seed in [0x61, 0x62] {
        let mut written = upload(alice.address(), seed, Category::LabResults, "Observation", &readers);
        written.body["patient"] = serde_json::json!(alice.address());
        let (status, body) = vault.call("POST", "/v1/records", Some(&lab_token), Some(written.body.clone())).await;
        assert_eq!(status, 201, "{body}");
        ids.push(written.id);
        paths.push(format!("/v1/records/{}/versions/1/attachment", alloy::hex::encode(written.id)));
        let mut sealed = Vec::new();
        stream::encrypt(&written.key, &written.binding, stream::DEFAULT_CHUNK, &b"%PDF-1.4 scan"[..], &mut sealed)
            .unwrap();
        files.push(sealed);
    }
    let octets = "application/octet-stream";
    let (status, body) = vault.raw("PUT", &paths[0], &lab_token, octets, files[0].clone()).await;
    assert_eq!(status, 201, "the writer, under its live grant: {body}");
    let (status, body) = vault.raw("PUT", &paths[1], &stranger_token, octets, files[1].clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");

    // Asking for the file of a record that has none is 404, and the log does not say it was released.
    let (status, _) = vault
        .call("GET", &format!("/v1/records/{}/attachment", alloy::hex::encode(ids[1])), Some(&lab_token), None)
        .await;
    assert_eq!(status, 404);
    let log = vault.state.audit.for_patient(alice.address()).await.unwrap();
    assert!(
        !log.iter().any(|e| e.kind == "attachment_released" && e.record_id == Some(ids[1])),
        "a release was logged for a file that does not exist"
    );

    // The writer acts only on the versions it wrote: not on one the patient wrote herself.
    let alice_token = vault.login(&alice, id).await;
    let theirs = medkey_protocol::envelope::RecordBinding {
        record_id: ids[1],
        version: 2,
        owner: alice.address(),
        category: Category::LabResults.index(),
        resource_type: "Observation".into(),
    };
    let key = medkey_protocol::envelope::DataKey::generate().unwrap();
    let sealed = medkey_protocol::envelope::record::seal(&key, &theirs, br#"{"resourceType":"Observation"}"#).unwrap();
    let wrapped = wrap::wrap(&key, &alice_secret.public_key(), &theirs).unwrap();
    let body = serde_json::json!({"ciphertext": b64(&sealed), "wrapped_keys": [{"recipient": alice.address(), "wrapped": b64(&wrapped)}]});
    let record_path = format!("/v1/records/{}", alloy::hex::encode(ids[1]));
    let (status, body) = vault.call("PUT", &record_path, Some(&alice_token), Some(body)).await;
    assert_eq!(status, 200, "her own version 2: {body}");
    let mut her_file = Vec::new();
    stream::encrypt(&key, &theirs, stream::DEFAULT_CHUNK, &b"%PDF-1.4 hers"[..], &mut her_file).unwrap();
    let her_path = format!("{record_path}/versions/2/attachment");
    let (status, body) = vault.raw("PUT", &her_path, &lab_token, octets, her_file.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "the writer on her version: {body}");
    let lab_wrapped = wrap::wrap(&key, &encryption_secret(0xB2).public_key(), &theirs).unwrap();
    let keys = serde_json::json!({"wrapped_keys": [{"recipient": lab.address(), "wrapped": b64(&lab_wrapped)}]});
    let (status, body) =
        vault.call("POST", &format!("{record_path}/versions/2/keys"), Some(&lab_token), Some(keys)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "a key on her version: {body}");
    let (status, body) = vault.raw("PUT", &her_path, &alice_token, octets, her_file).await;
    assert_eq!(status, 201, "her own attachment to her own version: {body}");

    medkey_e2e::chain::mined(chain.registry().revoke(grant).from(alice.address()).send().await).await;
    let head = chain.head().await;
    indexer.wait_for_block(head).await;
    vault.wait_for_mirror_head(head).await;
    let (status, body) = vault.raw("PUT", &paths[1], &lab_token, octets, files[1].clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("no_live_grant")), "revoked: {body}");
    // The revoked writer's refused attachment and record creation are in her log.
    let mut refused = upload(alice.address(), 0x63, Category::LabResults, "Observation", &readers);
    refused.body["patient"] = serde_json::json!(alice.address());
    let (status, body) = vault.call("POST", "/v1/records", Some(&lab_token), Some(refused.body.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("no_live_grant")), "{body}");
    let log = vault.state.audit.for_patient(alice.address()).await.unwrap();
    let refusals: Vec<(&str, &str)> = log
        .iter()
        .filter(|e| e.actor == lab.address() && e.outcome == "no_live_grant")
        .map(|e| (e.kind.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(refusals, [("attachment_stored", "no_live_grant"), ("record_created", "no_live_grant")]);
    // A wallet that was never a provider cannot grow her log by trying.
    let before = log.len();
    let mut stranger_record = upload(alice.address(), 0x64, Category::LabResults, "Observation", &readers);
    stranger_record.body["patient"] = serde_json::json!(alice.address());
    let (status, _) = vault.call("POST", "/v1/records", Some(&stranger_token), Some(stranger_record.body)).await;
    assert_eq!(status, 403);
    assert_eq!(vault.state.audit.for_patient(alice.address()).await.unwrap().len(), before);
    db.cleanup().await;
}

/// Storage that does not answer is 503 `blobs_unavailable` (retry), not a 500; nothing is kept,
/// and the same upload succeeds once the storage is back.
async fn unavailable_storage_fails_closed_and_recovers(backend: Backend) {
    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let alice = chain.keys[1].clone();
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let dir = tempfile::tempdir().unwrap();
    let blobs_dir = dir.path().join("blobs");
    let blobs = BlobStore::local(&blobs_dir).unwrap();
    let state = TestVault::state(&indexer, LimitSettings::default(), false).await.with_blobs(blobs, LIMIT);
    let vault = TestVault::serve(state).await;
    let owner = vault.login(&alice, chain.chain_id()).await;
    let record =
        upload(alice.address(), 9, Category::Imaging, "Binary", &[(alice.address(), &encryption_secret(0xA1))]);
    assert_eq!(vault.call("POST", "/v1/records", Some(&owner), Some(record.body.clone())).await.0, 201);
    let mut sealed = Vec::new();
    stream::encrypt(&record.key, &record.binding, stream::DEFAULT_CHUNK, &[7u8; 5_000][..], &mut sealed).unwrap();
    let put = format!("/v1/records/{}/versions/1/attachment", alloy::hex::encode(record.id));

    // The storage's directory is gone and a file stands in its way: every write fails.
    std::fs::remove_dir_all(&blobs_dir).unwrap();
    std::fs::write(&blobs_dir, b"not a directory").unwrap();
    let (status, body) = vault.raw("PUT", &put, &owner, "application/octet-stream", sealed.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("blobs_unavailable")), "{body}");
    let get = format!("/v1/records/{}/attachment", alloy::hex::encode(record.id));
    assert_eq!(vault.call("GET", &get, Some(&owner), None).await.0, 404, "nothing was kept");

    std::fs::remove_file(&blobs_dir).unwrap();
    std::fs::create_dir(&blobs_dir).unwrap();
    let (status, body) = vault.raw("PUT", &put, &owner, "application/octet-stream", sealed.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(vault.bytes(&get, &owner).await, (200, sealed));
    db.cleanup().await;
}

on_both_backends!(attachments_stream_in_and_out_under_the_gate);
on_both_backends!(unavailable_storage_fails_closed_and_recovers);
on_both_backends!(a_writer_attaches_only_under_a_live_write_grant);

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

fn files_under(dir: &std::path::Path) -> usize {
    walk(dir).len()
}
