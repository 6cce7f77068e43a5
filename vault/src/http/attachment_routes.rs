//! Attachments (imaging, PDFs): one encrypted stream per record version, streamed in and out.
//!
//! - `PUT /v1/records/{id}/versions/{v}/attachment` (owner; `application/octet-stream`): stores
//!   the STREAM ciphertext the client made with the version's data key. Once per version.
//! - `GET /v1/records/{id}/attachment`: the current version's ciphertext. The owner gets it;
//!   anyone else only through the release gate, logged like a key release.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use medkey_protocol::api::{AttachmentStored, EncryptedStream};

use super::auth::Caller;
use super::client_ip::ClientIp;
use super::ids;
use super::openapi::{ErrorBody, Internal, Unauthorized};
use super::{ApiError, AppState};
use crate::blobs::BlobStore;
use crate::release;
use medkey_protocol::clock::now_ms;

const OCTET_STREAM: &str = "application/octet-stream";

/// Stores a version's attachment: the encrypted stream the client made with the version's data key.
#[utoipa::path(
    put,
    path = "/v1/records/{id}/versions/{version}/attachment",
    tag = "records",
    operation_id = "upload_attachment",
    params(
        ("id" = String, Path, description = "The record id: a UUID, dashed or as 32 hex digits"),
        ("version" = u32, Path, description = "The version, from 1"),
    ),
    request_body(content = EncryptedStream, content_type = "application/octet-stream",
        description = "The attachment's encrypted stream (envelope format), streamed"),
    responses(
        (status = 201, description = "Stored", body = AttachmentStored),
        (status = 400, description = "invalid_record_id / invalid_version / invalid_ciphertext (not an encrypted \
            stream) / upload_interrupted", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "no_live_grant / provider_suspended / mfa_required: the record's writer \
            attaches only while its write grant is live", body = ErrorBody),
        (status = 404, description = "not_found: no such record version of the caller's (or written by it)",
            body = ErrorBody),
        (status = 409, description = "attachment_exists: a version has at most one attachment", body = ErrorBody),
        (status = 410, description = "record_erased: the record was erased while the upload was under way; \
            nothing was kept", body = ErrorBody),
        (status = 413, description = "attachment_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: send application/octet-stream", body = ErrorBody),
        Internal,
        (status = 503, description = "blobs_unavailable: attachment storage is not answering; nothing was kept, \
            send it again", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, axum::Json<AttachmentStored>), ApiError> {
    let record_id = ids::record_id(&id)?;
    let version = ids::version(&version)?;
    if headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) != Some(OCTET_STREAM) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the encrypted stream as application/octet-stream",
        ));
    }
    // The owner, or the provider that wrote the record for her while its write grant is live.
    let meta = state
        .records
        .find(&record_id)
        .await?
        .filter(|m| !m.erased && (m.owner == caller.address || m.created_by == caller.address));
    let Some(meta) = meta.filter(|m| version >= 1 && version <= m.current_version) else {
        return Err(ApiError::not_found("no such record version"));
    };
    if meta.owner != caller.address {
        // The record's writer, refused now (its grant ended, it was suspended): in her log.
        if let Err(err) = super::record_routes::check_writer(&state, &caller, &meta).await {
            let (patient, id) = (meta.owner, meta.record_id);
            super::record_routes::log_refused(&state, "attachment_stored", caller.address, patient, id, err.code)
                .await?;
            return Err(err);
        }
        super::record_routes::check_version_writer(&state, &caller, &meta, version).await?;
    }
    if state.attachments.find(&record_id, version).await?.is_some() {
        return Err(crate::attachments::AttachmentError::Exists.into());
    }
    // This upload's own object; the row is the commit point, and a refused upload removes what
    // it wrote (see `crate::blobs`).
    let name = BlobStore::upload_name(&record_id, version);
    let stream = body.into_data_stream().map_err(|err| err.to_string());
    let size = state.blobs.put(&name, stream, state.attachment_limit).await?;
    if let Err(err) = state.attachments.commit(&record_id, version, &name, size, now_ms()).await {
        state.blobs.delete(&name).await?;
        return Err(err.into());
    }
    super::record_routes::log(&state, "attachment_stored", caller.address, &meta).await?;
    Ok((StatusCode::CREATED, axum::Json(AttachmentStored { record_id: id, version, size })))
}

/// The current version's attachment (ciphertext): to the owner, or to a provider through the release
/// gate, logged like a key release.
#[utoipa::path(
    get,
    path = "/v1/records/{id}/attachment",
    tag = "records",
    operation_id = "download_attachment",
    params(("id" = String, Path, description = "The record id: a UUID, dashed or as 32 hex digits")),
    responses(
        (status = 200, description = "The encrypted stream", content_type = "application/octet-stream",
            body = EncryptedStream,
            headers(("x-medkey-version" = u32, description = "The record version it belongs to"))),
        (status = 400, description = "invalid_record_id", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "mfa_required / provider_not_registered / provider_suspended / no_live_grant / \
            not_in_record_set / refused_by_chain (each denial is logged)", body = ErrorBody),
        (status = 404, description = "not_found: no such record, or its current version has no attachment",
            body = ErrorBody),
        (status = 429, description = "rate_limited: too many releases for this address or from this IP",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
        (status = 503, description = "mirror_stale / chain_unavailable / limits_unavailable: the vault cannot decide \
            now / blobs_unavailable: attachment storage is not answering", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record_id = ids::record_id(&id)?;
    let (meta, stored) = release::attachment(&state, caller.reader(ip), record_id).await?;
    let (size, stream) = (stored.size, state.blobs.get(&stored.blob).await?);
    let headers = [
        (CONTENT_TYPE, OCTET_STREAM.to_owned()),
        (CONTENT_LENGTH, size.to_string()),
        (axum::http::HeaderName::from_static("x-medkey-version"), meta.current_version.to_string()),
    ];
    Ok((headers, Body::from_stream(stream)).into_response())
}
