//! A patient's records through the vault, for every command that reads or writes them: plan an
//! upload from FHIR files, seal and store each record, wrap its key for the providers that may
//! read it, and open, decrypt and write a record on this machine. The vault gets ciphertext and
//! wrapped keys only.

use crate::emergency_setup::Emergency;
use crate::fhir_file::{self, FileEntry, InlineFile};
use crate::fhir_validation::{self, ValidateArgs};
use crate::progress::Progress;
use crate::sealing::{self, Sealed};
use crate::session::Session;
use crate::table;
use alloy::primitives::Address;
use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use base64::Engine;
use medkey_protocol::api::{
    GrantListing, GrantState, GrantView, KeysBody, RecordContent, RecordContents, RecordCreated, RecordIdsBody,
    RecordView,
};
use medkey_protocol::envelope::origin::MAX_SEALED_BYTES;
use medkey_protocol::envelope::{EncryptionPublicKey, RecordBinding, stream};
use medkey_protocol::{Category, fhir, fhir_category};
use serde_json::Value;
use std::path::Path;

/// A resource from a file and the category it will be stored under.
#[derive(Debug)]
pub struct Planned {
    pub entry: FileEntry,
    pub category: Category,
}

/// Each resource with its category: `category` for all if given, else the one its Bundle entry
/// names, else inferred from its codes, else `default`. All are checked before anything is
/// stored, so a bad file stores nothing.
pub fn plan(
    entries: Vec<FileEntry>,
    category: Option<Category>,
    default: Option<Category>,
) -> anyhow::Result<Vec<Planned>> {
    entries
        .into_iter()
        .map(|entry| {
            let category = match category.or(entry.category) {
                Some(category) => category,
                None => match (category_of(&entry.parsed), default) {
                    (Ok(category), _) => {
                        // Said aloud, since it may differ from what the type alone suggests.
                        if let Some((_, because)) = fhir_category::sensitive_evidence(&entry.parsed) {
                            eprintln!("{}: {category} ({because})", where_in_file(&entry));
                        }
                        category
                    }
                    (Err(_), Some(default)) => default,
                    (Err(err), None) => return Err(err.context(where_in_file(&entry))),
                },
            };
            Ok(Planned { entry, category })
        })
        .collect()
}

fn where_in_file(entry: &FileEntry) -> String {
    if entry.place.is_empty() { "the resource".into() } else { format!("entry {}", entry.place) }
}

/// A file on disk to attach, as `InlineFile` (what a FHIR file's inline data becomes).
pub fn inline_file(path: &Path) -> anyhow::Result<InlineFile> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata()?.len();
    Ok(InlineFile { file, size, title: path.file_name().map(|n| n.to_string_lossy().into_owned()) })
}

/// Stores each planned resource as a new record of `owner`, with its attached file if it has
/// one, with progress; returns the vault's views.
pub async fn store_all(session: &Session, planned: Vec<Planned>, owner: Address) -> anyhow::Result<Vec<RecordView>> {
    // A patient's own records in her break-glass categories are wrapped for her chosen
    // emergency providers too (released only under an emergency grant).
    let emergency = if owner == session.address() { Emergency::load(session).await? } else { Emergency::none() };
    let mut progress = Progress::new(planned.len() as u64, "uploading");
    let mut stored = Vec::with_capacity(planned.len());
    for Planned { entry, category } in planned {
        let (view, sealed) = store_new(session, &entry, category, owner, emergency.providers_for(category)).await?;
        let line = format!("{} {category} → {}", entry.resource_type(), id_of(&view));
        if let Some(file) = entry.attachment {
            attach_file(session, &sealed, file).await?;
        }
        progress.item(&line);
        stored.push(view);
    }
    Ok(stored)
}

