//! Audit log benchmark (not a test): appends per second through the vault's sequencer (group
//! commit, leaves in the tree and proofs available as soon as an append returns), on SQLite and
//! PostgreSQL; then, on a tree of 1,000,000 entries, how long building it, an inclusion proof and
//! a consistency proof take.
//!
//!     cargo run --release -p medkey-e2e --bin audit_bench -- [appends] [concurrency]
//!
//! Prints Markdown rows for BENCHMARKS.md.

use std::time::Instant;

use alloy::primitives::Address;
use medkey_e2e::db::{Backend, TestDb};
use medkey_protocol::RecordId;
use medkey_protocol::audit::{AuditEntry, Tree};
use medkey_vault::audit_log::AuditLog;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let appends: u64 = args.next().map_or(200_000, |n| n.parse().expect("appends is a number"));
    let concurrency: u64 = args.next().map_or(512, |n| n.parse().expect("concurrency is a number"));

    println!("| backend | appends | concurrent appenders | appends/s |");
    println!("|---|---|---|---|");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let store = medkey_indexer::Store::connect(&db.url).await.unwrap();
        let log = AuditLog::open(medkey_vault::db::migrate(&store).await.unwrap(), store.backend()).await.unwrap();
        let started = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|w| {
                let log = log.clone();
                tokio::spawn(async move {
                    for i in (w..appends).step_by(concurrency as usize) {
                        let entry = AuditEntry {
                            patient: Some(Address::repeat_byte(1)),
                            record_id: Some(RecordId::from([(i % 251) as u8; 16])),
                            ..AuditEntry::new("key_released", Address::repeat_byte(2), i)
                        };
                        log.append(&entry).await.unwrap();
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
        let elapsed = started.elapsed();
        assert_eq!(log.tree().await.unwrap().len(), appends, "every append is in the tree");
        println!("| {backend:?} | {appends} | {concurrency} | {:.0} |", appends as f64 / elapsed.as_secs_f64());
        store.close().await;
        db.cleanup().await;
    }

    const SIZE: usize = 1_000_000;
    let started = Instant::now();
    let mut tree = Tree::new();
    for i in 0..SIZE as u64 {
        tree.push(AuditEntry::new("key_released", Address::repeat_byte(2), i).leaf());
    }
    let built = started.elapsed();
    let root = tree.root();
    let samples = 10_000;
    let started = Instant::now();
    let mut proof_bytes = 0;
    for k in 0..samples {
        let index = (k * 7_919) % SIZE;
        let proof = tree.prove_inclusion(index);
        proof_bytes += proof.as_bytes().len();
        if k % 1_000 == 0 {
            let entry = AuditEntry::new("key_released", Address::repeat_byte(2), index as u64);
            root.verify_inclusion(&entry.leaf(), index as u64, &proof).unwrap();
        }
    }
    let inclusion = started.elapsed() / samples as u32;
    let started = Instant::now();
    for k in 1..=samples {
        let proof = tree.prove_consistency((k * 97) % SIZE);
        proof_bytes += proof.as_bytes().len();
    }
    let consistency = started.elapsed() / samples as u32;
    println!();
    println!("| tree size | build (hash every entry and node) | inclusion proof | consistency proof |");
    println!("|---|---|---|---|");
    println!("| {SIZE} | {built:.2?} | {inclusion:.2?} | {consistency:.2?} |");
    eprintln!("({proof_bytes} proof bytes generated)");
}
