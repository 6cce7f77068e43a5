//! `medkey dev`: a local chain with the ConsentRegistry deployed, for development and demos.

use medkey_vault::anchoring::{AnchorPolicy, Anchorer};
use medkey_vault::blobs::BlobStore;
use medkey_vault::http::DEFAULT_ATTACHMENT_LIMIT;
use medkey_vault::relay::Relayer;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy::node_bindings::Anvil;
use anyhow::Context;
use clap::Args;
use medkey_indexer::{FreshnessPolicy, Indexer, IndexerConfig, Metrics, Store};
use medkey_vault::identity::IdentityConfig;
use prometheus_client::registry::Registry;

use super::deploy::deploy;
use super::indexer::serve_metrics;
use crate::runtime::{self, Services, StopOn, VaultServer};
use crate::tools;

/// Start a local anvil chain, deploy the ConsentRegistry, mirror it with the indexer and serve
/// the vault on top (both on SQLite), and keep running until Ctrl-C.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey dev --port 8545")]
pub struct DevArgs {
    /// Port for the local chain's JSON-RPC.
    #[arg(long, default_value_t = 8545)]
    pub port: u16,
    /// Directory of per-network deployment files (the local chain writes 31337.json)
    /// [default: deployments/ in the medkey home, never the checkout's tracked files].
    #[arg(long)]
    pub deployments_dir: Option<PathBuf>,
    /// Deploy, print, and exit instead of waiting for Ctrl-C (stops the chain).
    #[arg(long)]
    pub exit_after_deploy: bool,
    /// SQLite file for the chain mirror; reset on every start, like the chain itself
    /// [default: dev/dev.sqlite in the medkey home, $MEDKEY_HOME or ~/.medkey].
    #[arg(long)]
    pub mirror_db: Option<PathBuf>,
    /// Serve the indexer's and the vault's Prometheus metrics on http://ADDR/metrics.
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub metrics_addr: std::net::SocketAddr,
    /// Serve the vault's HTTP API here.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub vault_addr: std::net::SocketAddr,
    /// Directory for attachment ciphertext; emptied on every start, like the chain
    /// [default: dev/blobs in the medkey home].
    #[arg(long)]
    pub blob_dir: Option<PathBuf>,
    /// The patient app's built files, served at the vault's `/` (`make web` builds them).
    #[arg(long, default_value = "web/apps/patient/dist")]
    pub web_root: PathBuf,
    /// The provider app's built files, served at `/provider/`.
    #[arg(long, default_value = "web/apps/provider/dist")]
    pub provider_web_root: PathBuf,
    /// The admin console's built files, served at `/admin/`.
    #[arg(long, default_value = "web/apps/admin/dist")]
    pub admin_web_root: PathBuf,
    /// A provider's FHIR base URL the patient app offers under "Connect a provider" (SMART on
    /// FHIR; `make sandbox` prints one). Repeat for several; the page may connect to these only.
    #[arg(long = "smart-endpoint", value_name = "FHIR_BASE_URL")]
    pub smart_endpoints: Vec<String>,
    /// A SMART User-access Brands Bundle (JSON) whose active FHIR endpoints the app lists by
    /// their brand's name, e.g. config/smart-brands/sandbox.json for `make sandbox`.
    #[arg(long, value_name = "FILE")]
    pub smart_brands: Option<PathBuf>,
    /// The patient app's client id at those providers.
    #[arg(long, default_value = "medkey")]
    pub smart_client_id: String,
}

