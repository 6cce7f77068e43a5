//! `export` and `import`: the patient's records as a FHIR R4 Bundle (type `collection`), and
//! optionally as NDJSON bulk-export files (one per resource type), decrypted on this machine.
//! Each entry carries the Medkey category as an extension, so an export imported elsewhere
//! lands in the same categories; entries from other systems get theirs inferred. Attached files
//! travel inside the Bundle (see `fhir_bundle_writer`), values exactly as stored. A record that
//! cannot be opened is listed, never silently left out, and never costs the others. Records
//! that came from a Bundle go back into it (see `export_layout`), so the references between
//! its entries resolve in the export as they did in the file.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use clap::Args;
use medkey_protocol::Category;
use medkey_protocol::api::{RecordContent, RecordContents, RecordIdsBody, RecordView};
use medkey_protocol::envelope::origin::RecordOrigin;
use medkey_protocol::envelope::{DataKey, RecordBinding};
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;
use sha2::Digest;

use crate::export_layout::{Level, Node, unique_full_url};
use crate::fhir_bundle_writer::{BundleWriter, ExportRecord, ndjson_line};
use crate::progress::Progress;
use crate::record_store;
use crate::sealing;
use crate::session::{ConnectArgs, Session};

/// Decrypt every record here and write a FHIR R4 Bundle (and NDJSON files).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey export --out my-records.json\n  medkey export --out my-records.json --ndjson bulk/"
)]
pub struct ExportArgs {
    /// The Bundle file to write (readable by you only). If some record cannot be opened, an
    /// existing file is left as it is and the others go to `<out>.partial`.
    #[arg(long)]
    out: PathBuf,
    /// Also write `<ResourceType>.ndjson` files into this directory (FHIR Bulk Data format).
    #[arg(long)]
    ndjson: Option<PathBuf>,
    /// Print a JSON summary (where it was written, counts, each record that failed and why).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Upload every resource of a FHIR Bundle or NDJSON file (from Medkey or another system) as new
/// records.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey import records-from-my-clinic.json\n  medkey import bulk/Observation.ndjson"
)]
pub struct ImportArgs {
    /// A FHIR Bundle or resource (JSON), or FHIR NDJSON (`.ndjson`, one resource per line).
    file: PathBuf,
    /// Category for resources whose category is neither in the Bundle nor inferable.
    #[arg(long)]
    default_category: Option<Category>,
    /// Store resources even when the account has a record with the same content already
    /// (by default they are skipped, and counted).
    #[arg(long)]
    allow_duplicates: bool,
    #[command(flatten)]
    validate: crate::fhir_validation::ValidateArgs,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// A record that could not be exported, and why.
#[derive(Debug, Serialize)]
struct Failure {
    record_id: String,
    reason: String,
}

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let list: Vec<RecordView> = session.get_as("/v1/records").await?;
    let records: Vec<&RecordView> = list.iter().filter(|r| !r.erased).collect();
    let dir = args.out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // Every record is opened first (its attached file only when it is written), so that records
    // from one Bundle can go back into it together wherever they are in the list.
    let mut failures = Vec::new();
    let mut opened = Vec::with_capacity(records.len());
    let mut progress = Progress::new(records.len() as u64, "decrypting");
    for chunk in records.chunks(500) {
        let body = RecordIdsBody { record_ids: chunk.iter().map(|r| record_store::id_of(r)).collect() };
        let contents: RecordContents = session.call(Method::POST, "/v1/records/contents", &body).await?;
        for id in contents.missing {
            failures.push(Failure { record_id: id, reason: "the vault did not return it (erased meanwhile?)".into() });
        }
        for content in contents.records {
            let id = record_store::id_of(&content.record);
            match open(&session, content) {
                Ok(record) => opened.push(record),
                Err(err) => failure(&mut failures, id.clone(), err),
            }
            progress.item(&id);
        }
    }
    drop(progress);

