//! The patient's records: `upload`, `records`, `show`, `update`, `delete`. Everything is sealed
//! and opened on this machine; the vault gets ciphertext and wrapped keys only.

use std::path::PathBuf;

use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use clap::Args;
use medkey_protocol::api::{RecordContent, RecordView};
use medkey_protocol::{Category, fhir};
use serde_json::json;

use crate::emergency_setup::Emergency;
use crate::record_store::{
    Opened, attach_file, decrypted_attachment, inline_file, live_providers, plan, print_records, read_resources,
    record_id, resource_type, share_version, store_all, write_opened,
};
use crate::sealing::{self};
use crate::session::{ConnectArgs, Session};

/// Encrypt and upload a FHIR R4 resource, or every resource of a Bundle.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey upload lab-result.json\n  medkey upload bundle.json\n  medkey upload scan-report.json --attach scan.pdf --category imaging"
)]
pub struct UploadArgs {
    /// A FHIR R4 resource or Bundle (JSON), or FHIR NDJSON (`.ndjson`, one resource per line).
    file: PathBuf,
    /// The category for every resource (default: inferred from resourceType and codes).
    #[arg(long)]
    category: Option<Category>,
    /// A file (PDF, image) to attach, encrypted as a stream (single resources only).
    #[arg(long)]
    attach: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    validate: crate::fhir_validation::ValidateArgs,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// List your records (metadata only).
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey records --category lab_results")]
pub struct ListArgs {
    #[arg(long)]
    category: Option<Category>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Decrypt one of your records and print it (or write it, and its attachment, to files).
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey show 8f14e45fceea167a5a36dedd4bea2543 --attachment-out scan.pdf")]
pub struct ShowArgs {
    record: String,
    /// Write the FHIR JSON here instead of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also decrypt the record's attachment into this file.
    #[arg(long)]
    attachment_out: Option<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Replace a record with a new version (the resourceType must stay the same). Its attached
/// file, if it has one, stays with the new version unless replaced or dropped; earlier versions
/// are kept as they were until the record is erased.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey update 8f14e45fceea167a5a36dedd4bea2543 corrected-result.json\n  medkey update 8f14e45fceea167a5a36dedd4bea2543 report.json --attach new-scan.pdf\n  medkey update 8f14e45fceea167a5a36dedd4bea2543 report.json --drop-attachment"
)]
pub struct UpdateArgs {
    record: String,
    file: PathBuf,
    /// Attach this file to the new version instead of the current attachment.
    #[arg(long, conflicts_with = "drop_attachment")]
    attach: Option<PathBuf>,
    /// The new version has no attachment (the earlier versions keep theirs).
    #[arg(long)]
    drop_attachment: bool,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    validate: crate::fhir_validation::ValidateArgs,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Erase a record: its ciphertext, wrapped keys and attachments are deleted (crypto-shredding).
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey delete 8f14e45fceea167a5a36dedd4bea2543 --yes")]
pub struct DeleteArgs {
    record: String,
    /// Confirm: an erased record cannot be recovered.
    #[arg(long)]
    yes: bool,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub async fn upload(args: UploadArgs) -> anyhow::Result<()> {
    let mut planned = plan(read_resources(&args.file, args.validate)?, args.category, None)?;
    if let Some(path) = &args.attach {
        let [single] = planned.as_mut_slice() else {
            bail!("--attach needs a single resource, not a Bundle of {}", planned.len());
        };
        if single.entry.attachment.is_some() {
            bail!("{} carries its own attached file; --attach would replace it", args.file.display());
        }
        single.entry.attachment = Some(inline_file(path)?);
    }
    let session = Session::open(&args.connect).await?;
    let uploaded = store_all(&session, planned, session.address()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&uploaded)?);
    } else {
        print_records(&uploaded);
    }
    Ok(())
}

pub async fn list(args: ListArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let query = args.category.map(|c| format!("?category={c}")).unwrap_or_default();
    let records: Vec<RecordView> = session.get_as(&format!("/v1/records{query}")).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&records)?);
    } else {
        print_records(&records);
    }
    Ok(())
}

pub async fn show(args: ShowArgs) -> anyhow::Result<()> {
    let id = record_id(&args.record)?;
    let session = Session::open(&args.connect).await?;
    let fetched: RecordContent = session.get_as(&format!("/v1/records/{id}")).await?;
    let (binding, key, plaintext) = sealing::open(&fetched, &session.wallet.encryption)?;
    let opened = Opened { id: &id, binding: &binding, key: &key, plaintext: &plaintext };
    write_opened(&session, &opened, args.out.as_deref(), args.attachment_out.as_deref()).await
}

pub async fn update(args: UpdateArgs) -> anyhow::Result<()> {
    let mut entries = read_resources(&args.file, args.validate)?;
    if entries.len() != 1 {
        bail!("update takes one resource, not a Bundle of {}", entries.len());
    }
    let mut entry = entries.remove(0);
    let new_file = match (&args.attach, entry.attachment.take()) {
        (Some(_), Some(_)) => bail!("{} carries its own attached file; --attach would replace it", args.file.display()),
        (Some(path), None) => Some(inline_file(path)?),
        (None, inline) => inline,
    };
    let id = record_id(&args.record)?;
    let session = Session::open(&args.connect).await?;
    let current: RecordContent = session.get_as(&format!("/v1/records/{id}")).await?;
    let mut binding = sealing::binding_of(&current.record)?;
    let new_type = resource_type(&entry.parsed)?;
    if new_type != binding.resource_type {
        bail!("record {id} is {}, not {}", fhir::with_article(&binding.resource_type), fhir::with_article(new_type));
    }
    // The new version's file: the one given, none if dropped, else the current one, decrypted
    // here before anything changes and sealed again under the new version's key.
    let carried = match new_file {
        Some(file) => Some(file),
        None if args.drop_attachment || current.record.attachment_size.is_none() => None,
        None => {
            let (old_binding, old_key, _) = sealing::open(&current, &session.wallet.encryption)?;
            Some(decrypted_attachment(&session, &id, &old_binding, &old_key).await?)
        }
    };
    binding.version += 1;
    let category = Category::from_index(binding.category).context("category")?;
    let sealed = sealing::seal(binding, entry.text.as_bytes())?;
    let me = (session.address(), session.wallet.encryption_public_key());
    let mut view: RecordView =
        session.call(Method::PUT, &format!("/v1/records/{id}"), &sealed.version_body(&[me])?).await?;
    let mut providers = live_providers(&session, category).await?;
    providers.extend_from_slice(Emergency::load(&session).await?.providers_for(category));
    providers.sort();
    providers.dedup();
    share_version(&session, &sealed, &providers).await?;
    if let Some(file) = carried {
        let size = file.size;
        attach_file(&session, &sealed, file).await.with_context(|| {
            format!(
                "version {} is stored without its attached file (version {} still has it)",
                sealed.binding.version,
                sealed.binding.version - 1
            )
        })?;
        view.attachment_size = Some(size);
    }
    eprintln!("record {id} is now version {} (shared with {} provider(s))", sealed.binding.version, providers.len());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print_records(&[view]);
    }
    Ok(())
}

pub async fn delete(args: DeleteArgs) -> anyhow::Result<()> {
    if !args.yes {
        bail!("erasing a record cannot be undone: pass --yes to confirm");
    }
    let id = record_id(&args.record)?;
    let session = Session::open(&args.connect).await?;
    session.send("DELETE", &format!("/v1/records/{id}"), None).await?;
    if args.json {
        println!("{}", json!({"record_id": id, "erased": true}));
    } else {
        eprintln!("record {id} erased");
    }
    Ok(())
}
