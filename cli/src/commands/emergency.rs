//! Break-glass access. A patient opts in on chain (choosing the categories); a registered
//! provider may then open a 4-hour emergency grant (`medkey provider emergency`), loudly
//! evented with the hash of its stated reason.
//!
//! The vault can only release keys that were wrapped for the provider, and only the patient's
//! client can wrap them: `--providers` names the providers (an emergency department, a GP). The
//! opt-in wraps the patient's records in those categories for them now, the list is kept in the
//! vault, and every later upload or update in those categories is wrapped for them too, so they
//! can read those categories once they open an emergency grant.

use alloy::primitives::{Address, keccak256};
use alloy::sol_types::SolEvent;
use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use medkey_protocol::Category;
use medkey_protocol::ConsentRegistry::EmergencyAccessOpened;
use medkey_protocol::api::{EmergencyProviders, ProvidersBody};
use serde_json::json;

use crate::grants::share_existing;
use crate::session::{ConnectArgs, Session};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey emergency opt-in --categories allergies,prescriptions,immunizations --providers 0x90F7…\n  medkey emergency status\n  medkey emergency opt-out"
)]
pub struct EmergencyArgs {
    #[command(subcommand)]
    command: EmergencyCommand,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum EmergencyCommand {
    /// Allow break-glass access to these categories (a transaction from your account).
    #[command(
        after_help = "Example:\n  medkey emergency opt-in --categories allergies,prescriptions --providers 0x90F7…"
    )]
    OptIn(OptInArgs),
    /// Allow no break-glass access any more.
    #[command(after_help = "Example:\n  medkey emergency opt-out")]
    OptOut(PlainArgs),
    /// Which categories break-glass access may open.
    #[command(after_help = "Example:\n  medkey emergency status")]
    Status(PlainArgs),
}

#[derive(Debug, Args)]
struct OptInArgs {
    /// Comma-separated categories, e.g. allergies,prescriptions.
    #[arg(long, value_delimiter = ',', required = true)]
    categories: Vec<Category>,
    /// Providers whose keys to wrap your records of these categories for, now.
    #[arg(long, value_delimiter = ',')]
    providers: Vec<Address>,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct PlainArgs {
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Open a break-glass grant to a patient who opted in (4 hours, reason hash on chain).
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  medkey provider emergency --patient 0x7099… --reason \"unconscious in ED, allergy check\""
)]
pub struct OpenArgs {
    #[arg(long)]
    patient: Address,
    /// Why: kept off chain; only its keccak256 hash is recorded.
    #[arg(long)]
    reason: String,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub async fn run(args: EmergencyArgs) -> anyhow::Result<()> {
    let json = args.json;
    match args.command {
        EmergencyCommand::OptIn(args) => opt_in(args, json).await,
        EmergencyCommand::OptOut(args) => {
            let session = Session::open(&args.connect).await?;
            set(&session, 0).await?;
            let body = ProvidersBody { providers: Vec::new() };
            session.call::<serde_json::Value>(Method::PUT, "/v1/account/emergency-providers", &body).await?;
            if json {
                println!("{}", json!({"categories": [], "providers": []}));
            } else {
                println!("break-glass access is off");
            }
            Ok(())
        }
        EmergencyCommand::Status(args) => {
            let session = Session::open(&args.connect).await?;
            let mask = session.registry().emergencyCategories(session.address()).call().await?;
            let categories = Category::from_mask(mask);
            let list: EmergencyProviders = session.get_as("/v1/account/emergency-providers").await?;
            let providers: Vec<Address> = list.providers;
            if json {
                println!("{}", json!({"categories": categories, "providers": providers}));
                return Ok(());
            }
            let names: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
            println!("{}", if names.is_empty() { "break-glass access is off".into() } else { names.join(",") });
            for provider in providers {
                println!("provider {provider} (records in these categories are wrapped for it)");
            }
            Ok(())
        }
    }
}

async fn opt_in(args: OptInArgs, json: bool) -> anyhow::Result<()> {
    let categories = args.categories.clone();
    let session = Session::open(&args.connect).await?;
    let mut keys = Vec::new();
    for provider in &args.providers {
        keys.push((*provider, session.provider_key(*provider).await?));
    }
    set(&session, Category::mask(categories.iter().copied())).await?;
    if !args.providers.is_empty() {
        let body = ProvidersBody { providers: args.providers.iter().map(Address::to_string).collect() };
        session.call::<serde_json::Value>(Method::PUT, "/v1/account/emergency-providers", &body).await?;
    }
    let shared = if keys.is_empty() { 0 } else { share_existing(&session, &categories, &[], &keys).await? };
    if keys.is_empty() {
        eprintln!("note: no --providers: an emergency grant can only release keys already wrapped for its provider");
    }
    if json {
        println!("{}", json!({"categories": categories, "providers": args.providers, "records_wrapped": shared}));
    } else {
        println!("break-glass access allowed for {}", Category::names(&args.categories));
        println!("{shared} record(s) wrapped for {} provider(s), released only under an emergency grant", keys.len());
    }
    Ok(())
}

async fn set(session: &Session, mask: u16) -> anyhow::Result<()> {
    session
        .registry()
        .setEmergencyAccess(mask)
        .send()
        .await
        .map_err(|err| anyhow::anyhow!("the registry refused: {err}"))?
        .get_receipt()
        .await
        .context("waiting for the receipt")?;
    Ok(())
}

pub async fn open(args: OpenArgs) -> anyhow::Result<()> {
    if args.reason.trim().len() < 10 {
        bail!("--reason must say why (at least 10 characters); it is hashed on chain and kept by you");
    }
    let session = Session::open(&args.connect).await?;
    let reason_hash = keccak256(args.reason.trim().as_bytes());
    let receipt = session
        .registry()
        .openEmergencyAccess(args.patient, reason_hash)
        .send()
        .await
        .map_err(|err| anyhow::anyhow!("the registry refused emergency access (has the patient opted in?): {err}"))?
        .get_receipt()
        .await?;
    let opened = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| EmergencyAccessOpened::decode_log(&log.inner).ok())
        .context("the transaction opened no emergency grant")?;
    let until = crate::dates::rfc3339_ms(u64::from(opened.expiresAt) * 1_000);
    if args.json {
        println!("{}", json!({"grant_id": opened.grantId, "reason_hash": reason_hash, "expires_at": opened.expiresAt}));
    } else {
        println!("emergency grant {} until {until} (reason hash {reason_hash})", opened.grantId);
        println!("keep the reason with your records: the patient and anyone reading the chain see this grant");
    }
    Ok(())
}
