//! The registrar's part of the directory, for `medkey admin`: the applications queue, approving
//! (the registry's transaction from the registrar's own wallet, then listing), declining with a
//! reason, and keeping the words of a suspension's or reinstatement's reason.
//!
//! An application is checked here before anything is sent: the vault is not trusted to hand over
//! the profile the provider signed.

use std::time::Duration;

use alloy::primitives::{Address, B256, keccak256};
use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use medkey_protocol::api::{ApplicationView, DeclineApplicationBody, RegistryReason, RegistryReasonBody};
use serde_json::json;

use crate::dates::rfc3339_ms;
use crate::registry::{Registry, Sent, transact};
use crate::session::Session;
use crate::vault_client::VaultError;

/// Prints the applications in `status`.
pub async fn list(session: &Session, status: &str, json: bool) -> anyhow::Result<()> {
    let applications: Vec<ApplicationView> = session.get_as(&format!("/v1/admin/applications?status={status}")).await?;
    if json {
        println!("{}", json!(applications));
        return Ok(());
    }
    if applications.is_empty() {
        println!("No {status} applications.");
    }
    for a in &applications {
        let p = &a.profile;
        println!("{} — {} ({}), {}", a.id, p.display_name, a.kind, rfc3339_ms(a.submitted_at_ms));
        if !p.organization.is_empty() {
            println!("    organisation  {}", p.organization);
        }
        println!("    NPI           {} (check digit valid; look it up in NPPES before approving)", p.npi);
        println!("    specialty     {} ({})", a.specialty.as_deref().unwrap_or("unnamed code"), p.taxonomy);
        println!("    city          {}, {}", p.city, p.country);
        for (label, value) in [("website", &p.website), ("phone", &p.phone), ("e-mail", &p.email)] {
            if !value.is_empty() {
                println!("    {label:<14}{value}");
            }
        }
        println!("    wallet        {}", p.provider);
        for other in &a.npi_also_listed_for {
            println!("    ⚠ this NPI is already listed for {other}");
        }
        if let Some(reason) = &a.reason {
            println!("    declined: {reason}");
        }
    }
    Ok(())
}

/// The pending application `id`, checked: well formed, signed by the applicant, hash as claimed.
async fn checked_application(session: &Session, id: &str) -> anyhow::Result<ApplicationView> {
    let pending: Vec<ApplicationView> = session.get_as("/v1/admin/applications?status=pending").await?;
    let application = pending
        .into_iter()
        .find(|a| a.id == id)
        .with_context(|| format!("no pending application {id} (see medkey admin applications)"))?;
    let profile = &application.profile;
    profile.validate().map_err(|err| anyhow::anyhow!("the application's profile is malformed: {err}"))?;
    let signature = alloy::hex::decode(&application.signature).context("the application's signature is not hex")?;
    profile
        .verify_signature(&signature, session.chain_id, session.deployment.address)
        .map_err(|err| anyhow::anyhow!("refusing: the applicant did not sign this profile ({err})"))?;
    let hash = alloy::hex::encode_prefixed(profile.commitment(session.chain_id, session.deployment.address));
    if hash != application.profile_hash {
        bail!("refusing: the vault's profile hash {} is not the profile's ({hash})", application.profile_hash);
    }
    Ok(application)
}

/// Registers the applicant (or commits to its new profile) from the registrar's wallet, then has
/// the vault list it once its mirror has the block.
pub async fn approve(
    session: &Session,
    registry: &Registry,
    from: Address,
    id: &str,
    timeout: Duration,
    json: bool,
) -> anyhow::Result<(Sent, serde_json::Value, String)> {
    let application = checked_application(session, id).await?;
    let profile = &application.profile;
    let hash = profile.commitment(session.chain_id, session.deployment.address);
    let contract = registry.contract();
    let known = contract.getProvider(profile.provider).call().await.context("reading the provider from the chain")?;
    let sent = if known.status == 0 {
        transact(contract.registerProvider(profile.provider, profile.encryption_key, hash), from, timeout, json).await?
    } else {
        transact(contract.updateProviderProfile(profile.provider, hash), from, timeout, json).await?
    };
    // The vault lists it once its mirror has the block; wait for that a little while.
    let path = format!("/v1/admin/applications/{id}/confirm");
    let mut listed = false;
    for _ in 0..60 {
        match session.call::<ApplicationView>(Method::POST, &path, &json!({})).await {
            Ok(_) => {
                listed = true;
                break;
            }
            Err(err) if err.downcast_ref::<VaultError>().is_some_and(|e| e.code == "not_on_chain") => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(err) => return Err(err),
        }
    }
    let prose = format!(
        "{} ({}) approved: registered on chain{}",
        profile.display_name,
        profile.provider,
        if listed { " and listed in the directory" } else { "; the vault lists it once its mirror catches up" }
    );
    let fields = json!({"action": "application_approve", "application": id, "provider": profile.provider,
        "profile_hash": alloy::hex::encode_prefixed(hash), "listed": listed});
    Ok((sent, fields, prose))
}

pub async fn decline(session: &Session, id: &str, reason: &str, json: bool) -> anyhow::Result<()> {
    let body = DeclineApplicationBody { reason: reason.to_owned() };
    let declined: ApplicationView =
        session.call(Method::POST, &format!("/v1/admin/applications/{id}/decline"), &body).await?;
    if json {
        println!("{}", json!({"ok": true, "action": "application_decline", "application": declined.id}));
    } else {
        println!(
            "Application {} from {} declined; the applicant sees your reason.",
            declined.id, declined.profile.display_name
        );
    }
    Ok(())
}

/// Keeps the words of `reason` with the vault, checking it stored them under `hash` (the one the
/// transaction will carry).
pub async fn keep_reason(session: &Session, reason: &str, hash: B256) -> anyhow::Result<()> {
    let stored: RegistryReason =
        session.call(Method::POST, "/v1/admin/reasons", &RegistryReasonBody { reason: reason.to_owned() }).await?;
    if stored.reason_hash != hash.to_string() || keccak256(stored.reason.as_bytes()) != hash {
        bail!("the vault stored the reason under another hash; refusing to send the transaction");
    }
    Ok(())
}
