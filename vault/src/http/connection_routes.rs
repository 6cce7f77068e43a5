//! `/v1/connections`: her provider connections, sealed on her devices and kept here as opaque
//! blobs (see `crate::connections`). Adding and removing one is in her audit log, without a word
//! of which provider it is (the vault does not know).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use medkey_protocol::api::{ConnectionBody, ConnectionKept, ConnectionList, ConnectionView};
use medkey_protocol::clock::now_ms;

use super::auth::Caller;
use super::ids;
use super::json::ApiJson;
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::{ApiError, AppState};
use crate::audit_log::{AuditEntry, stamped};

/// The caller's sealed provider connections.
#[utoipa::path(
    get,
    path = "/v1/connections",
    tag = "connections",
    operation_id = "list_connections",
    responses(
        (status = 200, description = "Her sealed connections, by id", body = ConnectionList),
        Unauthorized,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<ConnectionList>, ApiError> {
    let connections = state
        .connections
        .list(caller.address)
        .await?
        .into_iter()
        .map(|c| ConnectionView {
            id: alloy::hex::encode(c.id),
            sealed: ids::to_base64(&c.sealed),
            revision: c.revision,
            updated_at_ms: c.updated_at_ms,
        })
        .collect();
    Ok(Json(ConnectionList { connections }))
}

/// Keeps a new sealed connection, or replaces one at the revision named (compare-and-swap).
#[utoipa::path(
    put,
    path = "/v1/connections/{id}",
    tag = "connections",
    operation_id = "put_connection",
    params(("id" = String, Path, description = "The connection id: 32 lowercase hex digits")),
    request_body = ConnectionBody,
    responses(
        (status = 200, description = "Kept; its revision now", body = ConnectionKept),
        (status = 400, description = "invalid_connection_id / invalid_base64 / malformed_json / invalid_body",
            body = ErrorBody),
        Unauthorized,
        (status = 404, description = "not_found: no connection by that id to replace", body = ErrorBody),
        (status = 409, description = "connection_changed: another device replaced it first, or it exists \
            already (read it again) / too_many_connections", body = ErrorBody),
        (status = 413, description = "connection_too_large (empty or over 8 KiB) / body_too_large", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConnectionBody>,
) -> Result<Json<ConnectionKept>, ApiError> {
    let id = ids::connection_id(&id)?;
    let sealed = ids::base64("sealed", &body.sealed)?;
    let revision = state.connections.put(caller.address, id, &sealed, body.revision, now_ms()).await?;
    if body.revision.is_none() {
        let entry = AuditEntry { patient: Some(caller.address), ..stamped("connection_added", caller.address) };
        state.audit.append(&entry).await?;
    }
    Ok(Json(ConnectionKept { revision }))
}

/// Deletes one of her connections (her client revokes its token at the provider first).
#[utoipa::path(
    delete,
    path = "/v1/connections/{id}",
    tag = "connections",
    operation_id = "delete_connection",
    params(("id" = String, Path, description = "The connection id: 32 lowercase hex digits")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "invalid_connection_id", body = ErrorBody),
        Unauthorized,
        (status = 404, description = "not_found", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = ids::connection_id(&id)?;
    state.connections.delete(caller.address, id).await?;
    let entry = AuditEntry { patient: Some(caller.address), ..stamped("connection_removed", caller.address) };
    state.audit.append(&entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
