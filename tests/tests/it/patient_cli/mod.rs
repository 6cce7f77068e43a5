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

mod consent;
mod portability;