    // Written beside the target and moved into place only once complete.
    let mut temp = crate::private_files::temp_in(dir)?;
    let (failures, exported, attachments, ndjson) = {
        let bundle =
            BundleWriter::start(BufWriter::new(temp.as_file_mut()), &crate::dates::rfc3339_ms(crate::dates::now_ms()))?;
        let ndjson = args.ndjson.as_deref().map(Ndjson::create).transpose()?;
        let layout = Level::of(opened.iter().map(|r| r.origin.as_ref()));
        let mut out = Out { session: &session, bundle, ndjson, failures, exported: 0, attachments: 0 };
        let mut progress = Progress::new(opened.len() as u64, "writing");
        out.level(&layout, &mut opened, true, &mut progress).await?;
        let Out { bundle, ndjson, failures, exported, attachments, session: _ } = out;
        bundle.finish()?.flush()?;
        (failures, exported, attachments, ndjson)
    };
    temp.as_file().sync_all()?;
    // A complete export replaces the file; a partial one never replaces an existing file.
    let written = if failures.is_empty() || !args.out.exists() { args.out.clone() } else { partial(&args.out) };
    temp.persist(&written).with_context(|| format!("writing {}", written.display()))?;
    if let Some(ndjson) = ndjson {
        ndjson.finish(!failures.is_empty())?;
    }
    if args.json {
        let summary = json!({
            "out": written, "records": exported, "attachments": attachments, "failures": failures,
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    eprintln!("{exported} records ({attachments} with an attached file) written to {}", written.display());
    if !failures.is_empty() {
        bail!(
            "{} of {} records could not be exported (listed above){}",
            failures.len(),
            records.len(),
            if written == args.out { String::new() } else { format!("; {} was left as it was", args.out.display()) }
        );
    }
    Ok(())
}

fn failure(failures: &mut Vec<Failure>, record_id: String, err: anyhow::Error) {
    eprintln!("error: record {record_id} could not be exported: {err:#}");
    failures.push(Failure { record_id, reason: format!("{err:#}") });
}

/// A record decrypted for the export; its attached file is fetched when it is written.
pub(super) struct Opened {
    pub(super) id: String,
    category: Category,
    resource_type: String,
    plaintext: Vec<u8>,
    origin: Option<RecordOrigin>,
    /// The binding and data key that open its attached file, if it has one.
    file_key: Option<(RecordBinding, DataKey)>,
}

impl Opened {
    /// The record as the Bundle writer takes it, its attached file fetched and decrypted now.
    pub(super) async fn with_file(&mut self, session: &Session) -> anyhow::Result<ExportRecord> {
        let attachment = match &self.file_key {
            None => None,
            Some((binding, key)) => {
                Some(record_store::decrypted_attachment(session, &self.id, binding, key).await?.file)
            }
        };
        Ok(ExportRecord { category: self.category, plaintext: std::mem::take(&mut self.plaintext), attachment })
    }
}

/// Opens one of the caller's records (not its attached file: see [`Opened::with_file`]).
pub(super) fn open(session: &Session, content: RecordContent) -> anyhow::Result<Opened> {
    let (binding, key, plaintext) = sealing::open(&content, &session.wallet.encryption)?;
    serde_json::from_slice::<serde::de::IgnoredAny>(&plaintext).context("the record is not JSON")?;
    let origin = sealing::open_origin(&content, &session.wallet.encryption)?;
    Ok(Opened {
        id: record_store::id_of(&content.record),
        category: content.record.category,
        resource_type: content.record.resource_type.clone(),
        plaintext,
        origin,
        file_key: content.record.attachment_size.map(|_| (binding, key)),
    })
}

/// The export being written: the Bundle, the NDJSON files, and what went right and wrong.
struct Out<'a, W: Write> {
    session: &'a Session,
    bundle: BundleWriter<W>,
    ndjson: Option<Ndjson>,
    failures: Vec<Failure>,
    exported: usize,
    attachments: usize,
}

impl<W: Write> Out<'_, W> {
    /// Writes a level of the layout; `top`: the export's own entries (whose fullUrls must stay
    /// unique across records from different files).
    fn level<'b>(
        &'b mut self,
        level: &'b Level,
        opened: &'b mut [Opened],
        top: bool,
        progress: &'b mut Progress,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + 'b>> {
        Box::pin(async move {
            let mut seen = HashSet::new();
            for node in &level.nodes {
                match node {
                    Node::Record(index) => {
                        let record = &mut opened[*index];
                        let rest = record.origin.as_ref().and_then(|o| o.entry.as_deref());
                        let rest = if top { unique_full_url(rest, &mut seen)? } else { rest.map(ToOwned::to_owned) };
                        self.record(record, rest.as_deref()).await?;
                        progress.item(&format!("{} written", record.id));
                    }
                    Node::Bundle(group) => {
                        self.bundle.begin_bundle(group.entry.as_deref(), &group.header)?;
                        for inner in group.children.values() {
                            self.level(inner, opened, false, progress).await?;
                        }
                        self.bundle.end_bundle()?;
                    }
                }
            }
            Ok(())
        })
    }

    /// One record's entry (and NDJSON line); a file that cannot be fetched fails the record only.
    async fn record(&mut self, record: &mut Opened, rest: Option<&RawValue>) -> anyhow::Result<()> {
        let mut export = match record.with_file(self.session).await {
            Ok(export) => export,
            Err(err) => {
                failure(&mut self.failures, record.id.clone(), err);
                return Ok(());
            }
        };
        self.bundle.entry(&mut export, rest)?;
        if let Some(ndjson) = self.ndjson.as_mut() {
            ndjson.write(&record.resource_type, &mut export)?;
        }
        self.exported += 1;
        self.attachments += usize::from(export.attachment.is_some());
        Ok(())
    }
}

fn partial(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

/// The NDJSON files, one per resource type, written in a temporary directory beside the
/// target and moved into it at the end.
struct Ndjson {
    target: PathBuf,
    temp: tempfile::TempDir,
    files: BTreeMap<String, BufWriter<std::fs::File>>,
}

impl Ndjson {
    fn create(target: &Path) -> anyhow::Result<Self> {
        let parent = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let temp = tempfile::Builder::new().prefix(".medkey-ndjson").tempdir_in(parent)?;
        Ok(Self { target: target.to_owned(), temp, files: BTreeMap::new() })
    }

    fn write(&mut self, resource_type: &str, record: &mut ExportRecord) -> anyhow::Result<()> {
        if !self.files.contains_key(resource_type) {
            let file = crate::private_files::create(&self.temp.path().join(format!("{resource_type}.ndjson")))?;
            self.files.insert(resource_type.to_owned(), BufWriter::new(file));
        }
        let out = self.files.get_mut(resource_type).expect("just inserted");
        ndjson_line(out, record)
    }

    /// Moves the files into the target directory (`<target>.partial` when some records failed).
    fn finish(mut self, partial_export: bool) -> anyhow::Result<()> {
        let target = if partial_export { partial(&self.target) } else { self.target.clone() };
        std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
        for (kind, mut file) in std::mem::take(&mut self.files) {
            file.flush()?;
            let name = format!("{kind}.ndjson");
            std::fs::rename(self.temp.path().join(&name), target.join(&name))
                .with_context(|| format!("writing {}", target.join(&name).display()))?;
        }
        eprintln!("NDJSON written to {}", target.display());
        Ok(())
    }
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    // Every entry (nested Bundles' included) is read and checked before any is stored, so a bad
    // file leaves nothing half-imported; inline files are decoded to temporary files meanwhile.
    let entries = record_store::read_resources(&args.file, args.validate)?;
    let planned = record_store::plan(entries, None, args.default_category)
        .map_err(|err| err.context("pass --default-category for resources whose category cannot be told"))?;
    let session = Session::open(&args.connect).await?;
    // A record already stored with the same content in the same place (an import repeated) is
    // stored once. The place counts: two Bundles may hold the same resource, and each keeps its
    // own copy so that a round trip gives back both Bundles whole.
    let mut seen = if args.allow_duplicates { HashSet::new() } else { stored_contents(&session).await? };
    let total = planned.len();
    let planned: Vec<record_store::Planned> = planned
        .into_iter()
        .filter(|p| args.allow_duplicates || seen.insert(record_key(&p.entry.parsed, p.entry.origin.as_ref())))
        .collect();
    let skipped = total - planned.len();
    let attachments = planned.iter().filter(|p| p.entry.attachment.is_some()).count();
    let stored = record_store::store_all(&session, planned, session.address()).await?;
    eprintln!("{} records imported ({attachments} with an attached file)", stored.len());
    if skipped > 0 {
        eprintln!(
            "{skipped} skipped: stored already, with the same content from the same place in a file (pass \
             --allow-duplicates to store them again)"
        );
    }
    Ok(())
}

/// The keys ([`record_key`]) of every record the account has (decrypted here, 500 at a time).
async fn stored_contents(session: &Session) -> anyhow::Result<HashSet<[u8; 32]>> {
    let mut keys = HashSet::new();
    record_store::each_content(session, |content| {
        // A record that does not open cannot be compared; the import does not depend on it.
        if let Ok((_, _, plaintext)) = sealing::open(&content, &session.wallet.encryption)
            && let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(&plaintext)
        {
            let origin = sealing::open_origin(&content, &session.wallet.encryption).ok().flatten();
            keys.insert(record_key(&parsed, origin.as_ref()));
        }
    })
    .await?;
    Ok(keys)
}

/// What makes two records the same: their content (JSON with object keys in sorted order) and
/// where they were in a file (each Bundle's header, the entry's place and its own fields; the
/// random key an import gives each Bundle is left out, so the same file read twice agrees).
fn record_key(resource: &serde_json::Value, origin: Option<&RecordOrigin>) -> [u8; 32] {
    let parse =
        |raw: &serde_json::value::RawValue| serde_json::from_str::<serde_json::Value>(raw.get()).unwrap_or_default();
    let place = origin.map(|origin| {
        serde_json::json!({
            "bundles": origin.bundles.iter().map(|b| serde_json::json!({
                "header": parse(&b.header),
                "position": b.position,
                "entry": b.entry.as_deref().map(parse),
            })).collect::<Vec<_>>(),
            "entry": origin.entry.as_deref().map(parse),
        })
    });
    content_key(&serde_json::json!({"resource": resource, "place": place}))
}

/// Their JSON with object keys in sorted order, hashed.
fn content_key(resource: &serde_json::Value) -> [u8; 32] {
    fn canonical(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    canonical(&map[key], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    canonical(resource, &mut text);
    sha2::Sha256::digest(text.as_bytes()).into()
}
