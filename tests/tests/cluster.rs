//! The production shape under faults (`make test-cluster` prints its table): PostgreSQL, Redis
//! and Garage of the test's own, one `medkey serve --role indexer`, three `medkey serve --role vault`
//! replicas and HAProxy in front. A bounded mixed workload runs through HAProxy (patients upload
//! records with attachments kept in Garage (a real S3 server), consent is granted and revoked on
//! chain, providers fetch keys and attachments, the audit head is read) while, in turn, a replica
//! is SIGKILLed and restarted, PostgreSQL restarts, Redis stops and starts, Garage stops and
//! starts, and the indexer is SIGKILLed and restarted.
//!
//! Then: every record and attachment acknowledged opens byte for byte; every grant and revocation
//! mined is in the mirror; every key release answered 200 is in the audit log, which verifies and
//! is consistent with the head read before the faults; no key was released under a revoked grant
//! later than the documented bound (`freshness.max_head_age_secs` while the indexer is down);
//! every 5xx carried one of the documented codes, and every request retried succeeded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest;
use medkey_e2e::chain::TestChain;
use medkey_e2e::daemon::Daemon;
use medkey_e2e::engines::free_port;
use medkey_e2e::engines::garage::Garage;
use medkey_e2e::engines::haproxy::Haproxy;
use medkey_e2e::engines::postgres::TempPostgres;
use medkey_e2e::engines::redis::TempRedis;
use medkey_e2e::sealed::{encryption_secret, unb64, upload_as};
use medkey_e2e::serve::{base_config, command, login, write};
use medkey_protocol::Category;
use medkey_protocol::RecordId;
use medkey_protocol::bindings::IConsentRegistry::GrantRequest;
use medkey_protocol::clock::now_ms;
use medkey_protocol::envelope::{DataKey, EncryptionSecret, RecordBinding, record, stream, wrap};
use serde_json::Value;
use sqlx::Row;

const VAULT_SECRET: &str = "c1057e2c1057e2c1057e2c1057e2c1057e2c1057e2c1057e2c1057e2c105a001";
/// While the indexer is down, the vault decides on its last view of the chain for at most this
/// long (`freshness.max_head_age_secs`); then it answers `mirror_stale`.
const MAX_HEAD_AGE_SECS: u64 = 2;
/// What a revocation may take beyond that: the indexer's poll, the vault's mirror poll, clocks.
const REVOCATION_SLACK_MS: u64 = 1_000;
/// The 5xx codes the vault and the load balancer document for a fault (docs/operations.md).
const DOCUMENTED_5XX: [&str; 7] = [
    "database_unavailable",
    "blobs_unavailable",
    "mirror_stale",
    "limits_unavailable",
    "nonces_unavailable",
    "no_replica_available",
    "replica_failed",
];
/// A request is retried for this long at most before the workload counts it as lost.
const RETRY_FOR: Duration = Duration::from_secs(30);
const REPLICAS: usize = 3;

/// Counts of everything the workload sent, for the table and the checks.
#[derive(Default)]
struct Tally {
    sent: u64,
    answered_2xx: u64,
    retried: u64,
    /// Failed attempts by "status code" (e.g. "503 database_unavailable").
    failed: BTreeMap<String, u64>,
    /// Refusals (4xx) by "status code": expected ones, e.g. provider B without a live grant.
    refused: BTreeMap<String, u64>,
    /// Attachments fetched by a provider and compared.
    attachments_fetched: u64,
    /// Requests still failing after [`RETRY_FOR`].
    lost: Vec<String>,
}

/// A record whose upload and attachment were both acknowledged.
#[derive(Clone)]
struct Acked {
    id: RecordId,
    owner: Address,
    binding: RecordBinding,
    key: Arc<DataKey>,
    plaintext: Vec<u8>,
    ciphertext: Vec<u8>,
    attachment: Vec<u8>,
    sealed_attachment: Vec<u8>,
}

/// A consent change mined on chain, and when the receipt came back.
#[derive(Clone, Debug)]
struct ConsentChange {
    grant_id: B256,
    revoked_at_ms: Option<u64>,
}

