//! Prometheus metrics for lag and throughput, served as text on `/metrics` by whichever
//! process runs the indexer (`medkey indexer`, or the vault with the indexer embedded).

use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub indexed_block: Gauge,
    pub head_block: Gauge,
    pub lag_blocks: Gauge,
    pub log_range: Gauge,
    pub events: Counter,
    pub blocks: Counter,
    pub reorgs: Counter,
    pub rpc_errors: Counter,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        let sub = registry.sub_registry_with_prefix("medkey_indexer");
        sub.register("indexed_block", "Last block committed to the mirror", metrics.indexed_block.clone());
        sub.register("head_block", "Latest chain head seen", metrics.head_block.clone());
        sub.register("lag_blocks", "Blocks between the chain head and the mirror", metrics.lag_blocks.clone());
        sub.register("log_range_blocks", "Current eth_getLogs range during backfill", metrics.log_range.clone());
        sub.register("events", "Registry events mirrored", metrics.events.clone());
        sub.register("blocks", "Blocks committed to the mirror", metrics.blocks.clone());
        sub.register("reorgs", "Reorgs detected and unwound", metrics.reorgs.clone());
        sub.register("rpc_errors", "Failed or timed-out RPC calls (all retried)", metrics.rpc_errors.clone());
        metrics
    }

    pub fn observe_head(&self, head: u64, indexed: u64) {
        self.head_block.set(gauge_value(head));
        self.indexed_block.set(gauge_value(indexed));
        self.lag_blocks.set(gauge_value(head.saturating_sub(indexed)));
    }
}

/// A count as a gauge's value (saturating: a gauge is signed).
pub fn gauge_value(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `GET /metrics` in the OpenMetrics text format.
pub fn router(registry: Arc<Registry>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let registry = registry.clone();
            async move {
                let mut body = String::new();
                match encode(&mut body, &registry) {
                    Ok(()) => ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
                        .into_response(),
                    Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                }
            }
        }),
    )
}
