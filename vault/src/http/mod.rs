//! The vault's HTTP API (axum), versioned under `/v1`. Every error is
//! `{"error": {"code", "message"}}` with a precise status; every handler denies by default.

mod account_key_routes;
mod admin_routes;
mod admin_status_routes;
mod application_routes;
mod attachment_routes;
mod audit_routes;
mod auth;
mod client_ip;
mod connection_routes;
mod directory_routes;
mod emergency_provider_routes;
mod error;
mod error_shape;
mod grant_routes;
mod health;
mod identity_sharing_routes;
mod ids;
mod json;
mod key_batch_routes;
mod mfa_routes;
mod openapi;
mod provider_routes;
mod record_batch_routes;
mod record_routes;
mod relay_routes;
mod request_routes;
mod server;
mod session_routes;
mod share_link_routes;
mod tls;
mod version_routes;
mod web_app;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::state::{AppState, DEFAULT_ATTACHMENT_LIMIT, MIRROR_POLL, SetupError, VaultState, derived_audit_key};
pub use crate::trusted_proxies::{ForwardedHeader, TrustedProxies};
pub use error::ApiError;
pub use server::{ServerLimits, serve, serve_with};
pub use tls::{TlsAcceptor, server_tls};
pub use web_app::{AppConfig, SmartEndpoint, WebApp, smart_endpoint_origin};

/// Every route with its documentation: the router and the OpenAPI document both come from
/// this one list, so a route cannot exist undocumented or be documented without existing.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(openapi::serve))
        .routes(routes!(session_routes::nonce))
        .routes(routes!(session_routes::login))
        .routes(routes!(session_routes::refresh))
        .routes(routes!(session_routes::logout))
        .routes(routes!(mfa_routes::status))
        .routes(routes!(mfa_routes::setup))
        .routes(routes!(mfa_routes::enable))
        .routes(routes!(mfa_routes::disable))
        .routes(routes!(record_routes::list, record_routes::create))
        .routes(routes!(record_routes::fetch, record_routes::update, record_routes::erase))
        .routes(routes!(record_batch_routes::fetch_many))
        .routes(routes!(record_batch_routes::create_many))
        .routes(routes!(record_routes::add_keys))
        .routes(routes!(version_routes::history))
        .routes(routes!(version_routes::fetch))
        .routes(routes!(attachment_routes::upload))
        .routes(routes!(attachment_routes::download))
        .routes(routes!(audit_routes::operator_key))
        .routes(routes!(audit_routes::tree_head))
        .routes(routes!(audit_routes::consistency))
        .routes(routes!(audit_routes::entries))
        .routes(routes!(account_key_routes::publish))
        .routes(routes!(account_key_routes::fetch))
        .routes(routes!(emergency_provider_routes::list, emergency_provider_routes::replace))
        .routes(routes!(identity_sharing_routes::get))
        .routes(routes!(identity_sharing_routes::set))
        .routes(routes!(connection_routes::list))
        .routes(routes!(connection_routes::put, connection_routes::delete))
        .routes(routes!(grant_routes::list))
        .routes(routes!(relay_routes::grant_typed_data))
        .routes(routes!(relay_routes::revoke_typed_data))
        .routes(routes!(relay_routes::relay))
        .routes(routes!(request_routes::list, request_routes::create))
        .routes(routes!(request_routes::approve))
        .routes(routes!(request_routes::decline))
        .routes(routes!(provider_routes::list_for_patient))
        .routes(routes!(provider_routes::release_key))
        .routes(routes!(key_batch_routes::release_keys))
        .routes(routes!(directory_routes::search))
        .routes(routes!(directory_routes::lookup))
        .routes(routes!(directory_routes::entry))
        .routes(routes!(application_routes::apply))
        .routes(routes!(application_routes::mine))
        .routes(routes!(admin_routes::roles))
        .routes(routes!(admin_routes::applications))
        .routes(routes!(admin_routes::decline))
        .routes(routes!(admin_routes::confirm))
        .routes(routes!(admin_routes::add_reason))
        .routes(routes!(admin_status_routes::status))
        .routes(routes!(admin_status_routes::dead_webhooks))
        .routes(routes!(admin_status_routes::retry_webhook))
        .routes(routes!(admin_status_routes::provider_history))
        .routes(routes!(share_link_routes::list, share_link_routes::create))
        .routes(routes!(share_link_routes::revoke))
        .routes(routes!(share_link_routes::replace_files))
        .merge(share_link_public_api())
}

/// The public SMART Health Link endpoints (`/shl/*`): bearer URLs without cookies or sessions, so
/// any origin may call them (a clinic's viewer on its own site is a receiver too), and only they.
fn share_link_public_api() -> OpenApiRouter<AppState> {
    use tower_http::cors::{Any, CorsLayer};
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([axum::http::header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(3_600));
    OpenApiRouter::new()
        .routes(routes!(share_link_routes::manifest, share_link_routes::direct))
        .routes(routes!(share_link_routes::file))
        .layer(cors)
}

/// The OpenAPI 3.1 document of the API, as `GET /openapi.json` serves it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = api().into_openapi();
    openapi::document_unavailable_database(&mut document);
    openapi::document_uri_too_long(&mut document);
    document
}

/// The whole API. `body_limit` caps every request body (413 beyond it).
pub fn router(state: AppState, body_limit: usize) -> Router {
    router_with_app(state, body_limit, None)
}

/// The API, and the browser app at every other path when `app` is given.
pub fn router_with_app(state: AppState, body_limit: usize, app: Option<WebApp>) -> Router {
    let (routes, _document) = api().split_for_parts();
    let routes = match app {
        Some(app) => routes.fallback(move |request: axum::extract::Request| async move { app.serve(request).await }),
        None => routes.fallback(|| async { ApiError::not_found("no such endpoint") }),
    };
    let metrics = state.metrics.clone();
    routes
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(error_shape::shaped))
        .layer(axum::middleware::from_fn_with_state(metrics, crate::metrics::track))
        .with_state(state)
}
