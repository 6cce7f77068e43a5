//! `medkey dev`: a local chain with the ConsentRegistry deployed, for development and demos.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy::node_bindings::Anvil;
use anyhow::Context;
use clap::Args;
use medkey_indexer::{Indexer, IndexerConfig, Metrics, Store};
use prometheus_client::registry::Registry;

use super::deploy::deploy;
use super::indexer::serve_metrics;
use crate::signals::shutdown_signal;
use crate::tools;

/// Start a local anvil chain, deploy the ConsentRegistry, mirror it with the indexer (SQLite),
/// and keep running until Ctrl-C.
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
    let mut config = IndexerConfig::for_deployment(&deployment, anvil.ws_endpoint());
    config.poll_interval = Duration::from_millis(100);
    let indexer = Indexer::connect(config, store.clone(), metrics).await.context("starting the indexer")?;
    println!("  chain mirror     sqlite://{} (indexer following over WebSocket)", args.mirror_db.display());
    println!("  metrics          http://{}/metrics", args.metrics_addr);
    println!("Press Ctrl-C to stop.");
    let stop = async {
        if let Err(err) = shutdown_signal().await {
            tracing::error!(%err, "signal handling failed; stopping");
        }
    };
    let result = indexer.run(stop).await;
    store.close().await;
    eprintln!("stopping anvil");
    Ok(result?) // dropping `anvil` kills the chain
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
