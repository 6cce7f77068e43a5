//! SMART Health Links. The patient's own: `/v1/share-links` (create, list with every use),
//! `DELETE /v1/share-links/{id}` (revoke at once), `PUT /v1/share-links/{id}/files` (new files
//! for a long-lived link). Anyone's, as the specification names them: `POST /shl/{id}` (the
//! manifest, with `recipient` and the passcode) and `GET /shl/{id}/files/{n}?ticket=…` (a file, by
//! the location the manifest gave). Each manifest request is stored with the name the requester
//! gave and goes in the audit log (without the name) before it is answered.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use medkey_protocol::api::{
    CreateShareLinkBody, Manifest, ManifestFile, ManifestRequest, ShareFileBody, ShareFilesBody, ShareLinkAccess,
    ShareLinkView,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::client_ip::ClientIp;
use super::json::{ApiJson, ApiQuery};
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::{ApiError, AppState};
use crate::audit_log::{AuditEntry, stamped};
use crate::share_link_admission::{self as admission, AdmissionError, link_digest};
use crate::share_links::{Link, LinkState, NewFile, NewLink, ShareLinks, StoredFile};
use medkey_protocol::clock::now_ms;

const MAX_FILES: usize = 20;
const MAX_FILE_CHARS: usize = 5 * 1024 * 1024;
const MAX_LABEL_CHARS: usize = 80;

fn store(state: &AppState) -> ShareLinks {
    ShareLinks::new(state.mirror.pool().clone())
}

/// Creates a link: the files are JWE the patient's client made; the key never comes here.
#[utoipa::path(
    post,
    path = "/v1/share-links",
    tag = "share-links",
    request_body = CreateShareLinkBody,
    responses(
        (status = 201, description = "Stored; the link works at once", body = ShareLinkView),
        (status = 400, description = "invalid_link (id, manifest_url, label, passcode, expiry, purpose or files, \
            named in the message) / malformed_json / invalid_body", body = ErrorBody),
        Unauthorized,
        (status = 409, description = "link_exists", body = ErrorBody),
        (status = 429, description = "rate_limited: this account created limits.share_links_per_address_per_minute \
            links in the last minute", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until another may be created"))),
        JsonBodyRefusals,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<CreateShareLinkBody>,
) -> Result<(StatusCode, Json<ShareLinkView>), ApiError> {
    let now = now_ms();
    check_id(&body.id)?;
    let reached_at = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    check_manifest_url(&body.manifest_url, &body.id, state.identity.origin(), reached_at)?;
    state.limits.share_link_creation(caller.address).await?;
    let label = body.label.trim();
    if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(invalid(format!("label is 1 to {MAX_LABEL_CHARS} characters of plain text")));
    }
    if body.expires_at_ms.is_some_and(|at| at <= now) {
        return Err(invalid("expires_at_ms is in the past"));
    }
    let purpose = body.purpose.clone().unwrap_or_else(|| "link".into());
    if !matches!(purpose.as_str(), "link" | "emergency") {
        return Err(invalid("purpose is link or emergency"));
    }
    let files = check_files(&body.files)?;
    let passcode_hash = match body.passcode {
        None => None,
        Some(passcode) => {
            if !(4..=64).contains(&passcode.chars().count()) {
                return Err(invalid("a passcode is 4 to 64 characters"));
            }
            Some(hash_passcode(passcode).await?)
        }
    };
    let new = NewLink {
        id: body.id,
        owner: caller.address,
        manifest_url: body.manifest_url,
        label: label.to_owned(),
        purpose,
        passcode_hash,
        single_use: body.single_use,
        long_lived: body.long_lived,
        categories: medkey_protocol::Category::mask(body.categories.iter().copied()),
        expires_at_ms: body.expires_at_ms,
        files,
    };
    let link = store(&state).create(&new, now).await?;
    let entry = AuditEntry {
        patient: Some(caller.address),
        grant_id: Some(link_digest(&link.id)),
        ..stamped("share_link_created", caller.address)
    };
    state.audit.append(&entry).await?;
    Ok((StatusCode::CREATED, Json(view(&link, new.files.len() as u32, Vec::new(), now))))
}

