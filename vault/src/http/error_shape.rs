//! Every error the API answers has the shape `{"error": {"code", "message"}}`, including those
//! no handler makes: an unknown method (405, with its `Allow` header kept), an over-long URI
//! (414), and any plain-text rejection from axum or a layer. (Errors hyper answers before the
//! router, on requests it cannot parse, are rewritten in `super::server`.)

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// The longest path and query accepted: far above any the API uses.
pub const MAX_URI_LEN: usize = 8 * 1024;

/// Refuses over-long URIs, then gives any error response without a JSON body the API's shape.
pub async fn shaped(request: Request, next: Next) -> Response {
    if uri_len(request.uri()) > MAX_URI_LEN {
        let message = format!("the URI is longer than {MAX_URI_LEN} bytes");
        return ApiError::new(StatusCode::URI_TOO_LONG, "uri_too_long", message).into_response();
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Plain-text rejections are short; keep their words, bounded.
    let text = axum::body::to_bytes(body, 4 * 1024).await.ok().and_then(|b| String::from_utf8(b.to_vec()).ok());
    let message = text
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
    let code = code_for(status);
    let shaped = ApiError::new(status, code, message).into_response();
    parts.extensions.insert(crate::metrics::ErrorCode(code));
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(CONTENT_TYPE, "application/json".parse().expect("a valid header value"));
    let (_, body) = shaped.into_parts();
    Response::from_parts(parts, Body::new(body))
}

fn uri_len(uri: &Uri) -> usize {
    uri.path_and_query().map_or(0, |pq| pq.as_str().len())
}

fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        411 => "length_required",
        413 => "body_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "invalid_body",
        429 => "rate_limited",
        431 => "headers_too_large",
        500 => "internal",
        503 => "unavailable",
        _ if status.is_client_error() => "bad_request",
        _ => "internal",
    }
}
