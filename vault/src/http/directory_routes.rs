//! `/v1/directory`: the verified provider directory, public (business information only). Each
//! entry carries the provider's signature and the chain's state, so a client can check it rather
//! than believe this vault.

use std::collections::HashMap;

use alloy::primitives::Address;
use axum::Json;
use axum::extract::{Path, State};
use medkey_indexer::model::ProviderStatus;
use medkey_protocol::api::{DirectoryEntry, DirectoryLookup, DirectoryLookupBody, DirectoryPage, RegistryAction};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ids;
use super::json::{ApiJson, ApiQuery};
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals};
use super::state::now_ms;
use super::{ApiError, AppState};
use crate::directory::{Listed, Search};

const DEFAULT_PER_PAGE: u32 = 20;
const MAX_PER_PAGE: u32 = 100;
const MAX_LOOKUP: usize = 500;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DirectoryQuery {
    /// Words of a name, organisation or city (any case), or an exact NPI.
    #[serde(default)]
    q: String,
    /// A NUCC taxonomy code, e.g. `207Q00000X`.
    #[serde(default)]
    specialty: String,
    /// A city, whole (any case).
    #[serde(default)]
    city: String,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    country: String,
    /// From 1 (default 1).
    #[serde(default)]
    page: Option<u32>,
    /// 1 to 100 (default 20).
    #[serde(default)]
    per_page: Option<u32>,
}

/// Searches the directory: listed providers whose profile the registry committed to.
#[utoipa::path(
    get,
    path = "/v1/directory",
    tag = "directory",
    params(DirectoryQuery),
    responses(
        (status = 200, description = "One page of providers, by name", body = DirectoryPage),
        (status = 400, description = "invalid_query (page, per_page, specialty, country or a query over 100 \
            characters)", body = ErrorBody),
        Internal,
    ),
)]
pub async fn search(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DirectoryQuery>,
) -> Result<Json<DirectoryPage>, ApiError> {
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if page == 0 || page > 10_000 {
        return Err(ApiError::bad_request("invalid_query", "page counts from 1 (at most 10000)"));
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(ApiError::bad_request("invalid_query", format!("per_page is 1 to {MAX_PER_PAGE}")));
    }
    if [&query.q, &query.city].iter().any(|text| text.chars().count() > 100 || text.chars().any(char::is_control)) {
        return Err(ApiError::bad_request("invalid_query", "q and city are at most 100 characters of plain text"));
    }
    if !query.specialty.is_empty() && !medkey_protocol::directory::taxonomy::is_well_formed(&query.specialty) {
        return Err(ApiError::bad_request("invalid_query", "specialty is a NUCC taxonomy code such as 207Q00000X"));
    }
    let country_ok = query.country.len() == 2 && query.country.bytes().all(|b| b.is_ascii_alphabetic());
    if !query.country.is_empty() && !country_ok {
        return Err(ApiError::bad_request("invalid_query", "country is a two-letter ISO 3166 code such as US"));
    }
    let search = Search {
        text: query.q,
        taxonomy: query.specialty,
        city: query.city,
        country: query.country,
        offset: u64::from(page - 1) * u64::from(per_page),
        limit: u64::from(per_page),
    };
    state.directory.catch_up(&state.mirror, state.chain_id, now_ms()).await?;
    let (listed, total) = state.directory.search(&search).await?;
    Ok(Json(DirectoryPage { providers: entries(&state, listed).await?, total, page, per_page }))
}

/// The directory entries of these addresses (the names behind a list of grants, say).
#[utoipa::path(
    post,
    path = "/v1/directory/lookup",
    tag = "directory",
    request_body = DirectoryLookupBody,
    responses(
        (status = 200, description = "The listed ones, in the order asked; unlisted addresses are left out",
            body = DirectoryLookup),
        (status = 400, description = "invalid_address / too_many_addresses (over 500) / malformed_json / \
            invalid_body", body = ErrorBody),
        JsonBodyRefusals,
        Internal,
    ),
)]
pub async fn lookup(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<DirectoryLookupBody>,
) -> Result<Json<DirectoryLookup>, ApiError> {
    if body.addresses.len() > MAX_LOOKUP {
        return Err(ApiError::bad_request("too_many_addresses", format!("ask about at most {MAX_LOOKUP} addresses")));
    }
    let addresses = body.addresses.iter().map(|text| ids::address(text)).collect::<Result<Vec<_>, _>>()?;
    state.directory.catch_up(&state.mirror, state.chain_id, now_ms()).await?;
    let mut by_address: HashMap<Address, Listed> =
        state.directory.listed(&addresses).await?.into_iter().map(|l| (l.profile.provider, l)).collect();
    let ordered = addresses.iter().filter_map(|a| by_address.remove(a)).collect();
    Ok(Json(DirectoryLookup { providers: entries(&state, ordered).await? }))
}

/// One provider's directory entry.
#[utoipa::path(
    get,
    path = "/v1/directory/{address}",
    tag = "directory",
    params(("address" = String, Path, description = "The provider's address, 0x-prefixed hex")),
    responses(
        (status = 200, description = "The provider's listed profile", body = DirectoryEntry),
        (status = 400, description = "invalid_address", body = ErrorBody),
        (status = 404, description = "not_listed: no profile of this address is committed on chain", body = ErrorBody),
        Internal,
    ),
)]
pub async fn entry(
    State(state): State<AppState>,
    Path(address): Path<String>,
) -> Result<Json<DirectoryEntry>, ApiError> {
    let address = ids::address(&address)?;
    state.directory.catch_up(&state.mirror, state.chain_id, now_ms()).await?;
    let listed = state.directory.listed(&[address]).await?;
    entries(&state, listed).await?.pop().map(Json).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_listed",
            format!("{address} is not in the directory: no profile of it is committed on chain"),
        )
    })
}

/// The entries of `listed`, with the chain's state of each. A provider whose on-chain profile
/// moved on since it was listed is brought up to date and left out of this answer.
pub(super) async fn entries(state: &AppState, listed: Vec<Listed>) -> Result<Vec<DirectoryEntry>, ApiError> {
    let mut out = Vec::with_capacity(listed.len());
    for application in listed {
        let address = application.profile.provider;
        let Some(mirrored) = state.mirror.provider(state.chain_id, address).await? else { continue };
        if mirrored.profile_hash != application.profile_hash {
            state.directory.reconcile(&mirrored, now_ms()).await?;
            continue;
        }
        let history = state.mirror.provider_history(state.chain_id, address).await?;
        let verified_at_ms = history
            .iter()
            .rev()
            .find(|e| {
                (e.kind == "registered" || e.kind == "profile_updated") && e.profile_hash == mirrored.profile_hash
            })
            .and_then(|e| e.block_timestamp)
            .map(|secs| secs * 1000);
        let registry_action = match history.iter().rev().find(|e| e.reason_hash.is_some()) {
            Some(event) => {
                let hash = event.reason_hash.expect("found by its reason hash");
                Some(RegistryAction {
                    kind: event.kind.clone(),
                    reason_hash: hash.to_string(),
                    reason: state.directory.reason(hash).await?,
                    at_ms: event.block_timestamp.map(|secs| secs * 1000),
                })
            }
            None => None,
        };
        out.push(DirectoryEntry {
            specialty: application.profile.specialty().map(str::to_owned),
            signature: alloy::hex::encode_prefixed(&application.signature),
            status: match mirrored.status {
                ProviderStatus::Active => "active".into(),
                ProviderStatus::Suspended => "suspended".into(),
            },
            verified_at_ms,
            registry_action,
            profile: application.profile,
        });
    }
    Ok(out)
}
