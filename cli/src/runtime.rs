//! What `medkey dev` and `medkey serve` share: the vault's state over the mirror, and the
//! indexer, the vault's HTTP server, the audit anchorer and the webhook notifier (when the
//! vault has one) running side by side under one stop signal, each stopped gracefully and
//! awaited.

use anyhow::Context;
use medkey_indexer::{FreshnessPolicy, Indexer, Store};
use medkey_vault::anchoring::{AnchorPolicy, Anchorer};
use medkey_vault::http::AppState;
use medkey_vault::identity::IdentityConfig;
use medkey_vault::limits::LimitSettings;
use tokio::sync::watch;

use crate::signals::shutdown_signal;

/// Request bodies above this are refused with 413 (records are JSON; attachments stream).
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The vault over the mirror in `store` (its tables are migrated into the same database).
pub async fn vault_state(
    store: &Store,
    chain_id: u64,
    identity: IdentityConfig,
    freshness: FreshnessPolicy,
    limits: LimitSettings,
) -> anyhow::Result<AppState> {
    AppState::new(store.clone(), chain_id, identity, freshness, limits).await.context("starting the vault")
}

/// When [`Services::run`] stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopOn {
    /// Ctrl-C or SIGTERM only.
    Signal,
    /// Ctrl-C or SIGTERM, or the indexer or the server ending on its own (a fault retries cannot
    /// fix): the rest is stopped too and the process exits with the error, for a supervisor to
    /// restart it rather than serve from a mirror that no longer follows the chain.
    SignalOrExit,
}

/// Everything that runs until stopped, ready to start: the indexer, the vault, or both
/// (`medkey serve --role`).
pub struct Services {
    pub store: Store,
    /// Follows the chain into the mirror; `None` when another process does (`--role vault`).
    pub indexer: Option<Indexer>,
    /// The HTTP API; `None` for an indexer alone (`--role indexer`).
    pub vault: Option<VaultServer>,
}

/// The vault's HTTP server and what runs beside it.
pub struct VaultServer {
    pub state: AppState,
    /// Bound already, so a taken port fails before anything starts.
    pub listener: tokio::net::TcpListener,
    /// Serve HTTPS with this certificate, else plain HTTP.
    pub tls: Option<medkey_vault::http::TlsAcceptor>,
    pub body_limit: usize,
    /// Timeouts and the connection cap of the HTTP server.
    pub server_limits: medkey_vault::http::ServerLimits,
    /// Anchors the audit log's tree head on chain by this policy.
    pub anchoring: Option<(Anchorer, AnchorPolicy)>,
    /// The browser app served beside the API, if any.
    pub web_app: Option<medkey_vault::http::WebApp>,
    /// Reads the sampled gauges of `medkey_vault::metrics` (when they are exported).
    pub sample_metrics: bool,
}

type Task<T> = Option<tokio::task::JoinHandle<T>>;

/// Waits for `task` if there is one, else forever (for `select!` over optional parts).
async fn finished<T>(task: &mut Task<T>) -> Result<T, tokio::task::JoinError> {
    match task {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

impl Services {
    /// Starts everything and runs until `stop_on`; then stops everything, waits for each part to
    /// finish (in-flight requests are answered, the indexer's block commits or rolls back, the
    /// notifier finishes the attempts under way; what it has not sent stays in the outbox for
    /// the next start) and closes the database. Errs with the server's error, else the indexer's.
    pub async fn run(self, stop_on: StopOn) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let until_stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        };
        let mut background = Vec::new();
        let mut notifier = None;
        let mut server: Task<std::io::Result<()>> = None;
        if let Some(vault) = self.vault {
            if let Some((anchorer, policy)) = vault.anchoring {
                background.push(tokio::spawn(anchorer.run(policy, until_stopped(stop_rx.clone()))));
            }
            if vault.sample_metrics {
                let sampling =
                    medkey_vault::metrics_sampling::sample(vault.state.clone(), until_stopped(stop_rx.clone()));
                background.push(tokio::spawn(sampling));
            }
            // Started with the vault's state (`AppState::with_notifier`), if at all; stopped below.
            notifier = vault.state.notifier.clone();
            let app = medkey_vault::http::router_with_app(vault.state, vault.body_limit, vault.web_app);
            server = Some(tokio::spawn(medkey_vault::http::serve_with(
                vault.listener,
                app,
                vault.server_limits,
                vault.tls,
                until_stopped(stop_rx.clone()),
            )));
        }
        let mut indexer: Task<Result<(), medkey_indexer::IndexerError>> =
            self.indexer.map(|indexer| tokio::spawn(indexer.run(until_stopped(stop_rx))));
        let (mut indexed, mut served) = (None, None);
        match stop_on {
            StopOn::Signal => wait_for_signal().await,
            StopOn::SignalOrExit => tokio::select! {
                () = wait_for_signal() => {}
                result = finished(&mut indexer) => {
                    tracing::error!("the indexer stopped on its own; stopping the rest");
                    indexed = Some(result);
                }
                result = finished(&mut server) => {
                    tracing::error!("the vault's server stopped on its own; stopping the rest");
                    served = Some(result);
                }
            },
        }
        stop_tx.send_replace(true);
        let indexed = match (indexed, indexer) {
            (Some(result), _) => Some(result),
            (None, Some(handle)) => Some(handle.await),
            (None, None) => None,
        };
        for task in background {
            task.await.context("a background task of the vault")?;
        }
        let served = match (served, server) {
            (Some(result), _) => Some(result),
            (None, Some(handle)) => Some(handle.await),
            (None, None) => None,
        };
        // After the server, whose last requests may have queued notifications; stopped even when
        // the server failed, so that no attempt is cut off mid-way.
        if let Some(notifier) = notifier {
            notifier.shutdown().await;
        }
        if let Some(served) = served {
            served.context("vault task")?.context("vault server")?;
        }
        self.store.close().await;
        if let Some(indexed) = indexed {
            indexed.context("indexer task")??;
        }
        Ok(())
    }
}

async fn wait_for_signal() {
    if let Err(err) = shutdown_signal().await {
        tracing::error!(%err, "signal handling failed; stopping");
    }
}
