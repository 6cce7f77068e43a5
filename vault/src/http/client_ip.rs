//! The client's address, for rate limits and lockouts, as [`crate::trusted_proxies`] reads it
//! from the socket's peer and the trusted proxies' forwarding header.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::{ApiError, AppState};

/// The client's address (see the module docs). Serve with [`super::serve`] (or axum's `ConnectInfo`);
/// without it every request counts as from 0.0.0.0.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(Self(state.trusted_proxies.client_ip(peer, &parts.headers)))
    }
}