/// Where dev state goes unless named: under the medkey home, so a checkout stays as cloned.
fn dev_state(named: Option<PathBuf>, default: &str) -> PathBuf {
    named.unwrap_or_else(|| crate::wallet::medkey_home().join("dev").join(default))
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    // The medkey home's deployments/ is where every `medkey` command looks when ./deployments/
    // has no file for the chain.
    let deployments_dir = args.deployments_dir.clone().unwrap_or_else(crate::deployments::home_dir);
    let mirror_db = dev_state(args.mirror_db.clone(), "dev.sqlite");
    let blob_dir = dev_state(args.blob_dir.clone(), "blobs");
    let anvil_path = tools::anvil()?;
    eprintln!("starting anvil ({}) on port {} ...", anvil_path.display(), args.port);
    let anvil = Anvil::at(&anvil_path)
        .port(args.port)
        .try_spawn()
        .with_context(|| format!("starting anvil on port {} (is the port already in use?)", args.port))?;
    let signer = anvil.keys()[0].clone().into();
    let mut deployment = deploy(&anvil.endpoint(), signer, None, 0).await?;
    // The dev operator's audit key comes from anvil's well-known account 0, so it is the same on
    // every start and the committed deployments/31337.json can publish it.
    let audit_key = medkey_vault::http::derived_audit_key(&anvil.keys()[0].to_bytes());
    deployment.audit_key = Some(alloy::hex::encode(audit_key.verifying_key().as_bytes()));
    let path = crate::deployments::save(&deployment, &deployments_dir)?;

    println!("Medkey dev chain is up");
    println!("  RPC              {}", anvil.endpoint());
    println!("  chain id         {}", deployment.chain_id);
    println!("  ConsentRegistry  {}", deployment.address);
    println!("  admin            {} (anvil account 0)", deployment.admin);
    println!(
        "  audit key        {} (Ed25519, signs the vault's tree heads)",
        deployment.audit_key.as_deref().unwrap_or("-")
    );
    println!("  deployment file  {}", path.display());
    if args.exit_after_deploy {
        return Ok(());
    }
    let demo = register_demo_providers(&anvil, &deployment).await?;
    let store = fresh_mirror(&mirror_db).await?;
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let mut config = IndexerConfig::for_deployment(&deployment, anvil.endpoint());
    config.ws_url = Some(anvil.ws_endpoint());
    config.poll_interval = Duration::from_millis(100);
    let indexer = Indexer::connect(config, store.clone(), metrics).await.context("starting the indexer")?;
    let blobs = fresh_blob_dir(&blob_dir)?;
    // anvil account 9 pays the gas of patients' signed grants and revocations (gasless sharing).
    let relayer_key: alloy::signers::local::PrivateKeySigner = anvil.keys()[9].clone().into();
    let relayer =
        Relayer::new(&anvil.endpoint(), relayer_key, deployment.address, deployment.chain_id, Duration::from_secs(30))
            .map_err(|err| anyhow::anyhow!(err))?;
    let vault = vault_state(&store, deployment.chain_id, args.vault_addr).await?;
    let vault = DevVault {
        state: vault.state.with_blobs(blobs, DEFAULT_ATTACHMENT_LIMIT).with_relayer(relayer).with_audit_key(audit_key),
        identity_domain: vault.identity_domain,
    };
    list_demo_providers(&vault.state, &demo, &deployment).await?;
    vault.state.metrics.register(&mut registry);
    serve_metrics(args.metrics_addr, Arc::new(registry)).await?;
    let listener = tokio::net::TcpListener::bind(args.vault_addr)
        .await
        .with_context(|| format!("binding the vault on {} (use --vault-addr)", args.vault_addr))?;
    println!("  chain mirror     sqlite://{} (indexer following; new heads over WebSocket)", mirror_db.display());
    // The address clients use is the SIWE domain's (localhost), so a URL copied from here signs in.
    println!("  vault            http://{} (listening on {})", vault.identity_domain, args.vault_addr);
    let app_config = medkey_vault::http::AppConfig {
        chain_id: deployment.chain_id,
        registry: deployment.address,
        audit_key: deployment.audit_key.clone().unwrap_or_default(),
        dev_rpc_url: Some(anvil.endpoint()),
        smart_endpoints: crate::smart_brands::listed(&args.smart_endpoints, args.smart_brands.as_deref())?,
        smart_client_id: args.smart_client_id.clone(),
    };
    let mut web_app = match medkey_vault::http::WebApp::new(&args.web_root, &app_config) {
        Ok(app) => {
            println!(
                "  patient app      http://{}/ (open it in a browser; built-in dev wallet)",
                vault.identity_domain
            );
            Some(app)
        }
        Err(why) => {
            println!("  patient app      not served: {why}");
            None
        }
    };
    for (name, prefix, dir) in
        [("provider app", "/provider", &args.provider_web_root), ("admin console", "/admin", &args.admin_web_root)]
    {
        let Some(app) = web_app.take() else { break };
        web_app = Some(match app.clone().with_mount(prefix, dir) {
            Ok(mounted) => {
                println!("  {name:<16} http://{}{prefix}/ (built-in dev wallets)", vault.identity_domain);
                mounted
            }
            Err(why) => {
                println!("  {name:<16} not served: {why}");
                app
            }
        });
    }
    println!("  attachments      {} (ciphertext only)", blob_dir.display());
    println!("  relayer          anvil account 9 pays for gasless grants (POST /v1/relay)");
    println!(
        "  audit log        anchored on chain every 100 entries or minute by anvil account 8 (GET /v1/audit/tree-head)"
    );
    println!("  metrics          http://{}/metrics", args.metrics_addr);
    print_walkthrough(&anvil, &demo, args.vault_addr.port(), &deployments_dir);
    println!("Press Ctrl-C to stop.");

    let operator = dev_operator(&anvil, &deployment).await?;
    let anchorer = Anchorer::new(
        &anvil.endpoint(),
        operator,
        deployment.address,
        vault.state.audit.clone(),
        Duration::from_secs(30),
    )
    .map_err(|err| anyhow::anyhow!(err))?;
    let anchor_policy = AnchorPolicy { every_entries: 100, every: Duration::from_secs(60) };
    let services = Services {
        store,
        indexer: Some(indexer),
        vault: Some(VaultServer {
            state: vault.state,
            listener,
            tls: None,
            body_limit: runtime::DEFAULT_BODY_LIMIT,
            server_limits: Default::default(),
            anchoring: Some((anchorer, anchor_policy)),
            web_app,
            sample_metrics: true,
        }),
    };
    let stopped = services.run(StopOn::Signal).await;
    eprintln!("stopping anvil");
    stopped // dropping `anvil` kills the chain
}

