//! Checking what the vault's directory says against the chain before showing it: the profile
//! must be well formed, signed by the provider's own wallet, committed to by the registry (its
//! hash equals `getProvider().profileHash`) and carry the encryption key the registry holds. A
//! reason shown for a suspension must hash to the one the registry's own latest event carries. Anything else is flagged, never
//! shown as fact: the vault is not trusted with who a provider is.

use std::collections::HashMap;

use alloy::primitives::{Address, B256, keccak256};
use alloy::providers::DynProvider;
use alloy::transports::http::reqwest::Method;
use medkey_protocol::ConsentRegistry::ConsentRegistryInstance;
use medkey_protocol::api::{DirectoryEntry, DirectoryLookup, DirectoryLookupBody};

use crate::vault_client::VaultClient;

/// What a client may believe of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Verified,
    /// Why not, in words.
    Flagged(String),
}

/// Checks `entry` against the registry at `registry` on `chain_id`.
pub async fn check(entry: &DirectoryEntry, registry: &ConsentRegistryInstance<DynProvider>, chain_id: u64) -> Verdict {
    let profile = &entry.profile;
    if let Err(err) = profile.validate() {
        return Verdict::Flagged(format!("the profile is malformed ({err})"));
    }
    let Ok(signature) = alloy::hex::decode(&entry.signature) else {
        return Verdict::Flagged("the signature is not hex".into());
    };
    if let Err(err) = profile.verify_signature(&signature, chain_id, *registry.address()) {
        return Verdict::Flagged(format!("the provider did not sign this profile ({err})"));
    }
    let on_chain = match registry.getProvider(profile.provider).call().await {
        Ok(p) => p,
        Err(err) => return Verdict::Flagged(format!("the chain could not be asked ({err})")),
    };
    if on_chain.status == 0 {
        return Verdict::Flagged("the registry has never registered this provider".into());
    }
    if on_chain.profileHash != profile.commitment(chain_id, *registry.address()) {
        return Verdict::Flagged("the registry committed to a different profile: the vault's copy was changed".into());
    }
    if on_chain.encryptionKey != profile.encryption_key {
        return Verdict::Flagged("the provider's encryption key on chain is not the one in its profile".into());
    }
    let status = if on_chain.status == 2 { "suspended" } else { "active" };
    if entry.status != status {
        return Verdict::Flagged(format!("the vault says {}, the chain says {status}", entry.status));
    }
    if let Some(action) = &entry.registry_action {
        // Compared with the chain's own hash (the registry's latest action on this provider),
        // never with the one the vault supplies beside its text.
        let on_chain = match latest_action(registry, profile.provider).await {
            Ok(found) => found,
            Err(err) => return Verdict::Flagged(format!("the chain could not be asked ({err})")),
        };
        let Some((kind, hash)) =
            on_chain.filter(|(kind, hash)| *kind == action.kind && hash.to_string() == action.reason_hash)
        else {
            return Verdict::Flagged("the registry's last action on this provider is not the one shown".into());
        };
        if action.reason.as_ref().is_some_and(|reason| keccak256(reason.as_bytes()) != hash) {
            return Verdict::Flagged(format!(
                "the reason shown for being {kind} is not the one whose hash is on chain"
            ));
        }
    }
    Verdict::Verified
}

/// The registry's latest suspension or reinstatement of `provider` (`suspended` or `reinstated`,
/// and the reason's hash), read from the chain's own events.
async fn latest_action(
    registry: &ConsentRegistryInstance<DynProvider>,
    provider: Address,
) -> Result<Option<(&'static str, B256)>, alloy::contract::Error> {
    let suspended = registry.ProviderSuspended_filter().topic1(provider).from_block(0).query().await?;
    let reinstated = registry.ProviderReinstated_filter().topic1(provider).from_block(0).query().await?;
    let order = |log: &alloy::rpc::types::Log| (log.block_number.unwrap_or(0), log.log_index.unwrap_or(0));
    let actions = suspended
        .into_iter()
        .map(|(event, log)| (order(&log), "suspended", event.reasonHash))
        .chain(reinstated.into_iter().map(|(event, log)| (order(&log), "reinstated", event.reasonHash)));
    Ok(actions.max_by_key(|(at, _, _)| *at).map(|(_, kind, hash)| (kind, hash)))
}

/// "Northside Lab (0x3C44…93BC)" for each listed address whose entry checks out, and a warning
/// beside those that do not. Unlisted addresses are left out. Never fails: names are a help, and
/// the address is always shown.
pub async fn names(
    vault: &VaultClient,
    registry: &ConsentRegistryInstance<DynProvider>,
    chain_id: u64,
    addresses: &[Address],
) -> HashMap<Address, String> {
    let mut names = HashMap::new();
    if addresses.is_empty() {
        return names;
    }
    let body = DirectoryLookupBody { addresses: addresses.iter().map(ToString::to_string).collect() };
    let Ok(found) = vault.call::<DirectoryLookup>(Method::POST, "/v1/directory/lookup", None, Some(&body)).await else {
        return names;
    };
    for entry in &found.providers {
        let name = match check(entry, registry, chain_id).await {
            Verdict::Verified => entry.profile.display_name.clone(),
            Verdict::Flagged(_) => format!("unverified name \"{}\"", entry.profile.display_name),
        };
        names.insert(entry.profile.provider, name);
    }
    names
}

/// `name (address)`, or the address alone.
pub fn labelled(names: &HashMap<Address, String>, address: Address) -> String {
    match names.get(&address) {
        Some(name) => format!("{name} ({address})"),
        None => address.to_string(),
    }
}
