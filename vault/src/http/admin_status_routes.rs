//! `/v1/admin/status` and `/v1/admin/webhooks`: the running system as the registry console shows
//! it to role holders — the audit log against its anchor, the mirror's freshness, the relayer's
//! balance, webhook deliveries (dead ones retried by the operator), and who holds which role.
//! Every call is in the audit log.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use medkey_protocol::api::{
    AnchoringStatus, FailedDelivery, IndexerStatus, ProviderHistoryStep, RelayerStatus, RoleHolder as RoleHolderView,
    SystemStatus, WebhookCounts,
};

use super::admin_routes::{Operator, RoleHolder, role_name};
use super::openapi::{ErrorBody, Internal, Unauthorized};
use super::{ApiError, AppState};
use crate::audit_log::stamped;
use crate::notify;
use medkey_protocol::clock::now_ms;

/// The system at a glance, for any registry role holder.
#[utoipa::path(
    get,
    path = "/v1/admin/status",
    tag = "admin",
    responses(
        (status = 200, description = "Anchoring, mirror, relayer, webhooks and roles", body = SystemStatus),
        Unauthorized,
        (status = 403, description = "no_registry_role", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn status(
    State(state): State<AppState>,
    RoleHolder(who): RoleHolder,
) -> Result<Json<SystemStatus>, ApiError> {
    state.audit.append(&stamped("admin_status_read", who)).await?;
    let (log_size, log_root) = {
        let tree = state.audit.tree().await?;
        (tree.len(), alloy::hex::encode_prefixed(tree.root().as_bytes()))
    };
    let anchor = state.mirror.latest_anchor(state.chain_id).await?;
    let anchoring = AnchoringStatus {
        log_size,
        log_root,
        anchored_size: anchor.as_ref().map(|a| a.size),
        anchored_root: anchor.as_ref().map(|a| a.root.to_string()),
        anchored_at_ms: anchor.as_ref().map(|a| a.anchored_at * 1000),
    };
    let indexer = match state.mirror.freshness(state.chain_id, now_ms()).await {
        Ok(f) => {
            let verdict = f.check(&state.freshness);
            IndexerStatus {
                indexed_block: f.indexed_block,
                head_block: f.head_block,
                lag_blocks: f.lag_blocks,
                head_age_ms: f.head_age_ms,
                fresh: verdict.is_ok(),
                problem: verdict.err().map(|stale| stale.to_string()),
            }
        }
        Err(err) => IndexerStatus {
            indexed_block: 0,
            head_block: 0,
            lag_blocks: 0,
            head_age_ms: 0,
            fresh: false,
            problem: Some(err.to_string()),
        },
    };
    let relayer = match &state.relayer {
        Some(relayer) => Some(RelayerStatus {
            address: relayer.address().to_string(),
            balance_wei: relayer.balance().await.map_or_else(|why| format!("unknown ({why})"), |b| b.to_string()),
        }),
        None => None,
    };
    let (pending, delivered, dead) = notify::counts(state.mirror.pool()).await?;
    let webhooks = WebhookCounts { enabled: state.notifier.is_some(), pending, delivered, dead };
    // The last event of each (role, account) decides.
    let mut holders: BTreeMap<(B256, Address), bool> = BTreeMap::new();
    for event in state.mirror.role_events(state.chain_id).await? {
        holders.insert((event.role, event.account), event.granted);
    }
    let roles = holders
        .into_iter()
        .filter(|(_, held)| *held)
        .map(|((role, account), _)| RoleHolderView { role: role_name(role), account: account.to_string() })
        .collect();
    Ok(Json(SystemStatus { anchoring, indexer, relayer, webhooks, roles }))
}

/// Webhook deliveries given up after every retry (payloads left out), oldest first, at most 200.
#[utoipa::path(
    get,
    path = "/v1/admin/webhooks",
    tag = "admin",
    responses(
        (status = 200, description = "Dead deliveries", body = Vec<FailedDelivery>),
        Unauthorized,
        (status = 403, description = "no_registry_role", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn dead_webhooks(
    State(state): State<AppState>,
    RoleHolder(who): RoleHolder,
) -> Result<Json<Vec<FailedDelivery>>, ApiError> {
    state.audit.append(&stamped("admin_webhooks_read", who)).await?;
    let dead = notify::dead_letters(state.mirror.pool(), 200).await?;
    Ok(Json(
        dead.into_iter()
            .map(|d| FailedDelivery {
                id: d.id,
                event_type: d.event_type,
                attempts: d.attempts,
                created_at_ms: d.created_at_ms,
                last_error: d.last_error,
            })
            .collect(),
    ))
}

/// Puts a dead delivery back in the queue with a fresh set of attempts.
#[utoipa::path(
    post,
    path = "/v1/admin/webhooks/{id}/retry",
    tag = "admin",
    params(("id" = String, Path, description = "The delivery id")),
    responses(
        (status = 204, description = "Queued again"),
        Unauthorized,
        (status = 403, description = "not_operator", body = ErrorBody),
        (status = 404, description = "not_found: no dead delivery with this id", body = ErrorBody),
        (status = 409, description = "notifications_off: this vault sends no webhooks", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn retry_webhook(
    State(state): State<AppState>,
    Operator(who): Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let Some(notifier) = &state.notifier else {
        return Err(ApiError::new(StatusCode::CONFLICT, "notifications_off", "this vault sends no webhooks"));
    };
    if id.len() > 100 || !notifier.requeue(&id).await? {
        return Err(ApiError::not_found("no dead delivery with this id"));
    }
    state.audit.append(&stamped("webhook_retried", who)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A provider's history with the registry: registration, profile updates, suspensions and
/// reinstatements with their reasons, key rotations; oldest first.
#[utoipa::path(
    get,
    path = "/v1/admin/providers/{address}/history",
    tag = "admin",
    params(("address" = String, Path, description = "The provider's address, 0x-prefixed hex")),
    responses(
        (status = 200, description = "Oldest first; empty for an address the registry never registered",
            body = Vec<ProviderHistoryStep>),
        (status = 400, description = "invalid_address", body = ErrorBody),
        Unauthorized,
        (status = 403, description = "no_registry_role", body = ErrorBody),
        Internal,
    ),
    security(("bearer" = [])),
)]
pub async fn provider_history(
    State(state): State<AppState>,
    RoleHolder(who): RoleHolder,
    Path(address): Path<String>,
) -> Result<Json<Vec<ProviderHistoryStep>>, ApiError> {
    let provider = super::ids::address(&address)?;
    state.audit.append(&stamped("admin_provider_history_read", who)).await?;
    let mut steps = Vec::new();
    for event in state.mirror.provider_history(state.chain_id, provider).await? {
        let reason = match event.reason_hash {
            Some(hash) => state.directory.reason(hash).await?,
            None => None,
        };
        steps.push(ProviderHistoryStep {
            kind: event.kind,
            at_ms: event.block_timestamp.map(|secs| secs * 1000),
            block_number: event.block_number,
            tx_hash: event.tx_hash.to_string(),
            reason_hash: event.reason_hash.map(|h| h.to_string()),
            reason,
        });
    }
    Ok(Json(steps))
}
