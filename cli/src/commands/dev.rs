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
use crate::signals::shutdown_signal;
use crate::tools;

/// Start a local anvil chain, deploy the ConsentRegistry, mirror it with the indexer and serve
/// the vault on top (both on SQLite), and keep running until Ctrl-C.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey dev --port 8545")]
pub struct DevArgs {
    /// Port for the local chain's JSON-RPC.
    #[arg(long, default_value_t = 8545)]
    pub port: u16,
    /// Directory of per-network deployment files (the local chain writes 31337.json).
    #[arg(long, default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Deploy, print, and exit instead of waiting for Ctrl-C (stops the chain).
    #[arg(long)]
    pub exit_after_deploy: bool,
    /// SQLite file for the chain mirror; reset on every start, like the chain itself.
    #[arg(long, default_value = ".medkey/dev.sqlite")]
    pub mirror_db: PathBuf,
    /// Serve the indexer's Prometheus metrics on http://ADDR/metrics.
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub metrics_addr: std::net::SocketAddr,
    /// Serve the vault's HTTP API here.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub vault_addr: std::net::SocketAddr,
    /// Directory for attachment ciphertext; emptied on every start, like the chain.
    #[arg(long, default_value = ".medkey/blobs")]
    pub blob_dir: PathBuf,
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    let anvil_path = tools::anvil()?;
    eprintln!("starting anvil ({}) on port {} ...", anvil_path.display(), args.port);
    let anvil = Anvil::at(&anvil_path)
        .port(args.port)
        .try_spawn()
        .with_context(|| format!("starting anvil on port {} (is the port already in use?)", args.port))?;
    let signer = anvil.keys()[0].clone().into();
    let deployment = deploy(&anvil.endpoint(), signer, None, 0).await?;
    let path = deployment.save(&args.deployments_dir)?;

    println!("Medkey dev chain is up");
    println!("  RPC              {}", anvil.endpoint());
    println!("  chain id         {}", deployment.chain_id);
    println!("  ConsentRegistry  {}", deployment.address);
    println!("  admin            {} (anvil account 0)", deployment.admin);
    println!("  deployment file  {}", path.display());
    if args.exit_after_deploy {
        return Ok(());
    }
    let store = fresh_mirror(&args.mirror_db).await?;
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    serve_metrics(args.metrics_addr, Arc::new(registry)).await?;
    let mut config = IndexerConfig::for_deployment(&deployment, anvil.endpoint());
    config.ws_url = Some(anvil.ws_endpoint());
    config.poll_interval = Duration::from_millis(100);
    let indexer = Indexer::connect(config, store.clone(), metrics).await.context("starting the indexer")?;
    let blobs = fresh_blob_dir(&args.blob_dir)?;
    // anvil account 9 pays the gas of patients' signed grants and revocations (gasless sharing).
    let relayer_key: alloy::signers::local::PrivateKeySigner = anvil.keys()[9].clone().into();
    let relayer =
        Relayer::new(&anvil.endpoint(), relayer_key, deployment.address, deployment.chain_id, Duration::from_secs(30))
            .map_err(|err| anyhow::anyhow!(err))?;
    let vault = vault_state(&store, deployment.chain_id, args.vault_addr).await?;
    let vault = DevVault {
        state: vault.state.with_blobs(blobs, DEFAULT_ATTACHMENT_LIMIT).with_relayer(relayer),
        identity_domain: vault.identity_domain,
    };
    let listener = tokio::net::TcpListener::bind(args.vault_addr)
        .await
        .with_context(|| format!("binding the vault on {} (use --vault-addr)", args.vault_addr))?;
    println!("  chain mirror     sqlite://{} (indexer following; new heads over WebSocket)", args.mirror_db.display());
    println!("  vault            http://{} (SIWE domain {})", args.vault_addr, vault.identity_domain);
    println!("  attachments      {} (ciphertext only)", args.blob_dir.display());
    println!("  relayer          anvil account 9 pays for gasless grants (POST /v1/relay)");
    println!("  audit log        anchored on chain every 100 entries or minute (GET /v1/audit/tree-head)");
    println!("  metrics          http://{}/metrics", args.metrics_addr);
    println!("Press Ctrl-C to stop.");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    // anvil account 0 deployed the registry and holds OPERATOR_ROLE: it anchors the audit log.
    let operator: alloy::signers::local::PrivateKeySigner = anvil.keys()[0].clone().into();
    let anchorer = Anchorer::new(
        &anvil.endpoint(),
        operator,
        deployment.address,
        vault.state.log.clone(),
        Duration::from_secs(30),
    )
    .map_err(|err| anyhow::anyhow!(err))?;
    let anchor_policy = AnchorPolicy { every_entries: 100, every: Duration::from_secs(60) };
    let anchoring = tokio::spawn(anchorer.run(anchor_policy, until_stopped(stop_rx.clone())));
    let app = medkey_vault::http::router(vault.state, VAULT_BODY_LIMIT);
    let server = tokio::spawn(
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(until_stopped(stop_rx.clone()))
            .into_future(),
    );
    let indexer = tokio::spawn(indexer.run(until_stopped(stop_rx)));
    if let Err(err) = shutdown_signal().await {
        tracing::error!(%err, "signal handling failed; stopping");
    }
    stop_tx.send_replace(true);
    let indexed = indexer.await.context("indexer task")?;
    anchoring.await.context("anchoring task")?;
    server.await.context("vault task")?.context("vault server")?;
    store.close().await;
    eprintln!("stopping anvil");
    Ok(indexed?) // dropping `anvil` kills the chain
}

/// Request bodies above this are refused with 413 (records are JSON; attachments stream).
const VAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;

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
        chain_id,
        jwt_secret: secret,
        access_ttl: Duration::from_secs(15 * 60),
        refresh_ttl: Duration::from_secs(7 * 86_400),
        require_provider_mfa: false,
        nonce_ttl: Duration::from_secs(5 * 60),
    };
    let state = medkey_vault::http::AppState::new(
        store.clone(),
        chain_id,
        identity,
        FreshnessPolicy::default(),
        Default::default(),
    )
    .await
    .context("starting the vault")?;
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
