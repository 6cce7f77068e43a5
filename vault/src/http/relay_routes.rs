//! Sharing without gas: ready-to-sign EIP-712 payloads for a grant or a revocation, and a relay
//! that submits the patient's signature to the registry.
//!
//! - `POST /v1/grants/typed-data`: a grant draft → `eth_signTypedData_v4` input + digest. Naming
//!   records registers their set here, so the gate can resolve the grant's records root.
//! - `POST /v1/revocations/typed-data`: a grant id → the same for `Revoke`.
//! - `POST /v1/relay`: `{typed_data, signature}` exactly as signed → mined transaction.

use alloy::primitives::{B256, U256};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use medkey_protocol::Category;
use medkey_protocol::api::{GrantDraft, RelayBody, Relayed, RevokeDraft, Signable};
use medkey_protocol::eip712::{self, Grant, Revoke};

use super::auth::Caller;
use super::ids;
use super::json::ApiJson;
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::{ApiError, AppState};
use crate::audit_log::AuditEntry;
use medkey_protocol::clock::now_ms;

/// How long a signature stays submittable unless the client asks otherwise (1 hour).
const DEFAULT_DEADLINE_S: u64 = 3_600;
const MAX_DEADLINE_S: u64 = 7 * 86_400;

/// A grant draft → ready-to-sign EIP-712 `Grant`. Naming records registers their set here.
#[utoipa::path(
    post,
    path = "/v1/grants/typed-data",
    tag = "sharing",
    request_body = GrantDraft,
    responses(
        (status = 200, description = "Typed data for `eth_signTypedData_v4` and its digest", body = Signable),
        (status = 400, description = "invalid_address / invalid_grant / invalid_record_id / invalid_deadline / \
            foreign_record / malformed_json / invalid_body", body = ErrorBody),
        Unauthorized,
        JsonBodyRefusals,
        Internal,
        (status = 503, description = "relay_not_configured: this vault has no relayer account", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn grant_typed_data(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(draft): ApiJson<GrantDraft>,
) -> Result<Json<Signable>, ApiError> {
    let relayer = relayer(&state)?;
    let provider = ids::address(&draft.provider)?;
    if draft.categories.is_empty() {
        return Err(ApiError::bad_request("invalid_grant", "name at least one category"));
    }
    let now_s = now_ms() / 1_000;
    // No start date asked for: zero, the registry's "at once" (live from the block that records
    // it). The vault's clock would do worse: the block's timestamp can be a second behind it, and
    // the gate then rightly holds the grant pending by the chain's clock while clients already
    // see it listed.
    let not_before = draft.not_before.unwrap_or(0);
    if u64::from(draft.expires_at) <= now_s || draft.expires_at <= not_before {
        return Err(ApiError::bad_request("invalid_grant", "expires_at must be in the future and after not_before"));
    }
    let records_root = match draft.records.as_deref() {
        None | Some([]) => B256::ZERO,
        Some(records) => {
            let ids = records.iter().map(|r| ids::record_id(r)).collect::<Result<Vec<_>, _>>()?;
            state.records.register_record_set(caller.address, &ids).await?
        }
    };
    let message = Grant {
        patient: caller.address,
        provider,
        categories: Category::mask(draft.categories.iter().copied()),
        recordsRoot: records_root,
        purpose: draft.purpose.index(),
        notBefore: not_before,
        expiresAt: draft.expires_at,
        write: draft.write,
        nonce: state.mirror.nonce(state.chain_id, caller.address).await?,
        deadline: deadline(now_s, draft.valid_for_s)?,
    };
    Ok(Json(signable(&message, state.chain_id, relayer.registry())))
}

/// A grant id → ready-to-sign EIP-712 `Revoke`.
#[utoipa::path(
    post,
    path = "/v1/revocations/typed-data",
    tag = "sharing",
    request_body = RevokeDraft,
    responses(
        (status = 200, description = "Typed data for `eth_signTypedData_v4` and its digest", body = Signable),
        (status = 400, description = "invalid_deadline / malformed_json / invalid_body", body = ErrorBody),
        Unauthorized,
        (status = 404, description = "not_found: no such grant of the caller's", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
        (status = 503, description = "relay_not_configured: this vault has no relayer account", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke_typed_data(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(draft): ApiJson<RevokeDraft>,
) -> Result<Json<Signable>, ApiError> {
    let relayer = relayer(&state)?;
    let grant = state.mirror.grant(state.chain_id, draft.grant_id).await?;
    if grant.is_none_or(|g| g.patient != caller.address) {
        return Err(ApiError::not_found("no such grant of yours"));
    }
    let message = Revoke {
        patient: caller.address,
        grantId: draft.grant_id,
        nonce: state.mirror.nonce(state.chain_id, caller.address).await?,
        deadline: deadline(now_ms() / 1_000, draft.valid_for_s)?,
    };
    Ok(Json(signable(&message, state.chain_id, relayer.registry())))
}

/// Submits the caller's own signed `Grant` or `Revoke` to the registry and waits until it is mined.
#[utoipa::path(
    post,
    path = "/v1/relay",
    tag = "sharing",
    request_body = RelayBody,
    responses(
        (status = 201, description = "Mined", body = Relayed),
        (status = 400, description = "bad_signature / wrong_domain / malformed_typed_data / malformed_json / \
            invalid_body", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "not_your_signature: the signer is not the caller", body = ErrorBody),
        (status = 409, description = "refused_by_registry (e.g. a used nonce or a passed deadline)", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
        (status = 502, description = "chain_unavailable: the chain did not take the transaction", body = ErrorBody),
        (status = 503, description = "relay_not_configured: this vault has no relayer account", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn relay(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RelayBody>,
) -> Result<(StatusCode, Json<Relayed>), ApiError> {
    let relayer = relayer(&state)?;
    let signature = alloy::hex::decode(body.signature.trim())
        .map_err(|_| ApiError::bad_request("bad_signature", "the signature is not hex"))?;
    let typed = body.typed_data;
    if *typed.domain() != eip712::domain(relayer.chain_id(), relayer.registry()) {
        return Err(ApiError::bad_request("wrong_domain", "the typed data is not for this registry and chain"));
    }
    let malformed = |err: serde_json::Error| ApiError::bad_request("malformed_typed_data", err.to_string());
    let (kind, relayed) = match typed.primary_type.as_str() {
        "Grant" => {
            let grant: Grant = serde_json::from_value(typed.message.clone()).map_err(malformed)?;
            only_own(&caller, grant.patient)?;
            ("grant_relayed", relayer.grant(&grant, &signature).await?)
        }
        "Revoke" => {
            let revoke: Revoke = serde_json::from_value(typed.message.clone()).map_err(malformed)?;
            only_own(&caller, revoke.patient)?;
            ("revoke_relayed", relayer.revoke(&revoke, &signature).await?)
        }
        other => {
            return Err(ApiError::bad_request("malformed_typed_data", format!("cannot relay a '{other}'")));
        }
    };
    let entry = AuditEntry {
        patient: Some(caller.address),
        grant_id: Some(relayed.grant_id),
        ..crate::audit_log::stamped(kind, caller.address)
    };
    state.audit.append(&entry).await?;
    Ok((StatusCode::CREATED, Json(relayed)))
}

fn relayer(state: &AppState) -> Result<&crate::relay::Relayer, ApiError> {
    state.relayer.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "relay_not_configured", "this vault has no relayer account")
    })
}

/// The vault relays a patient's own signatures only, so it cannot be used as a free gas station.
fn only_own(caller: &Caller, patient: alloy::primitives::Address) -> Result<(), ApiError> {
    if patient != caller.address {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "not_your_signature", "sign in as the patient who signed"));
    }
    Ok(())
}

fn deadline(now_s: u64, valid_for_s: Option<u64>) -> Result<U256, ApiError> {
    let valid_for = valid_for_s.unwrap_or(DEFAULT_DEADLINE_S);
    if valid_for == 0 || valid_for > MAX_DEADLINE_S {
        return Err(ApiError::bad_request("invalid_deadline", format!("valid_for_s must be 1 to {MAX_DEADLINE_S}")));
    }
    Ok(U256::from(now_s + valid_for))
}

fn signable<S: alloy::sol_types::SolStruct + serde::Serialize>(
    message: &S,
    chain_id: u64,
    registry: alloy::primitives::Address,
) -> Signable {
    let typed_data = eip712::typed_data(message, chain_id, registry);
    let digest = message.eip712_signing_hash(&eip712::domain(chain_id, registry));
    Signable { typed_data, digest }
}
