//! The sampled gauges of [`crate::metrics`]: every [`SAMPLE_EVERY`], the audit log's size and how
//! far its anchor lags, the relayer's balance and the webhook outbox's depth, read from the
//! vault's state. Apart from `metrics` so that the metrics (which the audit log counts into) do
//! not depend on the state that holds the audit log.

use std::time::Duration;

use medkey_indexer::metrics::gauge_value;

use crate::metrics::DeliveryLabels;
use crate::state::AppState;

/// How often [`sample`] reads the gauges.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Reads the audit log's size and anchor, the relayer's balance and the webhook outbox into the
/// gauges every [`SAMPLE_EVERY`], until `stop` completes. A failed read keeps the last value and
/// is logged once per failure.
pub async fn sample(state: AppState, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        sample_once(&state).await;
        tokio::select! {
            () = tokio::time::sleep(SAMPLE_EVERY) => {}
            () = &mut stop => return,
        }
    }
}

async fn sample_once(state: &AppState) {
    let metrics = &state.metrics;
    let size = match state.audit.stored_size().await {
        Ok(size) => {
            metrics.audit_log_size.set(gauge_value(size));
            Some(size)
        }
        Err(err) => {
            tracing::warn!(%err, "metrics: cannot read the audit log's size");
            None
        }
    };
    match state.mirror.latest_anchor(state.chain_id).await {
        Ok(anchor) => {
            let anchored = anchor.map_or(0, |a| a.size);
            metrics.anchored_size.set(gauge_value(anchored));
            if let Some(size) = size {
                metrics.anchor_lag_entries.set(gauge_value(size.saturating_sub(anchored)));
            }
        }
        Err(err) => tracing::warn!(%err, "metrics: cannot read the latest anchor"),
    }
    if let Some(relayer) = &state.relayer {
        match relayer.balance().await {
            Ok(wei) => {
                metrics.relayer_balance_eth.set(f64::from(wei) / 1e18);
            }
            Err(err) => tracing::warn!(%err, "metrics: cannot read the relayer's balance"),
        }
    }
    match crate::notify::counts(state.mirror.pool()).await {
        Ok((pending, _delivered, dead)) => {
            metrics.webhook_deliveries.get_or_create(&DeliveryLabels { state: "pending" }).set(gauge_value(pending));
            metrics.webhook_deliveries.get_or_create(&DeliveryLabels { state: "dead" }).set(gauge_value(dead));
        }
        Err(err) => tracing::warn!(%err, "metrics: cannot count the webhook outbox"),
    }
}
