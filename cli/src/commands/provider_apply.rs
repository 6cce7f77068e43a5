//! `medkey provider apply` and `medkey provider application`: a wallet asks to be registered as a
//! provider and listed in the directory, with a profile it signs, then follows the answer.

use alloy::signers::SignerSync;
use alloy::transports::http::reqwest::Method;
use clap::Args;
use medkey_protocol::api::{ApplicationBody, ApplicationView};
use medkey_protocol::directory::DirectoryProfile;
use serde_json::json;

use crate::dates::rfc3339_ms;
use crate::session::{ConnectArgs, Session};

/// Apply to the registry as a provider: your public profile, signed by your wallet.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  medkey provider apply --name \"Dr. Maria Lopez\" --organization \"Northside Family \
    Practice\" \\\n      --npi 1234567893 --taxonomy 207Q00000X --city Springfield --country US \
    --phone \"+1 555 010 0199\"\n\n\
    The profile is public business information, never patient data. Your wallet signs it together \
    with your encryption key (derived from the same wallet); the registrar checks it, and on approval \
    the registry records its hash on chain, so any client can tell it from an edited copy."
)]
pub struct ApplyArgs {
    /// How patients will see you: "Dr. Maria Lopez", "Northside Lab".
    #[arg(long)]
    name: String,
    /// Your practice, clinic or hospital (leave out for an independent practitioner).
    #[arg(long, default_value = "")]
    organization: String,
    /// Your National Provider Identifier (10 digits).
    #[arg(long)]
    npi: String,
    /// Your NUCC taxonomy code, e.g. 207Q00000X for Family Medicine.
    #[arg(long)]
    taxonomy: String,
    #[arg(long)]
    city: String,
    /// Two-letter ISO country code, e.g. US.
    #[arg(long)]
    country: String,
    /// https:// address of your practice.
    #[arg(long, default_value = "")]
    website: String,
    /// International form, e.g. "+1 555 010 0199".
    #[arg(long, default_value = "")]
    phone: String,
    #[arg(long, default_value = "")]
    email: String,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Your applications and the registrar's answers.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey provider application")]
pub struct StatusArgs {
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub async fn apply(args: ApplyArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let profile = DirectoryProfile {
        provider: session.address(),
        encryption_key: session.wallet.encryption_public_key().0.into(),
        display_name: args.name.trim().to_owned(),
        organization: args.organization.trim().to_owned(),
        npi: args.npi.trim().to_owned(),
        taxonomy: args.taxonomy.trim().to_uppercase(),
        city: args.city.trim().to_owned(),
        country: args.country.trim().to_uppercase(),
        website: args.website.trim().to_owned(),
        phone: args.phone.trim().to_owned(),
        email: args.email.trim().to_owned(),
        issued_at: crate::dates::now_ms() / 1000,
    };
    // The same checks the vault makes, with the field named, before anything is signed.
    profile.validate().map_err(|err| anyhow::anyhow!("the profile is not complete: {err}"))?;
    let digest = profile.signing_hash(session.chain_id, session.deployment.address);
    let signature = session.wallet.signer.sign_hash_sync(&digest)?;
    let body = ApplicationBody { profile, signature: alloy::hex::encode_prefixed(signature.as_bytes()) };
    let application: ApplicationView = session.call(Method::POST, "/v1/provider-applications", &body).await?;
    if args.json {
        println!("{}", json!(application));
    } else {
        println!("Application {} sent: it waits for the registrar.", application.id);
        println!("  profile hash {} (what the registry will record on chain)", application.profile_hash);
        println!("Follow it with: medkey provider application");
    }
    Ok(())
}

pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let applications: Vec<ApplicationView> = session.get_as("/v1/provider-applications/mine").await?;
    if args.json {
        println!("{}", json!(applications));
        return Ok(());
    }
    if applications.is_empty() {
        println!("You have not applied yet (medkey provider apply --help).");
    }
    for a in &applications {
        let when = a.decided_at_ms.unwrap_or(a.submitted_at_ms);
        let answer = match (a.status.as_str(), &a.reason) {
            ("pending", _) => "waiting for the registrar".to_owned(),
            ("approved", _) => "approved: you are registered and listed in the directory".to_owned(),
            ("declined", Some(reason)) => format!("declined: {reason}"),
            (other, _) => other.to_owned(),
        };
        println!("{} ({}, {}) — {answer}", a.profile.display_name, a.kind, rfc3339_ms(when));
    }
    Ok(())
}