/// Seals `resource` for its owner (and any provider already granted the category, with keys
/// read from the chain), stores it, and returns the vault's view of it and the sealed version.
pub async fn store_new(
    session: &Session,
    entry: &FileEntry,
    category: Category,
    owner: Address,
    also: &[Address],
) -> anyhow::Result<(RecordView, Sealed)> {
    let resource_type = resource_type(&entry.parsed)?;
    let binding = RecordBinding {
        record_id: sealing::new_record_id()?,
        version: 1,
        owner,
        category: category.index(),
        resource_type: resource_type.to_owned(),
    };
    // The text as the file had it: every value, decimals included, exactly as written.
    let sealed = sealing::seal(binding, entry.text.as_bytes())?;
    let mut readers = vec![(session.address(), session.wallet.encryption_public_key())];
    // A provider writing for a patient wraps for the patient too, to the key she signed.
    let patient = (owner != session.address()).then_some(owner);
    if let Some(patient) = patient {
        readers.push((patient, session.account_key(patient).await?));
    }
    // Where it was in the patient's file, so an export can put it back (hers alone to open).
    let origin = match (&entry.origin, patient) {
        (Some(origin), None) => kept_origin(session, &sealed.binding, origin, entry)?,
        _ => None,
    };
    let body = sealed.create_body(&readers, patient, origin.as_deref())?;
    let answer: RecordCreated = session.call(Method::POST, "/v1/records", &body).await?;
    let mut needing: Vec<Address> =
        answer.providers_needing_keys.iter().map(|p| p.provider).chain(also.iter().copied()).collect();
    needing.sort();
    needing.dedup();
    share_version(session, &sealed, &needing).await?;
    Ok((answer.record, sealed))
}

/// Stores `entry` as the next version of her record `view` (pulled again from a provider,
/// changed there), for her and whoever reads its category now (live grants, break-glass), with
/// its origin replaced by the entry's and its attached file, if it carries one.
pub async fn store_version(session: &Session, view: &RecordView, entry: FileEntry) -> anyhow::Result<RecordView> {
    let mut binding = sealing::binding_of(view)?;
    if entry.resource_type() != binding.resource_type {
        bail!(
            "record {} is {}, not {}",
            id_of(view),
            fhir::with_article(&binding.resource_type),
            fhir::with_article(entry.resource_type())
        );
    }
    binding.version += 1;
    let category = Category::from_index(binding.category).context("category")?;
    let sealed = sealing::seal(binding, entry.text.as_bytes())?;
    let me = (session.address(), session.wallet.encryption_public_key());
    let mut body = sealed.version_body(&[me])?;
    if let Some(origin) = &entry.origin {
        body.origin = kept_origin(session, &sealed.binding, origin, &entry)?
            .map(|o| base64::engine::general_purpose::STANDARD.encode(o));
    }
    let stored: RecordView = session.call(Method::PUT, &format!("/v1/records/{}", id_of(view)), &body).await?;
    let mut providers = live_providers(session, category).await?;
    providers.extend_from_slice(Emergency::load(session).await?.providers_for(category));
    providers.sort();
    providers.dedup();
    share_version(session, &sealed, &providers).await?;
    if let Some(file) = entry.attachment {
        attach_file(session, &sealed, file).await?;
    }
    Ok(stored)
}

/// Each of the caller's live records with its sealed content, fetched 500 to a request.
pub async fn each_content(session: &Session, mut visit: impl FnMut(RecordContent)) -> anyhow::Result<()> {
    let list: Vec<RecordView> = session.get_as("/v1/records").await?;
    let ids: Vec<String> = list.iter().filter(|r| !r.erased).map(id_of).collect();
    for chunk in ids.chunks(500) {
        let body = RecordIdsBody { record_ids: chunk.to_vec() };
        let contents: RecordContents = session.call(Method::POST, "/v1/records/contents", &body).await?;
        contents.records.into_iter().for_each(&mut visit);
    }
    Ok(())
}

/// The record's origin sealed, within what a vault keeps ([`MAX_SEALED_BYTES`]). A Bundle whose
/// header is too large (a big signature, say) keeps what its entries' references need (id, type,
/// the order, each `fullUrl`) and drops the rest, saying what; only if even that is too large is
/// the record stored without it (an export then lists it on its own), said too.
fn kept_origin(
    session: &Session,
    binding: &RecordBinding,
    origin: &medkey_protocol::envelope::origin::RecordOrigin,
    entry: &FileEntry,
) -> anyhow::Result<Option<Vec<u8>>> {
    let sealed = sealing::seal_origin(&session.wallet.encryption, binding, origin)?;
    if sealed.len() <= MAX_SEALED_BYTES {
        return Ok(Some(sealed));
    }
    for level in [1, 2] {
        let (slim, dropped) = origin.slimmed(level);
        let sealed = sealing::seal_origin(&session.wallet.encryption, binding, &slim)?;
        if sealed.len() <= MAX_SEALED_BYTES {
            let dropped: Vec<String> = dropped.into_iter().collect();
            eprintln!(
                "note: {}: its Bundle is kept without {} (too large to keep beside each record); its entries, their \
                 order and references are kept",
                where_in_file(entry),
                dropped.join(", ")
            );
            return Ok(Some(sealed));
        }
    }
    eprintln!(
        "warning: {}: where it was in the file is too large to keep ({} bytes); it is stored without it, and an \
         export lists it on its own",
        where_in_file(entry),
        sealed.len()
    );
    Ok(None)
}