struct DevVault {
    state: medkey_vault::http::AppState,
    identity_domain: String,
}

/// The dev vault: a fresh random JWT key each start (sessions end with the process) and the
/// SIWE domain clients reach it by.
async fn vault_state(store: &Store, chain_id: u64, addr: std::net::SocketAddr) -> anyhow::Result<DevVault> {
    let domain = format!("localhost:{}", addr.port());
    let mut secret = zeroize::Zeroizing::new(vec![0u8; 32]);
    getrandom::fill(&mut secret).map_err(|err| anyhow::anyhow!("no OS randomness for the JWT key: {err}"))?;
    let identity = IdentityConfig {
        domain: domain.clone(),
        origin: format!("http://{domain}"),
        chain_id,
        jwt_secret: secret,
        access_ttl: Duration::from_secs(15 * 60),
        refresh_ttl: Duration::from_secs(7 * 86_400),
        require_provider_mfa: false,
        nonce_ttl: Duration::from_secs(5 * 60),
    };
    let state = runtime::vault_state(store, chain_id, identity, FreshnessPolicy::default(), Default::default()).await?;
    Ok(DevVault { state, identity_domain: domain })
}

/// The dev vault's records start over with the chain, so their attachments must too.
fn fresh_blob_dir(dir: &Path) -> anyhow::Result<BlobStore> {
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(err).with_context(|| format!("resetting {}", dir.display()));
        }
        _ => {}
    }
    BlobStore::local(dir).with_context(|| format!("creating the blob directory {}", dir.display()))
}

