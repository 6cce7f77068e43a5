//! Exactly once across crashes: `medkey indexer` killed with SIGKILL in the middle of a backfill
//! and restarted ends with a mirror identical, row by row, to an uninterrupted run.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::dump;
use medkey_e2e::on_both_backends;
use medkey_indexer::Store;
use medkey_protocol::Category;

fn indexer_process(chain: &TestChain, database_url: &str, exit_when_synced: bool) -> Child {
    let mut cmd = medkey_e2e::medkey_command();
    cmd.args(["indexer", "--no-metrics", "--initial-log-range", "2", "--max-log-range", "2", "--max-reorg-depth", "3"])
        .args(["--rpc-url", &chain.rpc_url(), "--database-url", database_url])
        .args(["--registry", &chain.registry.to_string(), "--deploy-block", &chain.deploy_block.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if exit_when_synced {
        cmd.arg("--exit-when-synced");
    }
    cmd.spawn().expect("medkey indexer starts")
}

fn wait_success(mut child: Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "medkey indexer failed: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "medkey indexer did not finish within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn survives_sigkill_mid_backfill(backend: Backend) {
    let chain = TestChain::start().await;
    let lab = chain.provider_account(0);
    chain.register_provider(lab).await;
    // 150 blocks of history: grants (single and batched), revocations, a suspension.
    let mut previous = None;
    for i in 0..150u32 {
        let category = [Category::LabResults, Category::Imaging, Category::Vitals][i as usize % 3];
        let mut request = chain.request(lab, &[category]).await;
        request.expiresAt += i; // every request distinct
        if i % 10 == 0 {
            chain
                .grant_batch(
                    chain.patient(1),
                    vec![
                        request.clone(),
                        medkey_protocol::bindings::IConsentRegistry::GrantRequest { write: true, ..request },
                    ],
                )
                .await;
        } else if i % 7 == 0 {
            chain.revoke(chain.patient(0), previous.take().expect("a grant to revoke")).await;
        } else {
            previous = Some(chain.grant(chain.patient(0), request).await);
        }
    }
    chain
        .registry()
        .suspendProvider(lab, medkey_e2e::chain::REASON_HASH)
        .from(chain.admin())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let head = chain.head().await;

    let reference_db = TestDb::new(backend).await;
    wait_success(indexer_process(&chain, &reference_db.url, true));

    let crashed_db = TestDb::new(backend).await;
    let store = Store::connect(&crashed_db.url).await.unwrap();
    let mut kills = 0;
    // Kill it twice at different points of the backfill, then let it finish.
    for kill_after in [head / 3, 2 * head / 3] {
        let mut child = indexer_process(&chain, &crashed_db.url, true);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let at = store.checkpoint(chain.chain_id()).await.unwrap().map_or(0, |c| c.block.number);
            if at >= kill_after {
                child.kill().unwrap(); // SIGKILL: no cleanup, mid-transaction or not
                child.wait().unwrap();
                assert!(at < head, "killed after the backfill finished (at {at} of {head}): not a mid-backfill crash");
                kills += 1;
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "indexer exited before it could be killed");
            assert!(Instant::now() < deadline, "backfill did not reach block {kill_after}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    assert_eq!(kills, 2);
    wait_success(indexer_process(&chain, &crashed_db.url, true));

    let reference = Store::connect(&reference_db.url).await.unwrap();
    let (expected, actual) = (dump(&reference).await, dump(&store).await);
    assert!(expected.len() > 140, "the reference mirror holds the history ({} rows)", expected.len());
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(&expected) {
        assert_eq!(a, e, "row differs after crash and restart");
    }
    reference.close().await;
    store.close().await;
    reference_db.cleanup().await;
    crashed_db.cleanup().await;
}
on_both_backends!(survives_sigkill_mid_backfill);
