//! `/v1/access-requests`: a provider asks a patient for access; the patient approves with a
//! grant made in their own wallet, or declines. See `crate::access_requests`.
//!
//! - `POST /v1/access-requests` (a registered, active provider): `{patient, categories, purpose,
//!   duration_secs, note?}` → 201 and the pending request.
//! - `GET /v1/access-requests[?status=]`: requests to the caller (as patient) and from it (as
//!   provider).
//! - `POST /v1/access-requests/{id}/approve` `{grant_id}` (the patient): the grant must be live in
//!   the mirror, from this patient to this provider, and cover every requested category.
//! - `POST /v1/access-requests/{id}/decline` (the patient).
//!
//! Every change is in the audit log and, with notifications on, in the webhook outbox.

use alloy::primitives::B256;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use medkey_indexer::Freshness;
use medkey_indexer::model::{GrantState, ProviderStatus};
use medkey_protocol::api::{AccessRequestView, ApproveBody, RequestDraft};
use medkey_protocol::{Category, Purpose};
use serde::Deserialize;

use super::auth::Caller;
use super::json::{ApiJson, ApiQuery};
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::{ApiError, AppState, ids};
use crate::access_requests::{
    AccessRequest, AccessRequests, Answer, MAX_DURATION_SECS, MIN_DURATION_SECS, NewRequest, RequestError,
    RequestStatus, check_note, new_id,
};
use crate::audit_log::{AuditEntry, stamped};
use crate::notify::{Event, EventType};
use medkey_protocol::clock::now_ms;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
}

impl From<AccessRequest> for AccessRequestView {
    fn from(r: AccessRequest) -> Self {
        Self {
            id: alloy::hex::encode(r.id),
            status: r.status.as_str().to_owned(),
            patient: r.patient.to_string(),
            provider: r.provider.to_string(),
            categories: Category::from_mask(r.categories).into_iter().map(String::from).collect(),
            purpose: Purpose::from_index(r.purpose).map_or_else(|| r.purpose.to_string(), String::from),
            duration_secs: r.duration_secs,
            write: r.write,
            note: r.note,
            created_at: rfc3339(r.created_at_ms),
            expires_at: rfc3339(r.expires_at_ms),
            decided_at: r.decided_at_ms.map(rfc3339),
            grant_id: r.grant_id.map(|g| g.to_string()),
        }
    }
}

