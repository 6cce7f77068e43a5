//! Directory search with 10,000 listed providers, against the vault's HTTP API served in this
//! process on loopback: N clients at once (default 8) send 4,000 searches, mixing a name fragment, an
//! organisation, an NPI, a specialty with a city, and a page of everyone; each answer must be a
//! 200 with the providers it should have. Prints p50/p99/max latency as a Markdown row for
//! BENCHMARKS.md (target: p99 ≤ 50 ms).
//!
//!     cargo run --release -p medkey-e2e --bin directory_bench -- [sqlite|postgres] [clients]
//!
//! The providers are seeded straight into the vault's tables and a mirror of their registration
//! (as the indexer would write it), so the run measures search, not 10,000 transactions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, FixedBytes};
use alloy::transports::http::reqwest;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::vault::DOMAIN;
use medkey_indexer::model::ProviderStatus;
use medkey_indexer::{FreshnessPolicy, Store};
use medkey_protocol::directory::{DirectoryProfile, taxonomy};
use medkey_vault::directory::{Application, ApplicationKind, ApplicationStatus, ListingFacts};
use medkey_vault::http::AppState;
use medkey_vault::identity::IdentityConfig;
use serde_json::Value;
use zeroize::Zeroizing;

const PROVIDERS: usize = 10_000;
const SEARCHES: usize = 4_000;
const CHAIN_ID: u64 = 31_337;
const CITIES: [&str; 12] = [
    "Springfield",
    "Portland",
    "Salem",
    "Madison",
    "Franklin",
    "Georgetown",
    "Clinton",
    "Arlington",
    "Fairview",
    "Riverside",
    "Greenville",
    "Bristol",
];
const SURNAMES: [&str; 16] = [
    "Lopez", "Nguyen", "Okafor", "Schmidt", "Rossi", "Kowalski", "Haddad", "Tanaka", "Murphy", "Silva", "Cohen",
    "Ivanova", "Mensah", "Larsen", "Patel", "Dubois",
];

fn address(i: usize) -> Address {
    Address::left_padding_from(&(i as u64 + 1).to_be_bytes())
}

fn profile(i: usize, codes: &[&str]) -> DirectoryProfile {
    DirectoryProfile {
        provider: address(i),
        encryption_key: B256::repeat_byte(7),
        display_name: format!("Dr. {} {}", ["Ana", "Ben", "Chloe", "Dev", "Eli"][i % 5], SURNAMES[i % 16])
            + &format!(" {i}"),
        organization: format!("{} Health {}", CITIES[(i / 3) % 12], i % 97),
        npi: format!("{:010}", 1_000_000_000 + i),
        taxonomy: codes[i % codes.len()].to_owned(),
        city: CITIES[i % 12].to_owned(),
        country: "US".into(),
        website: String::new(),
        phone: String::new(),
        email: format!("desk{i}@clinic.example"),
        issued_at: 1_800_000_000,
    }
}

