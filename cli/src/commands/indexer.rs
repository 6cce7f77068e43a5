//! `medkey indexer`: mirror the ConsentRegistry into PostgreSQL or SQLite and keep following.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use anyhow::Context;
use clap::Args;
use medkey_indexer::{Finality, Indexer, IndexerConfig, Metrics, Store};
use medkey_protocol::Deployment;
use prometheus_client::registry::Registry;

use crate::signals::shutdown_signal;

/// Mirror the ConsentRegistry's events into a database, exactly once, through reorgs.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    medkey indexer                                            # local anvil, SQLite file medkey.sqlite\n  \
    medkey indexer --rpc-url wss://rpc.example --database-url postgres://medkey@db/medkey --confirmations 12")]
pub struct IndexerArgs {
    /// JSON-RPC endpoint: http(s):// polls for new blocks, ws(s):// subscribes to them.
    #[arg(long, env = "MEDKEY_RPC_URL", default_value = "http://127.0.0.1:8545")]
    pub rpc_url: String,
    /// WebSocket endpoint for new-head notifications only (calls still go to --rpc-url).
    #[arg(long, env = "MEDKEY_WS_URL")]
    pub ws_url: Option<String>,
    /// Where the mirror lives: postgres://… in production, sqlite:… embedded (created if missing).
    #[arg(long, env = "MEDKEY_DATABASE_URL", default_value = "sqlite://medkey.sqlite")]
    pub database_url: String,
    /// Directory of per-network deployment files; the node's chain id picks the file.
    #[arg(long, env = "MEDKEY_DEPLOYMENTS_DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Registry address, overriding the deployment file (then --deploy-block should be given too).
    #[arg(long, env = "MEDKEY_REGISTRY")]
    pub registry: Option<Address>,
    /// First block to read when --registry is given without a deployment file.
    #[arg(long, env = "MEDKEY_DEPLOY_BLOCK", requires = "registry")]
    pub deploy_block: Option<u64>,
    /// Mirror only blocks this far below the head (0 is right for anvil).
    #[arg(long, env = "MEDKEY_CONFIRMATIONS", default_value_t = 0, conflicts_with = "finalized")]
    pub confirmations: u64,
    /// Mirror only up to the node's finalized block: no reorgs, but minutes behind.
    #[arg(long)]
    pub finalized: bool,
    /// Deepest reorg to repair; a deeper one stops the indexer instead of deleting history.
    #[arg(long, env = "MEDKEY_MAX_REORG_DEPTH", default_value_t = 64)]
    pub max_reorg_depth: u64,
    /// Milliseconds between head polls when the node offers no subscription.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub poll_interval_ms: u64,
    /// Per-call RPC timeout in milliseconds.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub rpc_timeout_ms: u64,
    /// Upper bound of the retry backoff in milliseconds.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub max_backoff_ms: u64,
    /// First eth_getLogs range in blocks during backfill (adapts as it goes).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub initial_log_range: u64,
    /// Largest eth_getLogs range in blocks.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_log_range: u64,
    /// Serve Prometheus metrics on http://ADDR/metrics.
    #[arg(long, env = "MEDKEY_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    pub metrics_addr: SocketAddr,
    /// Do not serve metrics.
    #[arg(long, conflicts_with = "metrics_addr")]
    pub no_metrics: bool,
    /// Exit once the mirror has caught up with the chain instead of following it.
    #[arg(long)]
    pub exit_when_synced: bool,
}

pub async fn run(args: IndexerArgs) -> anyhow::Result<()> {
    let config = config_from(&args).await?;
    let store = Store::connect(&args.database_url).await.context("opening the mirror database")?;
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    if !args.no_metrics {
        serve_metrics(args.metrics_addr, Arc::new(registry)).await?;
    }
    eprintln!(
        "indexing registry {} from block {} into {}",
        config.registry,
        config.deploy_block,
        redact(&args.database_url)
    );
    let indexer = Indexer::connect(config, store.clone(), metrics).await?;
    let shutdown = async {
        if let Err(err) = shutdown_signal().await {
            tracing::error!(%err, "signal handling failed; stopping");
        }
    };
    indexer.run(shutdown).await?;
    store.close().await;
    Ok(())
}

async fn config_from(args: &IndexerArgs) -> anyhow::Result<IndexerConfig> {
    let deployment = match args.registry {
        Some(_) => None,
        None => {
            let url = args.rpc_url.parse().with_context(|| format!("'{}' is not a valid RPC URL", args.rpc_url))?;
            let chain_id = ProviderBuilder::new()
                .connect_http(url)
                .get_chain_id()
                .await
                .with_context(|| format!("cannot reach the chain at {}", args.rpc_url))?;
            Some(Deployment::load(&args.deployments_dir, chain_id)?)
        }
    };
    let mut config = match &deployment {
        Some(deployment) => IndexerConfig::for_deployment(deployment, &args.rpc_url),
        None => {
            let placeholder = Deployment {
                chain_id: 0,
                contract: String::new(),
                address: args.registry.unwrap_or_default(),
                deploy_block: args.deploy_block.unwrap_or(0),
                tx_hash: Default::default(),
                abi_hash: Default::default(),
                deployer: Address::ZERO,
                admin: Address::ZERO,
                audit_key: None,
            };
            IndexerConfig { expected_chain_id: None, ..IndexerConfig::for_deployment(&placeholder, &args.rpc_url) }
        }
    };
    config.ws_url = args.ws_url.clone();
    config.finality = if args.finalized { Finality::Finalized } else { Finality::Confirmations(args.confirmations) };
    config.max_reorg_depth = args.max_reorg_depth;
    config.poll_interval = Duration::from_millis(args.poll_interval_ms);
    config.rpc_timeout = Duration::from_millis(args.rpc_timeout_ms);
    config.max_backoff = Duration::from_millis(args.max_backoff_ms);
    config.initial_log_range = args.initial_log_range;
    config.max_log_range = args.max_log_range.max(args.initial_log_range);
    config.exit_when_synced = args.exit_when_synced;
    Ok(config)
}

/// Binds the metrics listener now (so a taken port fails at start-up) and serves it in the
/// background for the life of the process.
pub async fn serve_metrics(addr: SocketAddr, registry: Arc<Registry>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics listener on {addr} (use --metrics-addr or --no-metrics)"))?;
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, medkey_indexer::metrics::router(registry)).await {
            tracing::error!(%err, "metrics server stopped");
        }
    });
    Ok(())
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(super::redact("postgres://medkey:s3cret@db:5432/medkey"), "postgres://medkey:***@db:5432/medkey");
        assert_eq!(super::redact("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(super::redact("sqlite://medkey.sqlite"), "sqlite://medkey.sqlite");
    }
}