/// The dev chain starts from genesis every time, so its mirror must too.
async fn fresh_mirror(path: &Path) -> anyhow::Result<Store> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("resetting {}", file.display()));
            }
            _ => {}
        }
    }
    Store::connect(&format!("sqlite://{}", path.display())).await.context("opening the dev chain mirror")
}

/// Two registered providers to share with: anvil accounts 2 (a lab) and 3 (a clinic), each with
/// the encryption key its own `medkey` derives from its wallet key and a directory profile it
/// signed, approved by the admin (anvil account 0, the registrar) as a real registrar would.
async fn register_demo_providers(
    anvil: &alloy::node_bindings::AnvilInstance,
    deployment: &medkey_protocol::Deployment,
) -> anyhow::Result<Vec<DemoProvider>> {
    let admin = crate::wallet::Wallet::from_signer(anvil.keys()[0].clone().into());
    let chain = crate::session::chain_provider(&anvil.endpoint(), &admin)?;
    let registry = medkey_protocol::ConsentRegistry::new(deployment.address, chain);
    let mut demo = Vec::new();
    for (name, index, display_name, organization, npi, taxonomy) in [
        ("lab", 2, "Northside Lab", "Northside Diagnostics", "1234567893", "291U00000X"),
        ("clinic", 3, "Dr. Maria Lopez", "Riverside Family Clinic", "1245319599", "207Q00000X"),
    ] {
        let signer: alloy::signers::local::PrivateKeySigner = anvil.keys()[index].clone().into();
        let key = crate::wallet::encryption_secret_for(&signer).public_key();
        let profile = medkey_protocol::directory::DirectoryProfile {
            provider: signer.address(),
            encryption_key: key.0.into(),
            display_name: display_name.into(),
            organization: organization.into(),
            npi: npi.into(),
            taxonomy: taxonomy.into(),
            city: "Springfield".into(),
            country: "US".into(),
            website: format!("https://{name}.medkey.example"),
            phone: String::new(),
            email: String::new(),
            issued_at: crate::dates::now_ms() / 1000,
        };
        let digest = profile.signing_hash(deployment.chain_id, deployment.address);
        let signature = alloy::signers::SignerSync::sign_hash_sync(&signer, &digest)?.as_bytes().to_vec();
        let hash = profile.commitment(deployment.chain_id, deployment.address);
        registry
            .registerProvider(signer.address(), key.0.into(), hash)
            .send()
            .await
            .with_context(|| format!("registering the demo {name}"))?
            .get_receipt()
            .await?;
        println!("  demo {name:<11} {display_name} {} (anvil account {index}, registered provider)", signer.address());
        demo.push(DemoProvider { name, signer, profile, signature });
    }
    Ok(demo)
}

/// The audit log's anchoring operator: anvil account 8, given OPERATOR_ROLE by the admin here.
/// Each role has an account of its own, so the anchorer never races the admin (the registrar in
/// the console) for a nonce.
async fn dev_operator(
    anvil: &alloy::node_bindings::AnvilInstance,
    deployment: &medkey_protocol::Deployment,
) -> anyhow::Result<alloy::signers::local::PrivateKeySigner> {
    let admin = crate::wallet::Wallet::from_signer(anvil.keys()[0].clone().into());
    let chain = crate::session::chain_provider(&anvil.endpoint(), &admin)?;
    let registry = medkey_protocol::ConsentRegistry::new(deployment.address, chain);
    let operator: alloy::signers::local::PrivateKeySigner = anvil.keys()[8].clone().into();
    let role = alloy::primitives::keccak256("OPERATOR_ROLE");
    registry
        .grantRole(role, operator.address())
        .send()
        .await
        .context("giving the dev operator OPERATOR_ROLE")?
        .get_receipt()
        .await?;
    Ok(operator)
}

