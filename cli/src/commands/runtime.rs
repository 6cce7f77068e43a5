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

/// Everything that runs until stopped, ready to start.
pub struct Services {
    pub store: Store,
    pub indexer: Indexer,
    pub vault: AppState,
    /// Bound already, so a taken port fails before anything starts.
    pub listener: tokio::net::TcpListener,
    pub body_limit: usize,
    /// Timeouts and the connection cap of the HTTP server.
    pub server_limits: medkey_vault::http::ServerLimits,
    /// Anchors the audit log's tree head on chain by this policy.
    pub anchoring: Option<(Anchorer, AnchorPolicy)>,
    /// The browser app served beside the API, if any.
    pub web_app: Option<medkey_vault::http::WebApp>,
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
        let anchoring =
            self.anchoring.map(|(anchorer, policy)| tokio::spawn(anchorer.run(policy, until_stopped(stop_rx.clone()))));
        // Started with the vault's state (`AppState::with_notifier`), if at all; stopped below.
        let notifier = self.vault.notifier.clone();
        let app = medkey_vault::http::router_with_app(self.vault, self.body_limit, self.web_app);
        let mut server = tokio::spawn(medkey_vault::http::serve(
            self.listener,
            app,
            self.server_limits,
            until_stopped(stop_rx.clone()),
        ));
        let mut indexer = tokio::spawn(self.indexer.run(until_stopped(stop_rx)));
        let (mut indexed, mut served) = (None, None);
        match stop_on {
            StopOn::Signal => wait_for_signal().await,
            StopOn::SignalOrExit => tokio::select! {
                () = wait_for_signal() => {}
                result = &mut indexer => {
                    tracing::error!("the indexer stopped on its own; stopping the vault");
                    indexed = Some(result);
                }
                result = &mut server => {
                    tracing::error!("the vault's server stopped on its own; stopping the indexer");
                    served = Some(result);
                }
            },
        }
        stop_tx.send_replace(true);
        let indexed = match indexed {
            Some(result) => result,
            None => indexer.await,
        }
        .context("indexer task")?;
        if let Some(anchoring) = anchoring {
            anchoring.await.context("anchoring task")?;
        }
        let served = match served {
            Some(result) => result,
            None => server.await,
        };
        // After the server, whose last requests may have queued notifications; stopped even when
        // the server failed, so that no attempt is cut off mid-way.
        if let Some(notifier) = notifier {
            notifier.shutdown().await;
        }
        served.context("vault task")?.context("vault server")?;
        self.store.close().await;
        Ok(indexed?)
    }
}

async fn wait_for_signal() {
    if let Err(err) = shutdown_signal().await {
        tracing::error!(%err, "signal handling failed; stopping");
    }
}
