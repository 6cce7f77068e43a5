//! `/v1/directory`: the verified provider directory, public (business information only). Each
//! entry carries the provider's signature and the chain's state, so a client can check it rather
//! than believe this vault.

use std::collections::HashMap;

use alloy::primitives::Address;
use axum::Json;
use axum::extract::{Path, State};
use medkey_protocol::api::{DirectoryEntry, DirectoryLookup, DirectoryLookupBody, DirectoryPage, RegistryAction};
use serde::Deserialize;
use utoipa::IntoParams;

use super::client_ip::ClientIp;
use super::ids;
use super::json::{ApiJson, ApiQuery};
use super::openapi::{ErrorBody, Internal, JsonBodyRefusals};
use super::{ApiError, AppState};
use crate::directory::{Listed, Search};
use medkey_protocol::clock::now_ms;

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
        (status = 429, description = "rate_limited: too many directory reads from this IP", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
    ),
)]
pub async fn search(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiQuery(query): ApiQuery<DirectoryQuery>,
) -> Result<Json<DirectoryPage>, ApiError> {
    state.limits.directory_read(ip).await?;
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
    caught_up(&state).await?;
    let (listed, total) = state.directory.search(&search).await?;
    Ok(Json(DirectoryPage { providers: listed.into_iter().map(entry_of).collect(), total, page, per_page }))
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
        (status = 429, description = "rate_limited: too many directory reads from this IP", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
    ),
)]
pub async fn lookup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<DirectoryLookupBody>,
) -> Result<Json<DirectoryLookup>, ApiError> {
    state.limits.directory_read(ip).await?;
    if body.addresses.len() > MAX_LOOKUP {
        return Err(ApiError::bad_request("too_many_addresses", format!("ask about at most {MAX_LOOKUP} addresses")));
    }
    let addresses = body.addresses.iter().map(|text| ids::address(text)).collect::<Result<Vec<_>, _>>()?;
    caught_up(&state).await?;
    let mut by_address: HashMap<Address, Listed> =
        state.directory.listed(&addresses).await?.into_iter().map(|l| (l.facts.provider, l)).collect();
    let providers = addresses.iter().filter_map(|a| by_address.remove(a)).map(entry_of).collect();
    Ok(Json(DirectoryLookup { providers }))
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
        (status = 429, description = "rate_limited: too many directory reads from this IP", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Internal,
    ),
)]
pub async fn entry(
    State(state): State<AppState>,
    Path(address): Path<String>,
) -> Result<Json<DirectoryEntry>, ApiError> {
    let address = ids::address(&address)?;
    caught_up(&state).await?;
    let listed = state.directory.listed(&[address]).await?;
    listed.into_iter().map(entry_of).next().map(Json).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_listed",
            format!("{address} is not in the directory: no profile of it is committed on chain"),
        )
    })
}

/// Brings the listing in line with the vault's view of the mirror before a read.
pub(super) async fn caught_up(state: &AppState) -> Result<(), ApiError> {
    let at = state.gate.mirror().checkpoint().map(|c| c.block.number);
    Ok(state.directory.catch_up(&state.mirror, state.chain_id, at, now_ms()).await?)
}

fn entry_of(listed: Listed) -> DirectoryEntry {
    let Listed { application, facts, action_reason_text } = listed;
    DirectoryEntry {
        specialty: application.profile.specialty().map(str::to_owned),
        signature: alloy::hex::encode_prefixed(&application.signature),
        status: facts.status.as_str().to_owned(),
        verified_at_ms: facts.verified_at_ms,
        registry_action: facts.action.map(|action| RegistryAction {
            kind: action.kind,
            reason_hash: action.reason_hash.to_string(),
            reason: action_reason_text,
            at_ms: action.at_ms,
        }),
        profile: application.profile,
    }
}
