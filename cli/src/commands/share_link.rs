//! `medkey share-link`: SMART Health Links from the command line. `create` decrypts the chosen
//! records here, writes them as one FHIR Bundle (attached files inline, values exactly as
//! stored), encrypts it under a fresh key and stores only the ciphertext with the vault; the link
//! (with the key) is printed, with a QR code, and kept nowhere. `list` shows each link with every
//! time someone asked for it; `revoke` stops one at once.

use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Args, Subcommand};
use medkey_protocol::Category;
use medkey_protocol::api::{
    CreateShareLinkBody, RecordContents, RecordIdsBody, RecordView, ShareFileBody, ShareLinkView,
};
use serde_json::json;

use super::portability::open;
use crate::dates::{self, DayEnd};
use crate::fhir_bundle_writer::BundleWriter;
use crate::record_store;
use crate::session::{ConnectArgs, Session};
use crate::share_link_file::{FHIR_CONTENT_TYPE, Payload, encrypt, random_32};

/// The largest file a link carries (the vault's limit).
const MAX_FILE_CHARS: usize = 5 * 1024 * 1024;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey share-link create --categories allergies,immunizations --label \"For my new dentist\" --passcode tulip-42 --until 2026-12-31\n  medkey share-link list\n  medkey share-link revoke c1Ju8qCn5uWtAyD0Oz3bu2jyD1O6r8aGyVPBA2JETYE"
)]
pub struct ShareLinkArgs {
    #[command(subcommand)]
    command: ShareLinkCommand,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ShareLinkCommand {
    /// Share records with anyone by a link (and QR code) that carries its own key.
    #[command(
        after_help = "Anyone who holds the link can read these records until it expires or you revoke it: add a \
                      passcode and tell it separately.\n\nExample:\n  medkey share-link create --categories allergies --label \"For Dr. Okafor\" --passcode tulip-42 --once"
    )]
    Create(CreateArgs),
    /// Your links, each with every time someone asked for it.
    #[command(after_help = "Example:\n  medkey share-link list")]
    List(PlainArgs),
    /// Stop a link at once (its files too).
    #[command(after_help = "Example:\n  medkey share-link revoke c1Ju8qCn5uWtAyD0Oz3bu2jyD1O6r8aGyVPBA2JETYE")]
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// Records of these categories (comma-separated).
    #[arg(long, value_delimiter = ',', required_unless_present = "records")]
    categories: Vec<Category>,
    /// These records (ids, comma-separated).
    #[arg(long, value_delimiter = ',')]
    records: Vec<String>,
    /// What to call the link (shown to whoever opens it too), at most 80 characters.
    #[arg(long)]
    label: String,
    /// A passcode the recipient must give (4 to 64 characters).
    #[arg(long)]
    passcode: Option<String>,
    /// The last day it works (YYYY-MM-DD, or an RFC 3339 time); default: until revoked.
    #[arg(long)]
    until: Option<String>,
    /// It works for one opening only.
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct PlainArgs {
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct RevokeArgs {
    /// The link's id (from `medkey share-link list`). Ids are base64url, so one may start with '-'.
    #[arg(allow_hyphen_values = true)]
    id: String,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub async fn run(args: ShareLinkArgs) -> anyhow::Result<()> {
    match args.command {
        ShareLinkCommand::Create(create_args) => create(create_args, args.json).await,
        ShareLinkCommand::List(plain) => list(plain, args.json).await,
        ShareLinkCommand::Revoke(revoke_args) => revoke(revoke_args, args.json).await,
    }
}

async fn create(args: CreateArgs, json: bool) -> anyhow::Result<()> {
    let label = args.label.trim().to_owned();
    if label.is_empty() || label.chars().count() > 80 {
        bail!("--label is 1 to 80 characters");
    }
    if args.passcode.as_ref().is_some_and(|p| !(4..=64).contains(&p.chars().count())) {
        bail!("--passcode is 4 to 64 characters");
    }
    let expires_at_ms = args.until.as_deref().map(|t| dates::parse_unix(t, DayEnd::End)).transpose()?.map(|s| s * 1000);
    if expires_at_ms.is_some_and(|at| at <= dates::now_ms()) {
        bail!("--until is in the past");
    }
    let session = Session::open(&args.connect).await?;
    let wanted: Vec<String> = args.records.iter().map(|r| record_store::record_id(r)).collect::<Result<_, _>>()?;
    let all: Vec<RecordView> = session.get_as("/v1/records").await?;
    let chosen: Vec<String> = all
        .iter()
        .filter(|r| !r.erased)
        .filter(|r| args.categories.contains(&r.category) || wanted.contains(&record_store::id_of(r)))
        .map(record_store::id_of)
        .collect();
    if let Some(missing) = wanted.iter().find(|id| !chosen.contains(id)) {
        bail!("record {missing} is not one of your records");
    }
    if chosen.is_empty() {
        bail!("none of your records is in those categories: nothing to share");
    }

    // The Bundle, written as `medkey export` writes it (every value as stored, files inline).
    let mut bundle = BundleWriter::start(Vec::new(), &dates::rfc3339_ms(dates::now_ms()))?;
    for chunk in chosen.chunks(500) {
        let body = RecordIdsBody { record_ids: chunk.to_vec() };
        let contents: RecordContents = session.call(Method::POST, "/v1/records/contents", &body).await?;
        for content in contents.records {
            let id = record_store::id_of(&content.record);
            let mut opened = open(&session, content).with_context(|| format!("record {id} could not be opened"))?;
            let mut record = opened.with_file(&session).await.with_context(|| format!("record {id}"))?;
            bundle.entry(&mut record, None)?;
        }
    }
    let text = bundle.finish()?;
    let key = random_32()?;
    let jwe = encrypt(&text, &key)?;
    if jwe.len() > MAX_FILE_CHARS {
        bail!(
            "these records come to {} MB encrypted, more than a link carries (5 MB): share fewer, or leave out the \
             ones with large attached files",
            jwe.len() / 1_000_000
        );
    }
    let id = URL_SAFE_NO_PAD.encode(*random_32()?);
    let url = format!("{}/shl/{id}", session.vault.base().trim_end_matches('/'));
    let body = CreateShareLinkBody {
        id,
        manifest_url: url.clone(),
        label: label.clone(),
        passcode: args.passcode.clone(),
        expires_at_ms,
        single_use: args.once,
        long_lived: false,
        purpose: None,
        categories: Vec::new(),
        files: vec![ShareFileBody { content_type: FHIR_CONTENT_TYPE.into(), jwe }],
    };
    let view: ShareLinkView = session.call(Method::POST, "/v1/share-links", &body).await?;
    let payload = Payload {
        url,
        key: URL_SAFE_NO_PAD.encode(*key),
        exp: expires_at_ms.map(|ms| ms / 1000),
        flag: args.passcode.as_ref().map(|_| "P".to_owned()),
        label,
        v: 1,
    };
    let link = payload.link();
    let viewer = format!("{}/view/#{link}", session.vault.base().trim_end_matches('/'));
    if json {
        println!("{}", serde_json::to_string_pretty(&json!({"link": link, "viewer_url": viewer, "share_link": view}))?);
    } else {
        println!("{}", qr_text(&viewer)?);
        println!("{viewer}\n");
        println!("SMART Health Link (for apps that read them):\n{link}");
    }
    eprintln!(
        "{} record(s) shared by link \"{}\" (id {}). Anyone holding the link can read them{}; Medkey keeps no copy of \
         it. Stop it with: medkey share-link revoke {}",
        chosen.len(),
        view.label,
        view.id,
        if args.passcode.is_some() { " with the passcode (tell it separately)" } else { "" },
        view.id
    );
    Ok(())
}

/// The QR code of `text` for a terminal (two rows of modules per line).
fn qr_text(text: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).context("the link is too long for a QR code")?;
    Ok(code.render::<qrcode::render::unicode::Dense1x2>().quiet_zone(true).build())
}

async fn list(args: PlainArgs, json: bool) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let links: Vec<ShareLinkView> = session.get_as("/v1/share-links").await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&links)?);
        return Ok(());
    }
    if links.is_empty() {
        eprintln!("you have no share links (make one with medkey share-link create)");
    }
    for link in &links {
        println!(
            "{}  {}  [{}]{}",
            link.id,
            link.label,
            link.state,
            if link.purpose == "emergency" { " emergency card" } else { "" }
        );
        for access in &link.accesses {
            println!("    {}  {:<16} {}", dates::rfc3339_ms(access.at_ms), access.outcome, access.recipient);
        }
    }
    Ok(())
}

async fn revoke(args: RevokeArgs, json: bool) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    session.send("DELETE", &format!("/v1/share-links/{}", args.id), None).await?;
    if json {
        println!("{}", json!({"id": args.id, "revoked": true}));
    } else {
        eprintln!("link {} stopped: nobody can open it from now on", args.id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{Args, FromArgMatches};

    use super::*;

    #[test]
    fn an_id_starting_with_a_hyphen_is_an_id() {
        let command = ShareLinkArgs::augment_args(clap::Command::new("share-link"));
        let matches = command
            .try_get_matches_from(["share-link", "revoke", "-n3kVnCzm2yBkYk0eNfbm4Wq2Y2E6pV3j8bKxvQ1PZQ"])
            .unwrap();
        let args = ShareLinkArgs::from_arg_matches(&matches).unwrap();
        assert!(matches!(args.command, ShareLinkCommand::Revoke(RevokeArgs { ref id, .. }) if id.starts_with("-n3k")));
    }
}