/// A demo provider, its signed profile and the signature (listed in the dev vault's directory).
struct DemoProvider {
    name: &'static str,
    signer: alloy::signers::local::PrivateKeySigner,
    profile: medkey_protocol::directory::DirectoryProfile,
    signature: Vec<u8>,
}

/// Files the demo providers' applications with the dev vault; it lists them as soon as its
/// mirror sees their registration.
async fn list_demo_providers(
    state: &medkey_vault::http::AppState,
    demo: &[DemoProvider],
    deployment: &medkey_protocol::Deployment,
) -> anyhow::Result<()> {
    use medkey_vault::directory::{Application, ApplicationKind, ApplicationStatus};
    for provider in demo {
        let application = Application {
            id: medkey_vault::access_requests::new_id(),
            kind: ApplicationKind::Register,
            status: ApplicationStatus::Pending,
            profile: provider.profile.clone(),
            signature: provider.signature.clone(),
            profile_hash: provider.profile.commitment(deployment.chain_id, deployment.address),
            reason: None,
            submitted_at_ms: crate::dates::now_ms(),
            decided_at_ms: None,
        };
        state.directory.submit(&application).await.with_context(|| format!("listing the demo {}", provider.name))?;
    }
    Ok(())
}

/// Three commands that show the whole system, with anvil's public, well-known dev keys.
fn print_walkthrough(
    anvil: &alloy::node_bindings::AnvilInstance,
    demo: &[DemoProvider],
    vault_port: u16,
    deployments_dir: &Path,
) {
    let key = |signer: &alloy::signers::local::PrivateKeySigner| alloy::hex::encode_prefixed(signer.to_bytes());
    let patient: alloy::signers::local::PrivateKeySigner = anvil.keys()[1].clone().into();
    let lab = &demo[0].signer;
    let until = time::OffsetDateTime::now_utc().date().saturating_add(time::Duration::days(30));
    let mut vault = if vault_port == 8080 { String::new() } else { format!(" --vault http://localhost:{vault_port}") };
    if anvil.port() != 8545 {
        vault += &format!(" --rpc-url {}", anvil.endpoint());
    }
    if deployments_dir != Path::new("deployments") && deployments_dir != crate::deployments::home_dir() {
        vault += &format!(" --deployments-dir {}", deployments_dir.display());
    }
    // Printed so they work as they are, from any directory: the example file by its full path,
    // and `medkey` by its full path unless it is on the PATH (`make install` puts it there).
    let medkey = medkey_as_typed();
    let example = example_record();
    println!("Try it (anvil's public dev keys; patient = account 1, lab = account 2):");
    println!("  export MEDKEY_PRIVATE_KEY={}; {medkey} upload {}{vault}", key(&patient), example.display());
    println!("  {medkey} grant --provider {} --categories lab_results --until {until}{vault}", lab.address());
    println!("  MEDKEY_PRIVATE_KEY={} {medkey} provider fetch <record id from upload>{vault}", key(lab));
    if medkey != "medkey" {
        println!("(`make install` puts medkey on your PATH.)");
    }
}

/// An official FHIR example to upload: below the current directory, else in the source checkout
/// this binary was built from.
fn example_record() -> PathBuf {
    let name = "tests/fixtures/fhir-r4/Observation-bloodgroup.json";
    let here = std::env::current_dir().map(|dir| dir.join(name)).unwrap_or_else(|_| PathBuf::from(name));
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    [here, built_from]
        .into_iter()
        .find(|p| p.exists())
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| name.into())
}

/// `medkey` if the PATH finds this very binary under that name, else this binary's full path.
fn medkey_as_typed() -> String {
    let Ok(me) = std::env::current_exe().and_then(|p| p.canonicalize()) else { return "medkey".into() };
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join("medkey").canonicalize().is_ok_and(|found| found == me))
    });
    if on_path { "medkey".into() } else { me.display().to_string() }
}
