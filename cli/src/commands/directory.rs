//! `medkey directory`: find a provider by name, organisation, NPI, specialty or city. Every entry
//! is checked against the chain here (see `directory_check`) before it is shown as verified.

use alloy::primitives::Address;
use alloy::transports::http::reqwest::Method;
use anyhow::Context;
use clap::{Args, Subcommand};
use medkey_protocol::api::{DirectoryEntry, DirectoryPage};
use serde_json::json;

use crate::dates::rfc3339_ms;
use crate::directory_check::{Verdict, check};
use crate::registry::RegistryArgs;
use crate::table;
use crate::vault_client::VaultClient;

/// Find providers in the verified directory (no account needed).
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  medkey directory search lopez\n  \
    medkey directory search --specialty 207Q00000X --city springfield\n  \
    medkey directory show 0x90F79bf6EB2c4f870365E785982E1f101E93b906\n\n\
    Each entry is checked on this machine: signed by the provider's wallet, and committed to by the \
    registry on chain. One that fails a check is shown with a warning and why.")]
pub struct DirectoryArgs {
    /// The vault's base URL.
    #[arg(long, env = "MEDKEY_VAULT_URL", default_value = "http://localhost:8080", global = true)]
    vault: String,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: DirectoryCommand,
}

#[derive(Debug, Subcommand)]
enum DirectoryCommand {
    /// Search by name, organisation or city (any case), or an exact NPI.
    #[command(
        after_help = "Examples:\n  medkey directory search lopez\n  medkey directory search --specialty 207Q00000X \
        --city springfield --json"
    )]
    Search(SearchArgs),
    /// One provider's whole profile.
    #[command(after_help = "Example:\n  medkey directory show 0x90F79bf6EB2c4f870365E785982E1f101E93b906")]
    Show {
        /// The provider's address.
        address: Address,
    },
}

#[derive(Debug, Args)]
struct SearchArgs {
    /// Words of a name, organisation or city, or an NPI.
    #[arg(default_value = "")]
    text: String,
    /// A NUCC taxonomy code, e.g. 207Q00000X (Family Medicine).
    #[arg(long, default_value = "")]
    specialty: String,
    /// A whole city name.
    #[arg(long, default_value = "")]
    city: String,
    /// A two-letter country code.
    #[arg(long, default_value = "")]
    country: String,
    /// Which page of 20.
    #[arg(long, default_value_t = 1)]
    page: u32,
}

pub async fn run(args: DirectoryArgs) -> anyhow::Result<()> {
    let vault = VaultClient::new(&args.vault);
    let registry = args.registry.connect(None).await?;
    let contract = registry.contract();
    let entries = match &args.command {
        DirectoryCommand::Search(search) => {
            let query = [
                ("q", search.text.as_str()),
                ("specialty", &search.specialty),
                ("city", &search.city),
                ("country", &search.country),
            ];
            let mut encoded = url::form_urlencoded::Serializer::new(String::new());
            encoded.append_pair("page", &search.page.to_string());
            for (key, value) in query.iter().filter(|(_, v)| !v.is_empty()) {
                encoded.append_pair(key, value);
            }
            let path = format!("/v1/directory?{}", encoded.finish());
            let page: DirectoryPage = vault.call(Method::GET, &path, None, None::<&()>).await?;
            if !args.json {
                println!(
                    "{} provider{} found{}",
                    page.total,
                    if page.total == 1 { "" } else { "s" },
                    if page.total > u64::from(page.per_page) {
                        format!(" (page {} of {})", page.page, page.total.div_ceil(u64::from(page.per_page)))
                    } else {
                        String::new()
                    }
                );
            }
            page.providers
        }
        DirectoryCommand::Show { address } => {
            let entry: DirectoryEntry = vault
                .call(Method::GET, &format!("/v1/directory/{address}"), None, None::<&()>)
                .await
                .with_context(|| format!("looking {address} up in the directory"))?;
            vec![entry]
        }
    };
    let mut checked = Vec::new();
    for entry in entries {
        let verdict = check(&entry, &contract, registry.chain_id).await;
        checked.push((entry, verdict));
    }
    if args.json {
        for (entry, verdict) in &checked {
            let (verified, problem) = match verdict {
                Verdict::Verified => (true, None),
                Verdict::Flagged(why) => (false, Some(why)),
            };
            println!("{}", json!({"entry": entry, "verified": verified, "problem": problem}));
        }
        return Ok(());
    }
    match &args.command {
        DirectoryCommand::Search(_) => {
            let rows: Vec<Vec<String>> = checked
                .iter()
                .map(|(entry, verdict)| {
                    let p = &entry.profile;
                    vec![
                        match verdict {
                            Verdict::Verified => p.display_name.clone(),
                            Verdict::Flagged(_) => format!("⚠ {} (unverified)", p.display_name),
                        },
                        p.organization.clone(),
                        entry.specialty.clone().unwrap_or_else(|| p.taxonomy.clone()),
                        format!("{}, {}", p.city, p.country),
                        entry.status.clone(),
                        p.provider.to_string(),
                    ]
                })
                .collect();
            table::print(&["NAME", "ORGANISATION", "SPECIALTY", "CITY", "STATUS", "ADDRESS"], &rows);
            for (entry, verdict) in &checked {
                if let Verdict::Flagged(why) = verdict {
                    println!("⚠ {}: {why}", entry.profile.provider);
                }
            }
        }
        DirectoryCommand::Show { .. } => {
            for (entry, verdict) in &checked {
                print_entry(entry, verdict);
            }
        }
    }
    Ok(())
}

fn print_entry(entry: &DirectoryEntry, verdict: &Verdict) {
    let p = &entry.profile;
    match verdict {
        Verdict::Verified => println!("{} — verified: signed by its wallet and committed to on chain", p.display_name),
        Verdict::Flagged(why) => println!("⚠ {} — NOT verified: {why}. Do not rely on this entry.", p.display_name),
    }
    let line = |label: &str, value: &str| {
        if !value.is_empty() {
            println!("  {label:<16}{value}");
        }
    };
    line("organisation", &p.organization);
    line("specialty", &format!("{} ({})", entry.specialty.as_deref().unwrap_or("specialty"), p.taxonomy));
    line("NPI", &p.npi);
    line("city", &format!("{}, {}", p.city, p.country));
    line("website", &p.website);
    line("phone", &p.phone);
    line("e-mail", &p.email);
    line("status", &entry.status);
    if let Some(at) = entry.verified_at_ms {
        line("registered", &rfc3339_ms(at));
    }
    if let Some(action) = &entry.registry_action {
        let when = action.at_ms.map(|at| format!(" on {}", rfc3339_ms(at))).unwrap_or_default();
        let why = action.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        line("registry", &format!("{} by the registry{when}{why}", action.kind));
    }
    line("address", &p.provider.to_string());
    line("encryption key", &p.encryption_key.to_string());
}
