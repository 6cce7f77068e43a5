//! `export` and `import`: the patient's records as a FHIR R4 Bundle (type `collection`), and
//! optionally as NDJSON bulk-export files (one per resource type), decrypted on this machine.
//! Each entry carries the Medkey category as an extension, so an export imported elsewhere
//! lands in the same categories; entries from other systems get theirs inferred.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use medkey_protocol::Category;
use medkey_protocol::api::{RecordContent, RecordView};
use serde_json::{Value, json};

use super::records::{self, write_private};
use crate::progress::Progress;
use crate::sealing;
use crate::session::{ConnectArgs, Session};

/// The extension on `Bundle.entry` naming the record's Medkey category.
pub const CATEGORY_EXTENSION: &str = "https://medkey.dev/fhir/StructureDefinition/record-category";

/// Decrypt every record here and write a FHIR R4 Bundle (and NDJSON files).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey export --out my-records.json\n  medkey export --out my-records.json --ndjson bulk/"
)]
pub struct ExportArgs {
    /// The Bundle file to write (readable by you only).
    #[arg(long)]
    out: PathBuf,
    /// Also write `<ResourceType>.ndjson` files into this directory (FHIR Bulk Data format).
    #[arg(long)]
    ndjson: Option<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Upload every resource of a FHIR Bundle (from Medkey or another system) as new records.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey import records-from-my-clinic.json")]
pub struct ImportArgs {
    file: PathBuf,
    /// Category for resources whose category is neither in the Bundle nor inferable.
    #[arg(long)]
    default_category: Option<Category>,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let list: Vec<RecordView> = session.get_as("/v1/records").await?;
    let records: Vec<&RecordView> = list.iter().filter(|r| !r.erased).collect();
    let mut entries = Vec::with_capacity(records.len());
    let mut progress = Progress::new(records.len() as u64, "decrypting");
    for record in &records {
        let id = records::id_of(record);
        let fetched: RecordContent = session.get_as(&format!("/v1/records/{id}")).await?;
        let (_, _, plaintext) =
            sealing::open(&fetched, &session.wallet.encryption).with_context(|| format!("opening record {id}"))?;
        let resource: Value = serde_json::from_slice(&plaintext).with_context(|| format!("record {id} is not JSON"))?;
        entries.push(json!({
            "fullUrl": format!("urn:uuid:{}", uuid_text(&id)),
            "extension": [{"url": CATEGORY_EXTENSION, "valueCode": record.category}],
            "resource": resource,
        }));
        progress.item(&id);
    }
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": crate::dates::rfc3339_ms(now_ms()),
        "entry": entries,
    });
    write_private(&args.out, &serde_json::to_vec_pretty(&bundle)?)?;
    if let Some(dir) = &args.ndjson {
        write_ndjson(dir, &bundle)?;
    }
    eprintln!("{} records written to {}", records.len(), args.out.display());
    Ok(())
}

fn write_ndjson(dir: &std::path::Path, bundle: &Value) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut by_type: BTreeMap<String, String> = BTreeMap::new();
    for entry in bundle["entry"].as_array().into_iter().flatten() {
        let kind = entry["resource"]["resourceType"].as_str().unwrap_or("Unknown").to_owned();
        let line = by_type.entry(kind).or_default();
        line.push_str(&serde_json::to_string(&entry["resource"])?);
        line.push('\n');
    }
    for (kind, lines) in &by_type {
        write_private(&dir.join(format!("{kind}.ndjson")), lines.as_bytes())?;
    }
    eprintln!("NDJSON: {} file(s) in {}", by_type.len(), dir.display());
    Ok(())
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let bundle: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", args.file.display()))?;
    if bundle["resourceType"] != "Bundle" {
        bail!("{} is not a FHIR Bundle (use `medkey upload` for a single resource)", args.file.display());
    }
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    // Check every entry before storing any, so a bad Bundle leaves nothing half-imported.
    let mut planned = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let resource = records::resources_of(entry["resource"].clone()).with_context(|| format!("entry {}", i + 1))?;
        let category = match entry_category(entry)? {
            Some(category) => category,
            None => match (records::category_of(&resource[0]), args.default_category) {
                (Ok(category), _) => category,
                (Err(_), Some(default)) => default,
                (Err(err), None) => return Err(err.context(format!("entry {} (or pass --default-category)", i + 1))),
            },
        };
        planned.push((resource[0].clone(), category));
    }
    let session = Session::open(&args.connect).await?;
    records::store_all(&session, &planned, session.address(), None).await?;
    eprintln!("{} records imported", planned.len());
    Ok(())
}

fn entry_category(entry: &Value) -> anyhow::Result<Option<Category>> {
    let found = entry["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["url"] == CATEGORY_EXTENSION)
        .and_then(|e| e["valueCode"].as_str());
    found.map(|code| code.parse::<Category>().map_err(anyhow::Error::from)).transpose()
}

/// `00112233-4455-6677-8899-aabbccddeeff` from 32 hex digits.
fn uuid_text(hex: &str) -> String {
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