/// Her links, newest first, each with every manifest request made of it.
#[utoipa::path(
    get,
    path = "/v1/share-links",
    tag = "share-links",
    responses((status = 200, description = "Her links", body = Vec<ShareLinkView>), Unauthorized, Internal),
    security(("bearer" = [])),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ShareLinkView>>, ApiError> {
    let now = now_ms();
    let links = store(&state).list(caller.address).await?;
    Ok(Json(
        links
            .into_iter()
            .map(|(link, files, accesses)| {
                let accesses = accesses
                    .into_iter()
                    .map(|a| ShareLinkAccess { at_ms: a.at_ms, recipient: a.recipient, outcome: a.outcome })
                    .collect();
                view(&link, files, accesses, now)
            })
            .collect(),
    ))
}

/// Revokes her link: its manifest and every file location it handed out stop working at once.
#[utoipa::path(
    delete,
    path = "/v1/share-links/{id}",
    tag = "share-links",
    params(("id" = String, Path, description = "The link's id")),
    responses(
        (status = 204, description = "Revoked"),
        Unauthorized,
        (status = 404, description = "not_found (also for a link of someone else's, or revoked already)", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !store(&state).revoke(caller.address, &id, now_ms()).await? {
        return Err(ApiError::not_found("no such live link"));
    }
    let entry = AuditEntry {
        patient: Some(caller.address),
        grant_id: Some(link_digest(&id)),
        ..stamped("share_link_revoked", caller.address)
    };
    state.audit.append(&entry).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New files for her long-lived link (flag `L`): the link stays the same, recipients get the new files.
#[utoipa::path(
    put,
    path = "/v1/share-links/{id}/files",
    tag = "share-links",
    params(("id" = String, Path, description = "The link's id")),
    request_body = ShareFilesBody,
    responses(
        (status = 204, description = "Replaced"),
        (status = 400, description = "invalid_link (the files) / malformed_json / invalid_body", body = ErrorBody),
        Unauthorized,
        (status = 404, description = "not_found: no live long-lived link of hers with this id", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn replace_files(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ShareFilesBody>,
) -> Result<StatusCode, ApiError> {
    let files = check_files(&body.files)?;
    if !store(&state).replace_files(caller.address, &id, &files, now_ms()).await? {
        return Err(ApiError::not_found("no live long-lived link of yours with this id"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The manifest (the specification's manifest request): the files, inline or by a location
/// good for an hour. A wrong passcode is answered 401 with `remainingAttempts`; a link that is
/// revoked, expired, used or disabled, 404.
#[utoipa::path(
    post,
    path = "/shl/{id}",
    tag = "share-links",
    params(("id" = String, Path, description = "The link's id")),
    request_body = ManifestRequest,
    responses(
        (status = 200, description = "The manifest", body = Manifest),
        (status = 400, description = "invalid_request (recipient missing or too long) / malformed_json / invalid_body",
            body = ErrorBody),
        (status = 401, description = "wrong_passcode; the body also carries the specification's \
            `remainingAttempts` (wrong passcodes left before the link stops working)", body = ErrorBody),
        (status = 404, description = "no_such_link / link_revoked / link_expired / link_used / link_disabled",
            body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        JsonBodyRefusals,
        Internal,
    ),
)]
pub async fn manifest(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ManifestRequest>,
) -> Result<Response, ApiError> {
    state.limits.share_link_read(ip).await?;
    let admitted = match admission::admit(&state, &id, &body.recipient, body.passcode.as_deref()).await {
        Ok(admitted) => admitted,
        Err(AdmissionError::WrongPasscode { left }) => return Ok(wrong_passcode(left)),
        Err(err) => return Err(err.into()),
    };
    let (link, now) = (&admitted.link, admitted.now);
    let links = store(&state);
    let files = links.files(&link.id).await?;
    let ticket = links.issue_ticket(&link.id, now).await?;
    let max_embedded = body.embedded_length_max.unwrap_or(0);
    let files = files.iter().map(|file| manifest_file(link, file, &ticket, max_embedded)).collect();
    admission::opened(&state, &admitted, &body.recipient).await?;
    let status = if link.long_lived { "can-change" } else { "finalized" };
    Ok(Json(Manifest { status: status.into(), files }).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DirectQuery {
    /// Who is asking, in words (shown to the patient).
    recipient: String,
}

/// A link with flag `U`: its one file, directly (the specification's direct-file request).
#[utoipa::path(
    get,
    path = "/shl/{id}",
    tag = "share-links",
    params(("id" = String, Path, description = "The link's id"), DirectQuery),
    responses(
        (status = 200, description = "The file: a compact JWE", content_type = "application/jose", body = String),
        (status = 400, description = "invalid_request (recipient) / invalid_query / not_direct: the link has a \
            passcode or more than one file, so ask for its manifest", body = ErrorBody),
        (status = 404, description = "no_such_link / link_revoked / link_expired / link_used", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
    ),
)]
pub async fn direct(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DirectQuery>,
) -> Result<Response, ApiError> {
    state.limits.share_link_read(ip).await?;
    let file = admission::admit_direct(&state, &id, &query.recipient).await?;
    Ok(([(header::CONTENT_TYPE, "application/jose")], file.jwe).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// The ticket the manifest's location carries.
    ticket: String,
}

/// One file of a link, by the location a manifest gave (good for an hour, while the link lives).
#[utoipa::path(
    get,
    path = "/shl/{id}/files/{position}",
    tag = "share-links",
    params(
        ("id" = String, Path, description = "The link's id"),
        ("position" = u32, Path, description = "The file's place in the manifest, from 0"),
        TicketQuery,
    ),
    responses(
        (status = 200, description = "The file: a compact JWE", content_type = "application/jose", body = String),
        (status = 400, description = "invalid_query: no ticket, or an unknown parameter", body = ErrorBody),
        (status = 404, description = "not_found: no such file, a ticket that expired, or a link no longer active",
            body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
    ),
)]
pub async fn file(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path((id, position)): Path<(String, u32)>,
    ApiQuery(query): ApiQuery<TicketQuery>,
) -> Result<Response, ApiError> {
    state.limits.share_link_read(ip).await?;
    let now = now_ms();
    let links = store(&state);
    // The files go with the link: revoked, expired or disabled after the manifest, its tickets
    // stop too. A single-use link is `used` by the very request that got the ticket.
    let live = links.get(&id).await?.is_some_and(|link| matches!(link.state(now), LinkState::Active | LinkState::Used));
    let found = if live { links.ticket_file(&id, position, &query.ticket, now).await? } else { None };
    let file = found
        .ok_or_else(|| ApiError::not_found("no such file, or its location expired: ask for the manifest again"))?;
    Ok(([(header::CONTENT_TYPE, "application/jose")], file.jwe).into_response())
}

fn manifest_file(link: &Link, file: &StoredFile, ticket: &str, max_embedded: u64) -> ManifestFile {
    let embed = file.jwe.len() as u64 <= max_embedded;
    ManifestFile {
        // Exactly one of the specification's three types: parameters (older clients sent
        // `;fhirVersion=4.0.1`) are not part of it, and receivers match the type as a whole.
        content_type: media_type(&file.content_type).to_owned(),
        location: (!embed).then(|| format!("{}/files/{}?ticket={ticket}", link.manifest_url, file.position)),
        embedded: embed.then(|| file.jwe.clone()),
        last_updated: Some(crate::notify::rfc3339(file.updated_at_ms)),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_link", message)
}

/// 43 base64url characters: 32 random bytes.
fn check_id(id: &str) -> Result<(), ApiError> {
    if id.len() == 43 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(())
    } else {
        Err(invalid("id is 32 random bytes as 43 base64url characters"))
    }
}

/// `https://…/shl/{id}` (plain http only for a local address).
/// The manifest URL must be this vault's own `/shl/{id}`: at its public origin (`identity.origin`)
/// or at the host the request reached it by (`Host`, what a client that reached it directly
/// uses), https unless on loopback. The manifest's file locations are built from it, so a link
/// cannot send its receivers' ticketed requests to another host.
fn check_manifest_url(url: &str, id: &str, public_origin: &str, reached_at: Option<&str>) -> Result<(), ApiError> {
    let parsed = url::Url::parse(url).map_err(|_| invalid("manifest_url is not a URL"))?;
    let local = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = parsed.scheme() == "https" || (parsed.scheme() == "http" && local);
    let origin = parsed.origin().ascii_serialization();
    let public = url::Url::parse(public_origin).map(|u| u.origin().ascii_serialization()).ok();
    let reached = reached_at.map(|host| format!("{}://{host}", parsed.scheme()));
    let ours = public.as_deref() == Some(origin.as_str())
        || reached.and_then(|r| url::Url::parse(&r).ok()).map(|u| u.origin().ascii_serialization()) == Some(origin);
    if !scheme_ok
        || !ours
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || parsed.path() != format!("/shl/{id}")
    {
        return Err(invalid(format!("manifest_url is this vault's {public_origin}/shl/{{id}} for this id")));
    }
    if url.len() > 128 {
        return Err(invalid("manifest_url is at most 128 characters (the specification's limit)"));
    }
    Ok(())
}

/// The content types a SMART Health Links manifest may name (STU1, "manifest files").
const SPEC_CONTENT_TYPES: [&str; 3] =
    ["application/fhir+json", "application/smart-health-card", "application/smart-api-access"];

/// A content type without its parameters, as the manifest names it.
fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or_default().trim()
}

fn check_files(files: &[ShareFileBody]) -> Result<Vec<NewFile>, ApiError> {
    if files.is_empty() || files.len() > MAX_FILES {
        return Err(invalid(format!("a link has 1 to {MAX_FILES} files")));
    }
    files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            if !SPEC_CONTENT_TYPES.contains(&media_type(&file.content_type)) {
                return Err(invalid(format!(
                    "file {i}: content_type is one the specification names: {}",
                    SPEC_CONTENT_TYPES.join(", ")
                )));
            }
            let parts: Vec<&str> = file.jwe.split('.').collect();
            let compact = parts.len() == 5
                && parts[1].is_empty()
                && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            if !compact || file.jwe.len() > MAX_FILE_CHARS {
                return Err(invalid(format!(
                    "file {i}: not a compact JWE with direct encryption (alg dir), or larger than 5 MiB"
                )));
            }
            Ok(NewFile { content_type: media_type(&file.content_type).to_owned(), jwe: file.jwe.clone() })
        })
        .collect()
}

fn view(link: &Link, files: u32, accesses: Vec<ShareLinkAccess>, now: u64) -> ShareLinkView {
    ShareLinkView {
        id: link.id.clone(),
        manifest_url: link.manifest_url.clone(),
        label: link.label.clone(),
        purpose: link.purpose.clone(),
        created_at_ms: link.created_at_ms,
        expires_at_ms: link.expires_at_ms,
        single_use: link.single_use,
        long_lived: link.long_lived,
        categories: medkey_protocol::Category::from_mask(link.categories),
        has_passcode: link.passcode_hash.is_some(),
        attempts_left: link.attempts_left,
        state: link.state(now).as_str().into(),
        files,
        accesses,
    }
}

async fn hash_passcode(passcode: String) -> Result<String, ApiError> {
    crate::passcodes::hash(passcode).await.map_err(ApiError::internal)
}

/// A wrong passcode: 401 with the specification's body (how many attempts are left).
fn wrong_passcode(left: u32) -> Response {
    let err = AdmissionError::WrongPasscode { left };
    let answer = serde_json::json!({
        "remainingAttempts": left,
        "error": {"code": "wrong_passcode", "message": err.to_string()},
    });
    (StatusCode::UNAUTHORIZED, Json(answer)).into_response()
}
