//! Published encryption keys: an account publishes its X25519 key with its wallet's signature
//! (`PUT /v1/account/encryption-key`), and any signed-in account reads another's
//! (`GET /v1/accounts/{address}/encryption-key`) to wrap data keys to it, checking the
//! signature itself: the vault stores the statement but cannot forge one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use medkey_protocol::account_key;
use medkey_protocol::api::{self, PublishKeyBody};

use super::auth::Caller;
use super::ids;
use super::json::ApiJson;
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals, Unauthorized};
use super::{ApiError, AppState};
use crate::account_keys::PublishedKey;
use medkey_protocol::clock::now_ms;

/// Publishes the caller's encryption key, vouched for by its wallet signature.
#[utoipa::path(
    put,
    path = "/v1/account/encryption-key",
    tag = "sharing",
    request_body = PublishKeyBody,
    responses(
        (status = 204, description = "Published (replacing an earlier key)"),
        (status = 400, description = "invalid_key / bad_signature (not the caller's signature of the statement for \
            this key and chain) / malformed_json / invalid_body", body = ErrorBody),
        Unauthorized,
        JsonBodyRefusals,
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PublishKeyBody>,
) -> Result<StatusCode, ApiError> {
    let key: [u8; 32] = alloy::hex::decode(body.encryption_key.trim())
        .ok()
        .and_then(|k| k.try_into().ok())
        .filter(|k| *k != [0u8; 32])
        .ok_or_else(|| ApiError::bad_request("invalid_key", "encryption_key is 32 bytes of hex, not all zero"))?;
    let signature = alloy::hex::decode(body.signature.trim())
        .map_err(|_| ApiError::bad_request("bad_signature", "the signature is not hex"))?;
    if !account_key::verify(caller.address, state.chain_id, &key, &signature) {
        return Err(ApiError::bad_request("bad_signature", "not your signature of this key's statement on this chain"));
    }
    state.account_keys.publish(caller.address, &PublishedKey { encryption_key: key, signature }, now_ms()).await?;
    state.audit.append(&crate::audit_log::stamped("encryption_key_published", caller.address)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An account's published encryption key and the signature vouching for it.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}/encryption-key",
    tag = "sharing",
    params(("address" = String, Path, description = "The account's address, 0x-prefixed hex")),
    responses(
        (status = 200, description = "`{address, encryption_key, signature}`: check the signature before use",
            body = api::PublishedKey),
        (status = 400, description = "invalid_address", body = ErrorBody),
        Unauthorized,
        (status = 404, description = "not_found: the account has published no key", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn fetch(
    State(state): State<AppState>,
    _caller: Caller,
    Path(address): Path<String>,
) -> Result<Json<api::PublishedKey>, ApiError> {
    let address = ids::address(&address)?;
    let published =
        state.account_keys.get(address).await?.ok_or_else(|| ApiError::not_found("this account published no key"))?;
    Ok(Json(api::PublishedKey {
        address,
        encryption_key: alloy::hex::encode_prefixed(published.encryption_key),
        signature: alloy::hex::encode_prefixed(&published.signature),
    }))
}
