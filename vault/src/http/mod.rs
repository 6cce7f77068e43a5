//! The vault's HTTP API (axum), versioned under `/v1`. Every error is
//! `{"error": {"code", "message"}}` with a precise status; every handler denies by default.

mod account_key_routes;
mod attachment_routes;
mod audit_routes;
mod auth;
mod client_ip;
mod emergency_provider_routes;
mod error;
mod error_shape;
mod grant_routes;
mod health;
mod ids;
mod json;
mod key_batch_routes;
mod mfa_routes;
mod openapi;
mod provider_routes;
mod record_routes;
mod relay_routes;
mod request_routes;
mod server;
mod session_routes;
mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

pub use client_ip::TrustedProxies;
pub use error::ApiError;
pub use server::{ServerLimits, serve};
pub use state::{AppState, DEFAULT_ATTACHMENT_LIMIT, MIRROR_POLL, SetupError, VaultState, derived_audit_key};

/// The whole API. `body_limit` caps every request body (413 beyond it).
pub fn router(state: AppState, body_limit: usize) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(openapi::serve))
        .route("/v1/auth/nonce", get(session_routes::nonce))
        .route("/v1/auth/login", post(session_routes::login))
        .route("/v1/auth/refresh", post(session_routes::refresh))
        .route("/v1/auth/logout", post(session_routes::logout))
        .route("/v1/auth/mfa", get(mfa_routes::status))
        .route("/v1/auth/mfa/setup", post(mfa_routes::setup))
        .route("/v1/auth/mfa/enable", post(mfa_routes::enable))
        .route("/v1/auth/mfa/disable", post(mfa_routes::disable))
        .route("/v1/records", get(record_routes::list).post(record_routes::create))
        .route("/v1/records/{id}", get(record_routes::fetch).put(record_routes::update).delete(record_routes::erase))
        .route("/v1/records/{id}/versions/{version}/keys", post(record_routes::add_keys))
        .route("/v1/records/{id}/versions/{version}/attachment", put(attachment_routes::upload))
        .route("/v1/records/{id}/attachment", get(attachment_routes::download))
        .route("/.well-known/medkey-audit-key", get(audit_routes::operator_key))
        .route("/v1/audit/tree-head", get(audit_routes::tree_head))
        .route("/v1/audit/consistency", get(audit_routes::consistency))
        .route("/v1/audit/entries", get(audit_routes::entries))
        .route("/v1/account/encryption-key", put(account_key_routes::publish))
        .route("/v1/accounts/{address}/encryption-key", get(account_key_routes::fetch))
        .route(
            "/v1/account/emergency-providers",
            get(emergency_provider_routes::list).put(emergency_provider_routes::replace),
        )
        .route("/v1/grants", get(grant_routes::list))
        .route("/v1/grants/typed-data", post(relay_routes::grant_typed_data))
        .route("/v1/revocations/typed-data", post(relay_routes::revoke_typed_data))
        .route("/v1/relay", post(relay_routes::relay))
        .route("/v1/access-requests", get(request_routes::list).post(request_routes::create))
        .route("/v1/access-requests/{id}/approve", post(request_routes::approve))
        .route("/v1/access-requests/{id}/decline", post(request_routes::decline))
        .route("/v1/patients/{patient}/records", get(provider_routes::list_for_patient))
        .route("/v1/records/{id}/key", get(provider_routes::release_key))
        .route("/v1/patients/{patient}/keys", post(key_batch_routes::release_keys))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(error_shape::shaped))
        .with_state(state)
}
