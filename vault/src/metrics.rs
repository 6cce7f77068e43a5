//! The vault's Prometheus metrics, beside the indexer's (`medkey_indexer::metrics`) on the same
//! `/metrics` listener. Every name starts with `medkey_vault_`; `docs/operations/grafana.json` is
//! built on them.
//!
//! - requests by route template, method and status, and their latency (histogram);
//! - error codes by route (`locked_out`, `mirror_stale`, `database_unavailable`, …);
//! - sign-ins by outcome (`ok` or the refusal's code);
//! - audit entries stored, by kind and outcome: key releases are `kind="key_released"`,
//!   denials `kind="key_denied"` with the denial's code as the outcome;
//! - sampled every few seconds: the audit log's size and how far its anchor lags, the relayer's
//!   balance and the webhook outbox's depth.
//!
//! Labels take only values from fixed sets (route templates, codes, kinds), never an address, a
//! record id or anything a caller chose, so no series names a person and their number is bounded.

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The route template of a request no route matched (the browser app, or a 404).
const UNMATCHED: &str = "unmatched";
/// The sign-in route, whose outcomes are counted on their own.
const LOGIN_ROUTE: &str = "/v1/auth/login";

/// The error code an API error answered with, left on the response (by the HTTP layer) for the
/// metrics layer.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub route: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EntryLabels {
    pub kind: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub state: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// Cheap to clone: every field shares its values with the registered copy.
#[derive(Clone, Debug)]
pub struct VaultMetrics {
    pub requests: Family<RequestLabels, Counter>,
    pub latency: LatencyFamily,
    pub errors: Family<ErrorLabels, Counter>,
    pub sign_ins: Family<OutcomeLabels, Counter>,
    pub audit_entries: Family<EntryLabels, Counter>,
    pub audit_log_size: Gauge,
    pub anchored_size: Gauge,
    pub anchor_lag_entries: Gauge,
    pub relayer_balance_eth: Gauge<f64, AtomicU64>,
    pub webhook_deliveries: Family<DeliveryLabels, Gauge>,
}

impl Default for VaultMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            errors: Family::default(),
            sign_ins: Family::default(),
            audit_entries: Family::default(),
            audit_log_size: Gauge::default(),
            anchored_size: Gauge::default(),
            anchor_lag_entries: Gauge::default(),
            relayer_balance_eth: Gauge::default(),
            webhook_deliveries: Family::default(),
        }
    }
}

impl VaultMetrics {
    /// Adds these metrics to `registry` under `medkey_vault_`.
    pub fn register(&self, registry: &mut Registry) {
        let sub = registry.sub_registry_with_prefix("medkey_vault");
        sub.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            self.requests.clone(),
        );
        sub.register(
            "http_request_duration_seconds",
            "Time to answer, by route template and method",
            self.latency.clone(),
        );
        sub.register("http_errors", "Error answers by route template and error code", self.errors.clone());
        sub.register("sign_ins", "Sign-in attempts by outcome (ok, or the refusal's code)", self.sign_ins.clone());
        sub.register(
            "audit_entries",
            "Audit log entries stored by this replica, by kind and outcome (key_released, key_denied with its code, …)",
            self.audit_entries.clone(),
        );
        sub.register("audit_log_size", "Entries in the audit log (all replicas)", self.audit_log_size.clone());
        sub.register("audit_anchored_size", "Size of the last tree head anchored on chain", self.anchored_size.clone());
        sub.register(
            "audit_anchor_lag_entries",
            "Audit entries not yet covered by an on-chain anchor",
            self.anchor_lag_entries.clone(),
        );
        sub.register(
            "relayer_balance_eth",
            "The relayer account's balance, in ether",
            self.relayer_balance_eth.clone(),
        );
        sub.register(
            "webhook_deliveries",
            "Webhook deliveries in the outbox by state (pending, dead)",
            self.webhook_deliveries.clone(),
        );
    }

    /// Counts one stored audit entry.
    pub fn entry_stored(&self, kind: &str, outcome: &str) {
        self.audit_entries.get_or_create(&EntryLabels { kind: kind.to_owned(), outcome: outcome.to_owned() }).inc();
    }
}

/// The HTTP layer: counts and times every request by its route template.
pub async fn track(State(metrics): State<VaultMetrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, |path| path.as_str()).to_owned();
    let method = method_label(request.method()).to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let code = response.extensions().get::<ErrorCode>().map(|code| code.0);
    if route == LOGIN_ROUTE {
        let outcome = match code {
            Some(code) => code.to_owned(),
            None if response.status().is_success() => "ok".to_owned(),
            None => status.to_string(),
        };
        metrics.sign_ins.get_or_create(&OutcomeLabels { outcome }).inc();
    }
    if let Some(code) = code {
        metrics.errors.get_or_create(&ErrorLabels { route: route.clone(), code: code.to_owned() }).inc();
    }
    metrics
        .latency
        .get_or_create(&RouteLabels { route: route.clone(), method: method.clone() })
        .observe(seconds(started));
    metrics.requests.get_or_create(&RequestLabels { route, method, status }).inc();
    response
}

/// The method as a label: the standard ones by name, every other one (anyone can make one up,
/// and each would be a new series kept forever) as `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "other",
    }
}

fn seconds(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}
