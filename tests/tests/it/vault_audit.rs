//! The audit log as a client checks it, on both backends: signed tree heads under the published
//! operator key, an inclusion proof for every entry a patient or provider sees, consistency
//! between successive heads, and tampering with stored entries caught by the client and by the
//! vault at start-up.

use alloy::primitives::B256;
use ed25519_dalek::VerifyingKey;
use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::on_both_backends;
use medkey_e2e::scenario::AuditedWorld;
use medkey_protocol::audit::{AuditEntry, Consistency, Inclusion, SignedTreeHead};
use medkey_vault::audit_log::AuditLog;
use serde_json::Value;

fn proof_bytes(hashes: &Value) -> Vec<u8> {
    hashes.as_array().unwrap().iter().flat_map(|h| alloy::hex::decode(h.as_str().unwrap()).unwrap()).collect()
}

/// What `medkey audit verify` does with `/v1/audit/entries`: every entry is in the signed head.
/// Returns the head and the entries, or what failed.
fn check_entries(body: &Value, operator: &VerifyingKey) -> Result<(SignedTreeHead, Vec<AuditEntry>), String> {
    let head: SignedTreeHead = serde_json::from_value(body["tree_head"].clone()).unwrap();
    head.verify(operator).map_err(|e| e.to_string())?;
    let root = head.root_hash();
    let mut entries = Vec::new();
    for item in body["entries"].as_array().unwrap() {
        let entry: AuditEntry = serde_json::from_value(item["entry"].clone()).unwrap();
        let index = item["leaf_index"].as_u64().unwrap();
        let proof = Inclusion::from_bytes(proof_bytes(&item["proof"]));
        root.verify_inclusion(&entry.leaf(), index, &proof).map_err(|e| format!("entry {index}: {e:?}"))?;
        entries.push(entry);
    }
    Ok((head, entries))
}

async fn every_entry_is_proven_and_heads_stay_consistent(backend: Backend) {
    let AuditedWorld { db, indexer, vault, clinic, patient_token: patient, lab_token, clinic_token, key_path, .. } =
        AuditedWorld::start(backend).await;
    let (_, key) = vault.call("GET", "/.well-known/medkey-audit-key", None, None).await;
    assert_eq!(key["algorithm"], "Ed25519");
    let operator_bytes: [u8; 32] = alloy::hex::decode(key["public_key"].as_str().unwrap()).unwrap().try_into().unwrap();
    let operator = VerifyingKey::from_bytes(&operator_bytes).unwrap();

    // The patient sees her sign-in and the three record events, each proven; the clinic sees
    // only what it caused (its sign-in and the denial).
    let (status, body) = vault.call("GET", "/v1/audit/entries", Some(&patient), None).await;
    assert_eq!(status, 200, "{body}");
    let (first_head, seen) = check_entries(&body, &operator).unwrap();
    let kinds: Vec<&str> = seen.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["login", "record_created", "key_released", "key_denied"]);
    assert_eq!(seen[3].outcome, "no_live_grant");
    let (_, body) = vault.call("GET", "/v1/audit/entries", Some(&clinic_token), None).await;
    let (_, clinic_sees) = check_entries(&body, &operator).unwrap();
    assert!(clinic_sees.iter().all(|e| e.actor == clinic.address()) && clinic_sees.len() == 2);

    // More activity; the new head extends the one the patient kept.
    assert_eq!(vault.call("GET", &key_path, Some(&lab_token), None).await.0, 200);
    let (status, body) =
        vault.call("GET", &format!("/v1/audit/consistency?from={}", first_head.size), None, None).await;
    assert_eq!(status, 200, "{body}");
    let new_head: SignedTreeHead = serde_json::from_value(body["tree_head"].clone()).unwrap();
    new_head.verify(&operator).unwrap();
    assert_eq!(new_head.size, first_head.size + 1);
    let proof = Consistency::try_from_bytes(proof_bytes(&body["proof"])).unwrap();
    new_head.root_hash().verify_consistency(&first_head.root_hash(), &proof).unwrap();
    // A head with another root at the kept size (a fork) is not extended by the new one.
    let forked = SignedTreeHead { root: B256::repeat_byte(1), ..first_head.clone() };
    assert!(new_head.root_hash().verify_consistency(&forked.root_hash(), &proof).is_err());
    for bad in ["0", "99999"] {
        let (status, body) = vault.call("GET", &format!("/v1/audit/consistency?from={bad}"), None, None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_size")));
    }

    // Someone edits a stored denial into a success: the client's proof check fails on it...
    let pool = indexer.store.pool();
    sqlx::query("UPDATE access_log SET outcome = 'ok' WHERE kind = 'key_denied'").execute(pool).await.unwrap();
    let (_, body) = vault.call("GET", "/v1/audit/entries", Some(&patient), None).await;
    let failure = check_entries(&body, &operator).unwrap_err();
    assert!(failure.starts_with("entry 5"), "{failure}");
    // ...and a vault starting on that database refuses to serve the log.
    let vault_pool = medkey_vault::db::migrate(&indexer.store).await.unwrap();
    let reopened = AuditLog::open(vault_pool.clone(), indexer.store.backend()).await;
    assert!(matches!(reopened, Err(medkey_vault::audit_log::OpenError::Tampered(_))), "{reopened:?}");
    // Putting it back, then deleting an entry, is caught as well.
    sqlx::query("UPDATE access_log SET outcome = 'no_live_grant' WHERE kind = 'key_denied'")
        .execute(pool)
        .await
        .unwrap();
    assert!(AuditLog::open(vault_pool.clone(), indexer.store.backend()).await.is_ok());
    sqlx::query("DELETE FROM access_log WHERE leaf_index = 1").execute(pool).await.unwrap();
    assert!(AuditLog::open(vault_pool, indexer.store.backend()).await.is_err(), "a deleted entry");
    db.cleanup().await;
}
on_both_backends!(every_entry_is_proven_and_heads_stay_consistent);