async fn seed(state: &AppState, store: &Store, backend: Backend) {
    let codes: Vec<&str> = taxonomy::named().map(|(code, _)| code).collect();
    let pool = store.pool();
    let mut tx = pool.begin().await.unwrap();
    for i in 0..PROVIDERS {
        let hash = FixedBytes::<31>::left_padding_from(&(i as u64 + 1).to_be_bytes());
        sqlx::query(
            "INSERT INTO provider_events (chain_id, provider, kind, status, encryption_key, profile_hash, \
             block_timestamp, block_number, tx_hash, log_index) VALUES ($1, $2, 'registered', 'active', $3, $4, $5, $6, $7, 0)",
        )
        .bind(CHAIN_ID as i64)
        .bind(address(i).to_vec())
        .bind(B256::repeat_byte(7).to_vec())
        .bind(hash.to_vec())
        .bind(1_800_000_000_i64)
        .bind(i as i64 + 1)
        .bind(B256::left_padding_from(&(i as u64).to_be_bytes()).to_vec())
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    for i in 0..PROVIDERS {
        let hash = FixedBytes::<31>::left_padding_from(&(i as u64 + 1).to_be_bytes());
        let mut id = [0u8; 16];
        id[8..].copy_from_slice(&(i as u64).to_be_bytes());
        let application = Application {
            id,
            kind: ApplicationKind::Register,
            status: ApplicationStatus::Pending,
            profile: profile(i, &codes),
            signature: vec![0x11; 65],
            profile_hash: hash,
            reason: None,
            submitted_at_ms: 1_800_000_000_000,
            decided_at_ms: None,
        };
        state.directory.submit(&application).await.unwrap();
        let facts = ListingFacts {
            provider: address(i),
            status: ProviderStatus::Active,
            profile_hash: hash,
            verified_at_ms: Some(1_800_000_000_000),
            action: None,
        };
        assert!(state.directory.reconcile(&facts, 1_800_000_000_000).await.unwrap());
    }
    if backend == Backend::Postgres {
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    let backend = match std::env::args().nth(1).as_deref() {
        None | Some("sqlite") => Backend::Sqlite,
        Some("postgres") => Backend::Postgres,
        Some(other) => panic!("backend is sqlite or postgres, not {other}"),
    };
    let clients: usize = std::env::args().nth(2).map_or(8, |n| n.parse().expect("clients is a number"));
    let db = TestDb::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    let identity = IdentityConfig {
        domain: DOMAIN.into(),
        origin: format!("https://{DOMAIN}"),
        chain_id: CHAIN_ID,
        jwt_secret: Zeroizing::new(b"a bench-only HMAC key, 32 bytes or more".to_vec()),
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(86_400),
        require_provider_mfa: false,
        nonce_ttl: Duration::from_secs(300),
    };
    let state =
        AppState::new(store.clone(), CHAIN_ID, identity, FreshnessPolicy::default(), Default::default()).await.unwrap();
    let seeding = Instant::now();
    seed(&state, &store, backend).await;
    eprintln!("seeded {PROVIDERS} providers in {:.1} s", seeding.elapsed().as_secs_f64());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = medkey_vault::http::router(state, 256 * 1024);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    // (query, the least number of matches it must find)
    let queries: Arc<Vec<(String, u64)>> = Arc::new(vec![
        ("q=lopez".into(), PROVIDERS as u64 / 16),
        ("q=portland%20health".into(), 1),
        ("q=1000004242".into(), 1),
        // Provider 0 has the first named code and the first city.
        (format!("specialty={}&city=springfield", taxonomy::named().next().unwrap().0), 1),
        ("city=riverside&page=3".into(), PROVIDERS as u64 / 12),
        ("page=40".into(), PROVIDERS as u64),
        ("q=dr.%20ana&country=US".into(), PROVIDERS as u64 / 5),
    ]);
    let http = reqwest::Client::new();
    let warm = http.get(format!("{url}/v1/directory?q=warm")).send().await.unwrap();
    assert_eq!(warm.status(), 200);

    // Each query alone first (one client), so a slow one shows by name.
    for (query, _) in queries.iter() {
        let mut alone = Vec::new();
        for _ in 0..20 {
            let sent = Instant::now();
            let response = http.get(format!("{url}/v1/directory?{query}")).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
            alone.push(sent.elapsed());
        }
        alone.sort();
        eprintln!("  alone: {query:<45} median {:.1} ms", alone[10].as_secs_f64() * 1e3);
    }

    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..clients {
        let (http, url, queries) = (http.clone(), url.clone(), queries.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(SEARCHES / clients);
            for n in 0..SEARCHES / clients {
                let (query, least) = &queries[(worker + n) % queries.len()];
                let sent = Instant::now();
                let response = http.get(format!("{url}/v1/directory?{query}")).send().await.unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap();
                latencies.push(sent.elapsed());
                assert_eq!(status, 200, "{query}: {body}");
                assert!(body["total"].as_u64().unwrap() >= *least, "{query}: {}", body["total"]);
                assert!(!body["providers"].as_array().unwrap().is_empty(), "{query}");
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let wall = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e3);
    println!(
        "| {} | {PROVIDERS} | {SEARCHES} searches, {clients} clients | {} | {} | {} | {:.0} |",
        if backend == Backend::Sqlite { "SQLite" } else { "PostgreSQL" },
        ms(at(0.5)),
        ms(at(0.99)),
        ms(*latencies.last().unwrap()),
        SEARCHES as f64 / wall.as_secs_f64()
    );
}