struct Shared {
    base: String,
    http: reqwest::Client,
    stop: AtomicBool,
    tally: Mutex<Tally>,
    records: Mutex<Vec<Acked>>,
    consent: Mutex<Vec<ConsentChange>>,
    /// Key releases answered 200: (provider, record id) → how many.
    releases: Mutex<BTreeMap<(Address, RecordId), u64>>,
}

/// One attempt's outcome as the table names it: the status and the error code, or the
/// connection error.
/// The status, the body and a label; `None` when the body was cut off (a replica or the object
/// store died while it streamed: hyper has sent the head already and can only drop the
/// connection), which the caller counts as a failure and retries, not as an answer.
async fn outcome(response: reqwest::Response) -> Option<(u16, Vec<u8>, String)> {
    let status = response.status().as_u16();
    let body = response.bytes().await.ok()?.to_vec();
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "(no code)".into());
    Some((status, body, format!("{status} {code}")))
}

impl Shared {
    /// Sends `make()` until it is answered below 500 (or [`RETRY_FOR`] passes): every attempt is
    /// counted, every failure by its code. Returns the last status and body.
    async fn send(&self, what: &str, make: impl Fn() -> reqwest::RequestBuilder) -> Option<(u16, Vec<u8>)> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            self.tally.lock().unwrap().sent += 1;
            if attempt > 0 {
                self.tally.lock().unwrap().retried += 1;
            }
            let failure = match make().send().await {
                Ok(response) => match outcome(response).await {
                    Some((status, body, label)) if status < 500 => {
                        let mut tally = self.tally.lock().unwrap();
                        match status {
                            200..300 => tally.answered_2xx += 1,
                            _ => *tally.refused.entry(label).or_default() += 1,
                        }
                        return Some((status, body));
                    }
                    Some((_, _, label)) => label,
                    None => "body cut off".to_owned(),
                },
                Err(err) if err.is_timeout() => "timeout".to_owned(),
                Err(_) => "connection failed".to_owned(),
            };
            *self.tally.lock().unwrap().failed.entry(failure.clone()).or_default() += 1;
            if started.elapsed() > RETRY_FOR {
                self.tally.lock().unwrap().lost.push(format!("{what}: last {failure}"));
                return None;
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(5)))).await;
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A fresh session for `signer` through the load balancer, retried through faults.
async fn session(shared: &Shared, signer: &PrivateKeySigner) -> String {
    let started = Instant::now();
    loop {
        let nonce = shared.send("nonce", || shared.http.get(format!("{}/v1/auth/nonce", shared.base))).await;
        if nonce.is_some_and(|(status, _)| status == 200) {
            // `login` asserts 200; a fault between the nonce and the login is retried here.
            let attempt = tokio::spawn({
                let (http, base, signer) = (shared.http.clone(), shared.base.clone(), signer.clone());
                async move { login(&http, &base, &signer).await }
            });
            if let Ok(token) = attempt.await {
                return token;
            }
        }
        assert!(started.elapsed() < RETRY_FOR, "no session for {} within {RETRY_FOR:?}", signer.address());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Patients upload records readable by both providers, each with a sealed attachment.
async fn patients(
    shared: Arc<Shared>,
    patients: Vec<(PrivateKeySigner, EncryptionSecret)>,
    readers: Vec<(Address, EncryptionSecret)>,
) {
    let mut tokens = Vec::new();
    for (signer, _) in &patients {
        tokens.push(session(&shared, signer).await);
    }
    let mut n = 0u32;
    while !shared.stopped() {
        let i = n as usize % patients.len();
        let (signer, secret) = &patients[i];
        n += 1;
        let id = RecordId::random().unwrap();
        let mut all_readers: Vec<(Address, &EncryptionSecret)> = vec![(signer.address(), secret)];
        all_readers.extend(readers.iter().map(|(a, s)| (*a, s)));
        let upload = upload_as(id, signer.address(), Category::LabResults, "Observation", &all_readers);
        let token = tokens[i].clone();
        let body = upload.body.to_string();
        let created = shared
            .send("create a record", || {
                shared
                    .http
                    .post(format!("{}/v1/records", shared.base))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone())
            })
            .await;
        // 409 on a retry: the first attempt was stored before its answer was lost.
        let Some((201 | 409, _)) = created else { continue };
        let attachment: Vec<u8> = (0..40_000u32).map(|b| (b.wrapping_mul(7) ^ n) as u8).collect();
        let mut sealed = Vec::new();
        stream::encrypt(&upload.key, &upload.binding, stream::DEFAULT_CHUNK, attachment.as_slice(), &mut sealed)
            .unwrap();
        let put = format!("{}/v1/records/{}/versions/1/attachment", shared.base, alloy::hex::encode(id));
        let stored = shared
            .send("store an attachment", || {
                shared
                    .http
                    .put(&put)
                    .bearer_auth(&token)
                    .header("content-type", "application/octet-stream")
                    .body(sealed.clone())
            })
            .await;
        let Some((201 | 409, _)) = stored else { continue };
        let plaintext = record::open(&upload.key, &upload.binding, &unb64(&upload.body["ciphertext"])).unwrap();
        shared.records.lock().unwrap().push(Acked {
            id,
            owner: signer.address(),
            binding: upload.binding.clone(),
            key: Arc::new(upload.key),
            plaintext,
            ciphertext: unb64(&upload.body["ciphertext"]),
            attachment,
            sealed_attachment: sealed,
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Providers fetch keys of random acknowledged records (and now and then the attachment).
async fn providers(shared: Arc<Shared>, providers: Vec<(PrivateKeySigner, EncryptionSecret)>) {
    let mut tokens = Vec::new();
    for (signer, _) in &providers {
        tokens.push(session(&shared, signer).await);
    }
    let mut n = 0usize;
    while !shared.stopped() {
        n += 1;
        let pick = {
            let records = shared.records.lock().unwrap();
            (!records.is_empty()).then(|| records[(n * 7919) % records.len()].clone())
        };
        let Some(acked) = pick else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let p = n % providers.len();
        let (signer, secret) = &providers[p];
        let token = tokens[p].clone();
        let url = format!("{}/v1/records/{}/key", shared.base, alloy::hex::encode(acked.id));
        let answer = shared.send("release a key", || shared.http.get(&url).bearer_auth(&token)).await;
        if let Some((200, body)) = answer {
            *shared.releases.lock().unwrap().entry((signer.address(), acked.id)).or_default() += 1;
            let body: Value = serde_json::from_slice(&body).unwrap();
            let key =
                wrap::unwrap(&unb64(&body["wrapped_key"]), secret, &acked.binding).expect("the released key opens");
            assert_eq!(key.as_bytes(), acked.key.as_bytes(), "the released key is the record's");
            if n.is_multiple_of(5) {
                let get = format!("{}/v1/records/{}/attachment", shared.base, alloy::hex::encode(acked.id));
                if let Some((200, bytes)) =
                    shared.send("fetch an attachment", || shared.http.get(&get).bearer_auth(&token)).await
                {
                    assert_eq!(bytes, acked.sealed_attachment, "an attachment came back changed");
                    shared.tally.lock().unwrap().attachments_fetched += 1;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The audit head, read as a monitor would.
async fn auditor(shared: Arc<Shared>) {
    while !shared.stopped() {
        shared.send("read the audit head", || shared.http.get(format!("{}/v1/audit/tree-head", shared.base))).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A grant for every record of its categories (the zero records root), not a record set.
fn every_record(mut request: GrantRequest) -> GrantRequest {
    request.recordsRoot = B256::ZERO;
    request
}

/// Provider B's consent is granted and revoked over and over, straight on chain; provider A
/// keeps a grant from both patients throughout.
async fn consent(shared: Arc<Shared>, chain: Arc<TestChain>, provider_b: Address) {
    let patients = [chain.patient(0), chain.patient(1)];
    let mut n = 0usize;
    while !shared.stopped() {
        let patient = patients[n % 2];
        n += 1;
        let request = every_record(chain.request(provider_b, &[Category::LabResults]).await);
        let grant_id = chain.grant(patient, request).await;
        let index = {
            let mut consent = shared.consent.lock().unwrap();
            consent.push(ConsentChange { grant_id, revoked_at_ms: None });
            consent.len() - 1
        };
        tokio::time::sleep(Duration::from_millis(700)).await;
        chain.revoke(patient, grant_id).await;
        shared.consent.lock().unwrap()[index].revoked_at_ms = Some(now_ms());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The cluster: its servers, and how to start a replica or the indexer again.
struct Cluster {
    dir: tempfile::TempDir,
    config: PathBuf,
    postgres: TempPostgres,
    redis: TempRedis,
    garage: Garage,
    indexer: Option<Daemon>,
    replicas: Vec<(u16, Option<Daemon>)>,
}

impl Cluster {
    /// Every process's environment: the secret, its listen address and the object store's keys.
    fn env(&self, listen: u16) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("MEDKEY_VAULT_SECRET", VAULT_SECRET.to_owned()),
            ("MEDKEY_VAULT__LISTEN", format!("127.0.0.1:{listen}")),
            ("MEDKEY_LOG", "warn".to_owned()),
        ];
        env.extend(self.garage.env());
        env
    }

    fn start_role(&self, role: &str, listen: u16) -> Daemon {
        let args = ["--config", self.config.to_str().unwrap(), "--role", role];
        Daemon::spawn(
            &format!("medkey serve --role {role} ({listen})"),
            command(self.dir.path(), &args, &self.env(listen)),
        )
    }

    async fn start_replica(&mut self, i: usize) {
        let port = self.replicas[i].0;
        let mut daemon = self.start_role("vault", port);
        daemon.wait_for(&format!("http://127.0.0.1:{port}/readyz")).await;
        self.replicas[i].1 = Some(daemon);
    }

    async fn start_indexer(&mut self) {
        let mut daemon = self.start_role("indexer", free_port());
        daemon.wait_for_output("Stop with Ctrl-C").await;
        self.indexer = Some(daemon);
    }
}

/// The first record `owner` has acknowledged (waiting up to 30 s for one).
async fn acked_by(shared: &Shared, owner: Address) -> RecordId {
    let started = Instant::now();
    loop {
        if let Some(acked) = shared.records.lock().unwrap().iter().find(|r| r.owner == owner) {
            return acked.id;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let tally = shared.tally.lock().unwrap();
            panic!("no record acknowledged in 30 s: failed {:?}, refused {:?}", tally.failed, tally.refused);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Until `probe` through the load balancer succeeds: the recovery time after a fault.
async fn recovery(started: Instant, probe: impl Fn() -> reqwest::RequestBuilder) -> Duration {
    loop {
        if probe().send().await.is_ok_and(|r| r.status() == 200) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the cluster did not recover within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn audit_verify(
    cluster: &Cluster,
    base: &str,
    state_dir: &Path,
    chain: &TestChain,
    patient: &PrivateKeySigner,
) -> String {
    let out = medkey_e2e::medkey_command()
        .args(["audit", "verify", "--vault", base, "--state-dir"])
        .arg(state_dir)
        .args(["--rpc-url", &chain.rpc_url(), "--registry", &chain.registry.to_string(), "--siwe-domain"])
        .arg(medkey_e2e::vault::DOMAIN)
        .env("MEDKEY_PRIVATE_KEY", alloy::hex::encode_prefixed(patient.to_bytes()))
        .current_dir(cluster.dir.path())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "medkey audit verify failed:\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn survives_faults_with_nothing_lost() {
    let postgres = TempPostgres::start(None);
    let redis = TempRedis::start(None);
    let chain = Arc::new(TestChain::start().await);
    let garage = tokio::task::block_in_place(Garage::start);
    let dir = tempfile::Builder::new().prefix("medkey-cluster").tempdir().unwrap();
    let mut config =
        base_config(&chain.rpc_url(), &chain.registry.to_string(), chain.deploy_block, &postgres.url("127.0.0.1", ""));
    config = config.replace("dir = \"blobs\"", &format!("backend = \"s3\"\nbucket = \"{}\"", garage.bucket));
    config.push_str(&format!(
        r#"
[redis]
url = "redis://127.0.0.1:{}/0"

[vault]
trusted_proxies = ["127.0.0.1"]

[freshness]
max_head_age_secs = {MAX_HEAD_AGE_SECS}

[limits]
release_per_address_per_minute = 1000000
release_per_ip_per_minute = 1000000
login_per_ip_per_minute = 100000
patients_per_address_per_hour = 100000
"#,
        redis.port
    ));
    let config_path = write(dir.path(), "medkey.toml", &config);
    let mut cluster = Cluster {
        dir,
        config: config_path,
        postgres,
        redis,
        garage,
        indexer: None,
        replicas: (0..REPLICAS).map(|_| (free_port(), None)).collect(),
    };
    cluster.start_indexer().await;
    for i in 0..REPLICAS {
        cluster.start_replica(i).await;
    }
    let ports: Vec<u16> = cluster.replicas.iter().map(|(port, _)| *port).collect();
    let haproxy = Haproxy::start(&ports);
    let base = format!("http://127.0.0.1:{}", haproxy.port);

    // Provider A keeps a grant from both patients; provider B's comes and goes.
    let (provider_a, provider_b) = (chain.keys[3].clone(), chain.keys[4].clone());
    for provider in [provider_a.address(), provider_b.address()] {
        chain.register_provider(provider).await;
    }
    for patient in [chain.patient(0), chain.patient(1)] {
        let request = every_record(chain.request(provider_a.address(), &[Category::LabResults]).await);
        chain.grant(patient, request).await;
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let shared = Arc::new(Shared {
        base: base.clone(),
        http,
        stop: AtomicBool::new(false),
        tally: Mutex::default(),
        records: Mutex::default(),
        consent: Mutex::default(),
        releases: Mutex::default(),
    });
    let secrets = |byte: u8| encryption_secret(byte);
    let readers = vec![(provider_a.address(), secrets(0xA0)), (provider_b.address(), secrets(0xB0))];
    let workload = vec![
        tokio::spawn(patients(
            shared.clone(),
            vec![(chain.keys[1].clone(), secrets(0x01)), (chain.keys[2].clone(), secrets(0x02))],
            readers,
        )),
        tokio::spawn(providers(
            shared.clone(),
            vec![(provider_a.clone(), secrets(0xA0)), (provider_b.clone(), secrets(0xB0))],
        )),
        tokio::spawn(auditor(shared.clone())),
        tokio::spawn(consent(shared.clone(), chain.clone(), provider_b.address())),
    ];

    tokio::time::sleep(Duration::from_secs(3)).await;
    let audit_state = cluster.dir.path().join("audit-state");
    let patient = chain.keys[1].clone();
    audit_verify(&cluster, &base, &audit_state, &chain, &patient);

    // The faults, one after the other, each held for a while under load. Recovery is the first
    // request through HAProxy that succeeds: readiness, or for the object store an attachment.
    let ready = || shared.http.get(format!("{base}/readyz"));
    let probe_token = session(&shared, &patient).await;
    let probe_record = acked_by(&shared, patient.address()).await;
    let attachment = || {
        let url = format!("{base}/v1/records/{}/attachment", alloy::hex::encode(probe_record));
        shared.http.get(url).bearer_auth(&probe_token)
    };
    let mut recoveries: Vec<(&str, Duration)> = Vec::new();
    let hold = Duration::from_secs(3);

    let killed = cluster.replicas[1].1.take().unwrap().kill();
    assert!(!killed.contains("panicked"), "{killed}");
    tokio::time::sleep(hold).await;
    let lifted = Instant::now();
    cluster.start_replica(1).await;
    recoveries.push(("SIGKILL a vault replica, restart it", recovery(lifted, ready).await));

    tokio::task::block_in_place(|| cluster.postgres.stop());
    tokio::time::sleep(hold).await;
    let lifted = Instant::now();
    tokio::task::block_in_place(|| cluster.postgres.start_again());
    recoveries.push(("restart PostgreSQL", recovery(lifted, ready).await));

    cluster.redis.stop();
    tokio::time::sleep(hold).await;
    let lifted = Instant::now();
    tokio::task::block_in_place(|| cluster.redis.start_again());
    recoveries.push(("stop Redis, start it again", recovery(lifted, ready).await));

    cluster.garage.stop();
    tokio::time::sleep(hold).await;
    let lifted = Instant::now();
    tokio::task::block_in_place(|| cluster.garage.start_again());
    recoveries.push(("stop the object store, start it again", recovery(lifted, attachment).await));

    cluster.indexer.take().unwrap().kill();
    tokio::time::sleep(hold).await;
    let lifted = Instant::now();
    cluster.start_indexer().await;
    recoveries.push(("SIGKILL the indexer, restart it", recovery(lifted, ready).await));

    tokio::time::sleep(Duration::from_secs(2)).await;
    shared.stop.store(true, Ordering::Relaxed);
    for task in workload {
        task.await.expect("a workload task panicked");
    }

    // 1. Every acknowledged record and attachment opens byte for byte (as its owner).
    let records = shared.records.lock().unwrap().clone();
    assert!(records.len() >= 20, "the workload acknowledged only {} records", records.len());
    let mut owner_tokens = BTreeMap::new();
    for signer in [&chain.keys[1], &chain.keys[2]] {
        owner_tokens.insert(signer.address(), login(&shared.http, &base, signer).await);
    }
    for acked in &records {
        let token = &owner_tokens[&acked.owner];
        let id = alloy::hex::encode(acked.id);
        let response = shared.http.get(format!("{base}/v1/records/{id}")).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200, "record {id} was acknowledged but is gone");
        let body: Value = response.json().await.unwrap();
        let ciphertext = unb64(&body["ciphertext"]);
        assert_eq!(ciphertext, acked.ciphertext, "record {id} changed");
        assert_eq!(record::open(&acked.key, &acked.binding, &ciphertext).unwrap(), acked.plaintext);
        let response =
            shared.http.get(format!("{base}/v1/records/{id}/attachment")).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200, "attachment of {id} was acknowledged but is gone");
        let sealed = response.bytes().await.unwrap().to_vec();
        let mut opened = Vec::new();
        stream::decrypt(&acked.key, &acked.binding, sealed.as_slice(), &mut opened).unwrap();
        assert_eq!(opened, acked.attachment, "attachment of {id} changed");
    }

    // 2. Every grant and revocation mined is in the mirror.
    let consent = shared.consent.lock().unwrap().clone();
    let pool = sqlx::PgPool::connect(&cluster.postgres.url("127.0.0.1", "")).await.unwrap();
    for change in &consent {
        let row = sqlx::query("SELECT revoked_block IS NOT NULL AS revoked FROM grants WHERE grant_id = $1")
            .bind(change.grant_id.as_slice())
            .fetch_optional(&pool)
            .await
            .unwrap();
        let row = row.unwrap_or_else(|| panic!("grant {} was mined but is not in the mirror", change.grant_id));
        if change.revoked_at_ms.is_some() {
            assert!(row.get::<bool, _>("revoked"), "the revocation of {} was mined but not mirrored", change.grant_id);
        }
    }

    // 3. Every key release answered 200 is in the audit log (a lost answer may log more).
    let logged: BTreeMap<(Address, RecordId), u64> = sqlx::query(
        "SELECT actor, record_id, COUNT(*) AS n FROM access_log WHERE kind = 'key_released' GROUP BY actor, record_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .map(|row| {
        let actor = Address::from_slice(&row.get::<Vec<u8>, _>("actor"));
        let id: RecordId = row.get::<Vec<u8>, _>("record_id").try_into().unwrap();
        ((actor, id), row.get::<i64, _>("n") as u64)
    })
    .collect();
    let releases = shared.releases.lock().unwrap().clone();
    let released: u64 = releases.values().sum();
    for (who, answered) in &releases {
        let in_log = logged.get(who).copied().unwrap_or(0);
        assert!(in_log >= *answered, "{answered} releases to {} answered, {in_log} in the audit log", who.0);
    }

    // 4. No key released under a revoked grant after the documented bound.
    let bound_ms = MAX_HEAD_AGE_SECS * 1_000 + REVOCATION_SLACK_MS;
    let mut late = Vec::new();
    for change in consent.iter().filter(|c| c.revoked_at_ms.is_some()) {
        let revoked_at = change.revoked_at_ms.unwrap();
        let rows =
            sqlx::query("SELECT at_ms FROM access_log WHERE kind = 'key_released' AND grant_id = $1 AND at_ms > $2")
                .bind(change.grant_id.as_slice())
                .bind((revoked_at + bound_ms) as i64)
                .fetch_all(&pool)
                .await
                .unwrap();
        for row in rows {
            late.push(format!(
                "{} released {} ms after its revocation",
                change.grant_id,
                row.get::<i64, _>("at_ms") as u64 - revoked_at
            ));
        }
    }
    assert!(late.is_empty(), "keys released after revocation beyond {bound_ms} ms: {late:?}");

    // 5. The log verifies, entry by entry, and extends the head read before the faults.
    let verified = audit_verify(&cluster, &base, &audit_state, &chain, &patient);
    assert!(verified.contains("extends"), "{verified}");

    // 6. Every 5xx carried a documented code; every retried request got through.
    let tally = shared.tally.lock().unwrap();
    let undocumented: Vec<&String> = tally
        .failed
        .keys()
        .filter(|label| label.starts_with('5') && !DOCUMENTED_5XX.iter().any(|code| label.ends_with(code)))
        .collect();
    println!(
        "\nCluster under faults: 1 indexer, {REPLICAS} vault replicas behind HAProxy, PostgreSQL, Redis, Garage (S3)"
    );
    println!("{:<40} {:>12}", "fault", "recovered in");
    for (fault, took) in &recoveries {
        println!("{fault:<40} {:>9} ms", took.as_millis());
    }
    println!("\n{:<40} {:>12}", "requests", "count");
    println!("{:<40} {:>12}", "sent (attempts)", tally.sent);
    println!("{:<40} {:>12}", "answered 2xx", tally.answered_2xx);
    println!("{:<40} {:>12}", "retried", tally.retried);
    for (label, n) in &tally.failed {
        println!("{:<40} {:>12}", format!("failed: {label}"), n);
    }
    for (label, n) in &tally.refused {
        println!("{:<40} {:>12}", format!("refused: {label}"), n);
    }
    println!("{:<40} {:>12}", "lost (still failing after 30 s)", tally.lost.len());
    println!("\n{:<40} {:>12}", "records + attachments acknowledged", records.len());
    println!("{:<40} {:>12}", "opened byte for byte", records.len());
    println!("{:<40} {:>12}", "grants mined / in the mirror", consent.len());
    println!(
        "{:<40} {:>12}",
        "revocations mined / in the mirror",
        consent.iter().filter(|c| c.revoked_at_ms.is_some()).count()
    );
    println!("{:<40} {:>12}", "key releases answered 200", released);
    println!("{:<40} {:>12}", "key releases in the audit log", logged.values().sum::<u64>());
    println!("{:<40} {:>12}", "attachments fetched by providers", tally.attachments_fetched);
    println!("{:<40} {:>12}", "releases after revocation + bound", late.len());
    assert!(released >= 50, "too few key releases to mean anything: {released}");
    assert!(tally.attachments_fetched >= 5, "too few attachments fetched: {}", tally.attachments_fetched);
    assert!(undocumented.is_empty(), "5xx answers without a documented code: {undocumented:?}");
    assert!(tally.lost.is_empty(), "requests that never got through: {:?}", tally.lost);
    drop(haproxy);
}