/// Two replicas on one database append at once: indices stay dense and unique, and both end
/// with the same tree, so either one's heads and proofs hold for every entry.
async fn replicas_sequence_one_log(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = medkey_indexer::Store::connect(&db.url).await.unwrap();
    let pool = medkey_vault::db::migrate(&store).await.unwrap();
    let a = AuditLog::open(pool.clone(), store.backend()).await.unwrap();
    let b = AuditLog::open(pool.clone(), store.backend()).await.unwrap();
    let actor = alloy::primitives::Address::repeat_byte(7);
    let appends = (0..200u64).map(|i| {
        let log = if i % 2 == 0 { a.clone() } else { b.clone() };
        let entry = AuditEntry::new("key_released", actor, i);
        async move { log.append(&entry).await }
    });
    for result in futures_util::future::join_all(appends).await {
        result.unwrap();
    }
    let root_a = a.tree().await.unwrap().root();
    let root_b = b.tree().await.unwrap().root();
    assert_eq!(root_a, root_b);
    assert_eq!(root_a.num_leaves(), 200);
    let mut times: Vec<u64> = a.for_actor(actor).await.unwrap().iter().map(|e| e.at_ms).collect();
    times.sort_unstable();
    assert_eq!(times, (0..200).collect::<Vec<_>>(), "every entry once");
    assert!(AuditLog::open(pool, store.backend()).await.is_ok(), "and the stored log checks out");
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(replicas_sequence_one_log);

/// The tree head goes on chain: on demand, by the size policy, never twice for one size; the
/// indexer mirrors it; and the current log is provably an extension of the anchored head.
async fn tree_heads_are_anchored_on_chain(backend: Backend) {
    use medkey_vault::anchoring::{AnchorPolicy, Anchorer};
    use std::time::Duration;

    let chain = TestChain::start().await;
    let db = TestDb::new(backend).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    let pool = medkey_vault::db::migrate(&indexer.store).await.unwrap();
    let log = AuditLog::open(pool, indexer.store.backend()).await.unwrap();
    let actor = alloy::primitives::Address::repeat_byte(7);
    let append = |n: u64| {
        let log = log.clone();
        async move {
            for i in 0..n {
                log.append(&AuditEntry::new("key_released", actor, i)).await.unwrap();
            }
        }
    };
    // anvil account 0 deployed the registry and holds OPERATOR_ROLE.
    let anchorer =
        Anchorer::new(&chain.rpc_url(), chain.keys[0].clone(), chain.registry, log.clone(), Duration::from_secs(30))
            .unwrap();
    assert_eq!(anchorer.anchor_now().await.unwrap(), None, "nothing to anchor in an empty log");
    append(5).await;
    let anchored = anchorer.anchor_now().await.unwrap().expect("anchored");
    assert_eq!(anchored.size, 5);
    assert_eq!(anchorer.anchor_now().await.unwrap(), None, "the same size is not anchored twice");
    let on_chain = chain.registry().latestAuditAnchor().call().await.unwrap();
    assert_eq!((on_chain.root, on_chain.size), (anchored.root, 5));
    indexer.wait_for_block(chain.head().await).await;
    let mirrored = indexer.store.latest_anchor(chain.chain_id()).await.unwrap().expect("mirrored");
    assert_eq!((mirrored.root, mirrored.size), (anchored.root, 5));

    // By policy: three more entries trigger the next anchor without being asked.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let policy = AnchorPolicy { every_entries: 3, every: Duration::from_secs(3600) };
    let running = tokio::spawn(anchorer.clone().run(policy, async move {
        let _ = stopped.await;
    }));
    append(3).await;
    let mut size = 0;
    for _ in 0..100 {
        size = chain.registry().latestAuditAnchor().call().await.unwrap().size;
        if size == 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(size, 8, "anchored by the entry-count policy");
    stop.send(()).unwrap();
    running.await.unwrap();

    // The log keeps growing; it stays provably an extension of the first anchored head.
    append(2).await;
    let (verdict, fork_verdict) = {
        let tree = log.tree().await.unwrap();
        assert_eq!(tree.len(), 10);
        let proof = tree.prove_consistency(10 - 5);
        let first = medkey_protocol::audit::Root::new(anchored.root.0.into(), 5);
        let forked = medkey_protocol::audit::Root::new(B256::repeat_byte(3).0.into(), 5);
        (tree.root().verify_consistency(&first, &proof), tree.root().verify_consistency(&forked, &proof))
    };
    assert!(verdict.is_ok(), "{verdict:?}");
    assert!(fork_verdict.is_err(), "a head the chain never held does not match");
    db.cleanup().await;
}
on_both_backends!(tree_heads_are_anchored_on_chain);