/// Wraps a version's data key for `providers` (keys from the chain, never from the vault).
pub async fn share_version(session: &Session, sealed: &Sealed, providers: &[Address]) -> anyhow::Result<()> {
    if providers.is_empty() {
        return Ok(());
    }
    let mut readers: Vec<(Address, EncryptionPublicKey)> = Vec::new();
    for provider in providers {
        match session.provider_key(*provider).await {
            Ok(key) => readers.push((*provider, key)),
            Err(err) => eprintln!("warning: not sharing with {provider}: {err:#}"),
        }
    }
    if readers.is_empty() {
        return Ok(());
    }
    let path = format!(
        "/v1/records/{}/versions/{}/keys",
        alloy::hex::encode(sealed.binding.record_id),
        sealed.binding.version
    );
    session.call::<Value>(Method::POST, &path, &KeysBody { wrapped_keys: sealed.wrapped_for(&readers)? }).await?;
    Ok(())
}

/// Encrypts `file` under the version's data key and uploads it as the version's attachment.
pub async fn attach_file(session: &Session, sealed: &Sealed, file: InlineFile) -> anyhow::Result<()> {
    // Encrypted chunk by chunk into a private temporary file, then streamed up: memory stays
    // flat whatever the file's size, and the plaintext never leaves this machine.
    let name = file.title.clone().unwrap_or_else(|| "the attached file".into());
    let bar = crate::progress::bytes(file.size, "encrypting");
    let mut sealed_file = tempfile::tempfile().context("a temporary file for the ciphertext")?;
    let reader = std::io::BufReader::new(bar.wrap_read(file.file));
    let mut writer = std::io::BufWriter::new(&mut sealed_file);
    stream::encrypt(&sealed.key, &sealed.binding, stream::DEFAULT_CHUNK, reader, &mut writer)?;
    std::io::Write::flush(&mut writer)?;
    drop(writer);
    bar.finish_and_clear();
    std::io::Seek::rewind(&mut sealed_file)?;
    let url = format!(
        "/v1/records/{}/versions/{}/attachment",
        alloy::hex::encode(sealed.binding.record_id),
        sealed.binding.version
    );
    session.vault.put_file(&url, &session.token, tokio::fs::File::from_std(sealed_file)).await?;
    eprintln!("attached {name} ({} bytes, encrypted)", file.size);
    Ok(())
}

/// Providers holding a live grant from this patient that covers `category`.
pub async fn live_providers(session: &Session, category: Category) -> anyhow::Result<Vec<Address>> {
    let mut providers: Vec<Address> = grant_views(session, "/v1/grants")
        .await?
        .into_iter()
        .filter(|g| g.state == GrantState::Live && g.categories.contains(&category))
        .map(|g| g.grant.provider)
        .collect();
    providers.sort();
    providers.dedup();
    Ok(providers)
}

/// The resources in a FHIR file (a resource, or a Bundle with Bundles inside), each checked to
/// be a resource type Medkey stores.
/// Every resource of the FHIR file at `path`, each of a type Medkey stores and (unless
/// `--no-validate`) valid FHIR R4, or an error naming the first one that is not.
pub fn read_resources(path: &Path, validate: ValidateArgs) -> anyhow::Result<Vec<FileEntry>> {
    let entries = fhir_file::read(path)?;
    for entry in &entries {
        resource_type(&entry.parsed).with_context(|| format!("in {}, {}", path.display(), where_in_file(entry)))?;
    }
    fhir_validation::check(&entries, validate).with_context(|| format!("in {}", path.display()))?;
    Ok(entries)
}