/// A registered, active provider asks a patient for access.
#[utoipa::path(
    post,
    path = "/v1/access-requests",
    tag = "requests",
    operation_id = "create_access_request",
    request_body = RequestDraft,
    responses(
        (status = 201, description = "Pending; the patient sees it (and the note) in `GET /v1/access-requests`",
            body = AccessRequestView),
        (status = 400, description = "invalid_address / invalid_category / invalid_purpose / invalid_duration / \
            invalid_note / invalid_request (no category, or the caller names itself) / malformed_json / \
            invalid_body", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "provider_not_registered / provider_suspended: only a registered, active \
            provider may ask", body = ErrorBody),
        (status = 409, description = "request_pending: this provider already has a pending request to this \
            patient", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
        (status = 503, description = "mirror_stale: the vault cannot check the provider's registration now",
            body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(draft): ApiJson<RequestDraft>,
) -> Result<(StatusCode, Json<AccessRequestView>), ApiError> {
    let patient = ids::address(draft.patient.trim())?;
    if patient == caller.address {
        return Err(ApiError::bad_request("invalid_request", "a provider cannot ask itself for access"));
    }
    if draft.categories.is_empty() {
        return Err(ApiError::bad_request("invalid_request", "name at least one category"));
    }
    let categories = draft
        .categories
        .iter()
        .map(|c| c.parse::<Category>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| ApiError::bad_request("invalid_category", err.to_string()))?;
    let purpose =
        draft.purpose.parse::<Purpose>().map_err(|err| ApiError::bad_request("invalid_purpose", err.to_string()))?;
    let duration_secs =
        draft.duration_secs.as_u64().filter(|d| (MIN_DURATION_SECS..=MAX_DURATION_SECS).contains(d)).ok_or_else(
            || {
                ApiError::bad_request(
                    "invalid_duration",
                    format!("duration_secs must be a whole number from {MIN_DURATION_SECS} to {MAX_DURATION_SECS}"),
                )
            },
        )?;
    let note = draft.note.filter(|n| !n.is_empty());
    if let Some(note) = &note {
        check_note(note).map_err(|message| ApiError::bad_request("invalid_note", message))?;
    }
    fresh_mirror(&state)?;
    match state.mirror.provider(state.chain_id, caller.address).await? {
        None => {
            return Err(ApiError::forbidden(
                "provider_not_registered",
                "only a registered provider may ask for access",
            ));
        }
        Some(p) if p.status == ProviderStatus::Suspended => {
            return Err(ApiError::forbidden("provider_suspended", "a suspended provider may not ask for access"));
        }
        Some(_) => {}
    }
    let now = now_ms();
    let new = NewRequest {
        id: new_id(),
        provider: caller.address,
        patient,
        categories: Category::mask(categories),
        purpose: purpose.index(),
        duration_secs,
        write: draft.write,
        note,
    };
    // The webhook names the request, never its note: a receiver learns metadata only.
    let event = state.notifier.as_ref().map(|_| {
        Event::request(EventType::AccessRequested, now, patient, caller.address, &new.id, new.categories, None)
    });
    let request = store(&state).create(&new, now, event.as_ref()).await?;
    wake(&state);
    let entry = AuditEntry {
        patient: Some(patient),
        purpose: Some(new.purpose),
        ..stamped("access_requested", caller.address)
    };
    state.audit.append(&entry).await?;
    Ok((StatusCode::CREATED, Json(request.into())))
}

/// Requests to the caller (as patient) and from it (as provider), newest first.
#[utoipa::path(
    get,
    path = "/v1/access-requests",
    tag = "requests",
    operation_id = "list_access_requests",
    params(("status" = Option<String>, Query, description = "`pending`, `approved`, `declined` or `expired`")),
    responses(
        (status = 200, description = "The requests", body = Vec<AccessRequestView>),
        (status = 400, description = "invalid_status / invalid_query", body = ErrorBody),
        Unauthorized,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<AccessRequestView>>, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(RequestStatus::parse(text).ok_or_else(|| {
            ApiError::bad_request("invalid_status", "status must be pending, approved, declined or expired")
        })?),
    };
    let requests = store(&state).list(caller.address, status, now_ms()).await?;
    Ok(Json(requests.into_iter().map(AccessRequestView::from).collect()))
}

/// The patient approves a pending request with the grant they made for it in their own wallet.
#[utoipa::path(
    post,
    path = "/v1/access-requests/{id}/approve",
    tag = "requests",
    operation_id = "approve_access_request",
    params(("id" = String, Path, description = "The request id (32 hex digits)")),
    request_body = ApproveBody,
    responses(
        (status = 200, description = "Approved, naming the grant", body = AccessRequestView),
        (status = 400, description = "invalid_request_id / invalid_grant_id / malformed_json / invalid_body",
            body = ErrorBody),
        Unauthorized,
        (status = 403, description = "not_the_patient: only the patient answers a request", body = ErrorBody),
        (status = 404, description = "not_found: no such request to or from the caller", body = ErrorBody),
        (status = 409, description = "request_not_pending / request_expired / grant_not_found (not in the \
            mirror, or not yet: retry shortly) / grant_wrong_parties (not from this patient to this provider) / \
            grant_is_emergency (a break-glass grant is not the patient's answer) / grant_revoked / grant_not_live \
            (not started or expired) / grant_insufficient (does not cover every requested category)",
            body = ErrorBody),
        JsonBodyRefusals,
        Internal,
        (status = 503, description = "mirror_stale: the vault cannot check the grant now", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> Result<Json<AccessRequestView>, ApiError> {
    let request = patients_request(&state, &caller, &id).await?;
    let grant_id: B256 = body
        .grant_id
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_request("invalid_grant_id", "a grant id is 0x and 64 hex digits"))?;
    if request.status != RequestStatus::Pending {
        return Err(RequestError::NotPending(request.status).into());
    }
    let checkpoint = fresh_mirror(&state)?;
    let conflict = |code, message: &str| ApiError::new(StatusCode::CONFLICT, code, message);
    let Some(grant) = state.mirror.grant(state.chain_id, grant_id).await? else {
        return Err(conflict(
            "grant_not_found",
            "the chain mirror has no such grant; if you just made it, retry in a few seconds",
        ));
    };
    if grant.patient != request.patient || grant.provider != request.provider {
        return Err(conflict("grant_wrong_parties", "the grant is not from you to the requesting provider"));
    }
    if grant.emergency {
        return Err(conflict("grant_is_emergency", "a break-glass grant is the provider's, not your answer"));
    }
    // Live at the wall clock and at the chain's clock, as the key-release gate requires.
    let states = [grant.state_at(now_ms() / 1_000), grant.state_at(checkpoint.block.timestamp)];
    if states.contains(&GrantState::Revoked) {
        return Err(conflict("grant_revoked", "the grant has been revoked"));
    }
    if states.iter().any(|s| *s != GrantState::Live) {
        return Err(conflict("grant_not_live", "the grant has not started yet or has expired"));
    }
    if grant.categories & request.categories != request.categories {
        return Err(conflict("grant_insufficient", "the grant does not cover every category the provider asked for"));
    }
    let now = now_ms();
    let event = state.notifier.as_ref().map(|_| {
        let (patient, provider) = (request.patient, request.provider);
        Event::request(
            EventType::AccessApproved,
            now,
            patient,
            provider,
            &request.id,
            request.categories,
            Some(grant_id),
        )
    });
    let request = store(&state).answer(&request.id, Answer::Approve(grant_id), now, event.as_ref()).await?;
    wake(&state);
    let entry = AuditEntry {
        patient: Some(request.patient),
        grant_id: Some(grant_id),
        ..stamped("access_approved", caller.address)
    };
    state.audit.append(&entry).await?;
    Ok(Json(request.into()))
}

/// The patient declines a pending request.
#[utoipa::path(
    post,
    path = "/v1/access-requests/{id}/decline",
    tag = "requests",
    operation_id = "decline_access_request",
    params(("id" = String, Path, description = "The request id (32 hex digits)")),
    responses(
        (status = 200, description = "Declined", body = AccessRequestView),
        (status = 400, description = "invalid_request_id", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "not_the_patient: only the patient answers a request", body = ErrorBody),
        (status = 404, description = "not_found: no such request to or from the caller", body = ErrorBody),
        (status = 409, description = "request_not_pending / request_expired", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AccessRequestView>, ApiError> {
    let request = patients_request(&state, &caller, &id).await?;
    let now = now_ms();
    let event = state.notifier.as_ref().map(|_| {
        let (patient, provider) = (request.patient, request.provider);
        Event::request(EventType::AccessDeclined, now, patient, provider, &request.id, request.categories, None)
    });
    let request = store(&state).answer(&request.id, Answer::Decline, now, event.as_ref()).await?;
    wake(&state);
    let entry = AuditEntry { patient: Some(request.patient), ..stamped("access_declined", caller.address) };
    state.audit.append(&entry).await?;
    Ok(Json(request.into()))
}

fn store(state: &AppState) -> AccessRequests {
    AccessRequests::new(state.mirror.pool().clone())
}

fn wake(state: &AppState) {
    if let Some(notifier) = &state.notifier {
        notifier.wake();
    }
}

/// The request `id` if the caller is its patient: 404 to anyone it does not concern (so ids
/// reveal nothing), 403 to its provider.
async fn patients_request(state: &AppState, caller: &Caller, id: &str) -> Result<AccessRequest, ApiError> {
    let id = request_id(id)?;
    let request = store(state).get(&id, now_ms()).await?;
    match request {
        Some(r) if r.patient == caller.address => Ok(r),
        Some(r) if r.provider == caller.address => {
            Err(ApiError::forbidden("not_the_patient", "only the patient answers an access request"))
        }
        _ => Err(ApiError::not_found("no such access request")),
    }
}

fn request_id(text: &str) -> Result<[u8; 16], ApiError> {
    let invalid = || ApiError::bad_request("invalid_request_id", "a request id is 32 hex digits");
    if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    alloy::hex::decode(text).ok().and_then(|b| b.try_into().ok()).ok_or_else(invalid)
}

/// The mirror's checkpoint, if it is fresh enough to judge by (as the gate's, from memory).
fn fresh_mirror(state: &AppState) -> Result<medkey_indexer::model::Checkpoint, ApiError> {
    let stale = |message: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "mirror_stale", message);
    let checkpoint =
        state.gate.mirror().checkpoint().ok_or_else(|| stale("the chain mirror has not started".into()))?;
    Freshness::of(&checkpoint, now_ms()).check(&state.freshness).map_err(|err| stale(err.to_string()))?;
    Ok(checkpoint)
}

fn rfc3339(at_ms: u64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