pub fn resource_type(resource: &Value) -> anyhow::Result<&str> {
    let kind = resource["resourceType"].as_str().context("not a FHIR resource: no resourceType")?;
    if !fhir::is_r4_resource_type(kind) || kind == "Bundle" {
        bail!("'{kind}' is not a FHIR R4 resource type Medkey stores");
    }
    Ok(kind)
}

pub fn category_of(resource: &Value) -> anyhow::Result<Category> {
    fhir_category::infer(resource).with_context(|| {
        let names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "cannot tell the category of {}: pass --category (one of {})",
            fhir::with_article(resource["resourceType"].as_str().unwrap_or("resource")),
            names.join(", ")
        )
    })
}

/// A record id as the vault takes it (32 lowercase hex digits), from the forms [`RecordId`]
/// accepts (the vault's own rules; surrounding spaces from a paste are forgiven).
pub fn record_id(text: &str) -> anyhow::Result<String> {
    Ok(medkey_protocol::RecordId::parse(text.trim())?.to_string())
}

pub fn id_of(view: &RecordView) -> String {
    view.record_id.clone()
}

/// The grants a `/v1/grants` query answers as JSON (never the FHIR form).
pub async fn grant_views(session: &Session, path: &str) -> anyhow::Result<Vec<GrantView>> {
    match session.get_as(path).await? {
        GrantListing::Grants(grants) => Ok(grants),
        GrantListing::Fhir(_) => bail!("the vault answered {path} with FHIR, not the grants as JSON"),
    }
}

/// A record decrypted on this machine.
pub struct Opened<'a> {
    pub id: &'a str,
    pub binding: &'a RecordBinding,
    pub key: &'a medkey_protocol::envelope::DataKey,
    /// The record's JSON as it was sealed.
    pub plaintext: &'a [u8],
}

/// Prints the resource or writes it to `out` (indented, every value as stored); fetches and
/// decrypts the attachment into `attachment_out` when asked.
pub async fn write_opened(
    session: &Session,
    opened: &Opened<'_>,
    out: Option<&Path>,
    attachment_out: Option<&Path>,
) -> anyhow::Result<()> {
    let pretty = fhir_file::pretty(opened.plaintext).context("the record is not JSON")?;
    match out {
        Some(path) => write_private(path, pretty.as_bytes())?,
        None => println!("{pretty}"),
    }
    if let Some(path) = attachment_out {
        let mut plain = decrypted_attachment(session, opened.id, opened.binding, opened.key).await?;
        let mut target = crate::private_files::Pending::begin(path)?;
        let size =
            std::io::copy(&mut plain.file, target.file()).with_context(|| format!("writing {}", path.display()))?;
        target.finish()?;
        eprintln!("attachment written to {} ({size} bytes)", path.display());
    }
    Ok(())
}

/// The current version's attachment, downloaded and decrypted here into a private temporary
/// file (memory stays flat); refused if any part of it does not authenticate.
pub async fn decrypted_attachment(
    session: &Session,
    id: &str,
    binding: &RecordBinding,
    key: &medkey_protocol::envelope::DataKey,
) -> anyhow::Result<InlineFile> {
    let ciphertext = session.vault.get_to_file(&format!("/v1/records/{id}/attachment"), &session.token).await?;
    let mut plain = tempfile::tempfile().context("a temporary file for the attachment")?;
    let mut writer = std::io::BufWriter::new(&mut plain);
    stream::decrypt(key, binding, std::io::BufReader::new(ciphertext), &mut writer)
        .context("the attachment does not authenticate")?;
    std::io::Write::flush(&mut writer)?;
    drop(writer);
    let size = std::io::Seek::stream_position(&mut plain)?;
    std::io::Seek::rewind(&mut plain)?;
    Ok(InlineFile { file: plain, size, title: None })
}

/// Decrypted health data goes to new files only this user can read (see `private_files`).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::private_files::write_new(path, bytes)
}

pub fn print_records(records: &[RecordView]) {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                id_of(r),
                r.category.to_string(),
                r.resource_type.clone(),
                r.version.to_string(),
                crate::dates::rfc3339_ms(r.updated_at_ms),
            ]
        })
        .collect();
    table::print(&["RECORD", "CATEGORY", "TYPE", "VERSION", "UPDATED (UTC)"], &rows);
}
