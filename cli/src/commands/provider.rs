//! The provider's client: who granted me access, their records, and fetching one (the key is
//! unwrapped and the record decrypted and checked on this machine).

use alloy::primitives::Address;
use alloy::transports::http::reqwest::Method;
use anyhow::Context;
use clap::{Args, Subcommand};
use medkey_protocol::api::{GrantState, GrantView, KeyBatch, KeyBatchBody, KeyRelease, RecordView};
use serde_json::{Value, json};

use crate::dates::rfc3339_ms;
use crate::record_store::{self, Opened, record_id, write_opened};
use crate::sealing;
use crate::session::{ConnectArgs, Session};
use crate::table;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey provider patients\n  medkey provider records --patient 0x7099…\n  medkey provider fetch 8f14e45fceea167a5a36dedd4bea2543 --out result.json"
)]
pub struct ProviderArgs {
    #[command(subcommand)]
    command: ProviderCommand,
}

#[derive(Debug, Subcommand)]
enum ProviderCommand {
    /// Patients who have granted you access, and what they granted.
    #[command(after_help = "Example:\n  medkey provider patients --all --json")]
    Patients(PatientsArgs),
    /// The records of a patient you may read now (metadata only).
    #[command(after_help = "Example:\n  medkey provider records --patient 0x7099…")]
    Records(RecordsArgs),
    /// Download a record, unwrap its key and decrypt it here.
    #[command(
        after_help = "Example:\n  medkey provider fetch 8f14e45fceea167a5a36dedd4bea2543 --out result.json --attachment-out scan.pdf"
    )]
    Fetch(FetchArgs),
    /// Open a patient's whole chart: every record you may read, released in batches of up to 500
    /// keys a call, decrypted here and written as one FHIR Bundle.
    #[command(after_help = "Example:\n  medkey provider chart --patient 0x7099… --out chart.json")]
    Chart(ChartArgs),
    /// Open a break-glass grant to a patient who opted in (4 hours, reason hash on chain).
    Emergency(super::emergency::OpenArgs),
    /// Ask a patient for access; the patient approves with a grant of their own, or declines.
    Request(super::requests::RequestArgs),
    /// Add a record to a patient's file under a write grant (encrypted here for the patient and you).
    Add(AddArgs),
    /// Apply to be registered as a provider and listed in the directory (a profile you sign).
    Apply(super::provider_apply::ApplyArgs),
    /// Your applications and the registrar's answers.
    Application(super::provider_apply::StatusArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey provider add --patient 0x7099… lab-result.json")]
struct AddArgs {
    #[arg(long)]
    patient: Address,
    /// A FHIR R4 resource or Bundle.
    file: std::path::PathBuf,
    /// The category for every resource (default: inferred).
    #[arg(long)]
    category: Option<medkey_protocol::Category>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    validate: crate::fhir_validation::ValidateArgs,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  medkey provider patients\n  medkey provider patients --names --all")]
struct PatientsArgs {
    /// Include expired and revoked grants.
    #[arg(long)]
    all: bool,
    /// Show each patient's name, from the Patient record she shared with you. Opening it is a key
    /// release like any other: it is logged, and she sees it in her activity.
    #[arg(long)]
    names: bool,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct RecordsArgs {
    #[arg(long)]
    patient: Address,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct ChartArgs {
    #[arg(long)]
    patient: Address,
    /// Where to write the FHIR R4 `collection` Bundle (default: print it).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Args)]
struct FetchArgs {
    record: String,
    /// Write the FHIR JSON here instead of printing it.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Also fetch and decrypt the record's attachment into this file.
    #[arg(long)]
    attachment_out: Option<std::path::PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub async fn run(args: ProviderArgs) -> anyhow::Result<()> {
    match args.command {
        ProviderCommand::Patients(args) => patients(args).await,
        ProviderCommand::Records(args) => list_records(args).await,
        ProviderCommand::Fetch(args) => fetch(args).await,
        ProviderCommand::Chart(args) => chart(args).await,
        ProviderCommand::Emergency(args) => super::emergency::open(args).await,
        ProviderCommand::Request(args) => super::requests::request(args).await,
        ProviderCommand::Add(args) => add(args).await,
        ProviderCommand::Apply(args) => super::provider_apply::apply(args).await,
        ProviderCommand::Application(args) => super::provider_apply::status(args).await,
    }
}

async fn patients(args: PatientsArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let grants: Vec<GrantView> = record_store::grant_views(&session, "/v1/grants?as=provider")
        .await?
        .into_iter()
        .filter(|g| args.all || g.state == GrantState::Live)
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&grants)?);
        return Ok(());
    }
    let names = if args.names { patient_names(&session, &grants).await } else { Default::default() };
    let rows: Vec<Vec<String>> = grants
        .iter()
        .map(|g| {
            vec![
                crate::directory_check::labelled(&names, g.grant.patient),
                g.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
                rfc3339_ms(g.grant.expires_at * 1_000),
                if g.grant.write { "write" } else { "read" }.to_owned(),
                if g.grant.emergency { "emergency" } else { "" }.to_owned(),
                g.state.as_str().to_owned(),
                table::short_hex(&g.grant.grant_id.to_string()),
            ]
        })
        .collect();
    table::print(&["PATIENT", "CATEGORIES", "UNTIL (UTC)", "ACCESS", "KIND", "STATE", "GRANT"], &rows);
    Ok(())
}

/// Each patient's name from the Patient record she wrote herself and shared with this provider,
/// where there is one it may open now (a Patient record a provider wrote for her never names
/// her). A patient whose record cannot be opened is shown by address.
async fn patient_names(session: &Session, grants: &[GrantView]) -> std::collections::HashMap<Address, String> {
    let mut names = std::collections::HashMap::new();
    let patients: std::collections::BTreeSet<Address> = grants.iter().map(|g| g.grant.patient).collect();
    for patient in patients {
        let Ok(records) = session.get_as::<Vec<RecordView>>(&format!("/v1/patients/{patient}/records")).await else {
            continue;
        };
        let own = |r: &&RecordView| r.resource_type == "Patient" && r.created_by == r.owner;
        let Some(details) = records.iter().find(own) else { continue };
        let Ok(released) = session.get_as::<KeyRelease>(&format!("/v1/records/{}/key", details.record_id)).await else {
            continue;
        };
        let Ok((_, _, plaintext)) = sealing::open(&released, &session.wallet.encryption) else { continue };
        if let Some(name) = serde_json::from_slice::<Value>(&plaintext).ok().as_ref().and_then(patient_name) {
            names.insert(patient, name);
        }
    }
    names
}

/// A FHIR Patient's name as people write it: its official (or first) name's text, or given
/// names and family name.
fn patient_name(resource: &Value) -> Option<String> {
    let names = resource["name"].as_array()?;
    let name = names.iter().find(|n| n["use"] == "official").or_else(|| names.first())?;
    if let Some(text) = name["text"].as_str() {
        return Some(text.to_owned());
    }
    let mut parts: Vec<&str> = name["given"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    parts.extend(name["family"].as_str());
    (!parts.is_empty()).then(|| parts.join(" "))
}

async fn add(args: AddArgs) -> anyhow::Result<()> {
    let planned = record_store::plan(record_store::read_resources(&args.file, args.validate)?, args.category, None)?;
    let session = Session::open(&args.connect).await?;
    let added = record_store::store_all(&session, planned, args.patient).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&added)?);
    } else {
        record_store::print_records(&added);
    }
    Ok(())
}

async fn list_records(args: RecordsArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let records: Vec<RecordView> = session.get_as(&format!("/v1/patients/{}/records", args.patient)).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&records)?);
    } else {
        record_store::print_records(&records);
    }
    Ok(())
}

/// Keys asked for in one call (the vault's maximum).
const KEYS_PER_CALL: usize = 500;

async fn chart(args: ChartArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let listed: Vec<RecordView> = session.get_as(&format!("/v1/patients/{}/records", args.patient)).await?;
    let ids: Vec<String> = listed.into_iter().map(|r| r.record_id).collect();
    let mut progress = crate::progress::Progress::new(ids.len() as u64, "opening");
    let (mut entries, mut failures) = (Vec::new(), Vec::new());
    for chunk in ids.chunks(KEYS_PER_CALL) {
        let path = format!("/v1/patients/{}/keys", args.patient);
        let batch: KeyBatch = session.call(Method::POST, &path, &KeyBatchBody { record_ids: chunk.to_vec() }).await?;
        for released in &batch.released {
            let id = released.record.record_id.clone();
            let opened = sealing::open(released, &session.wallet.encryption)
                .and_then(|(_, _, plain)| Ok(serde_json::from_slice::<Value>(&plain)?));
            match opened {
                Ok(resource) => entries.push(json!({"resource": resource})),
                Err(err) => failures.push((id.clone(), format!("{err:#}"))),
            }
            progress.item(&id);
        }
        for refused in batch.refused {
            let id = refused.record_id;
            failures.push((id.clone(), refused.error.message));
            progress.item(&id);
        }
    }
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    let text = serde_json::to_string_pretty(&bundle)?;
    match &args.out {
        Some(path) => record_store::write_private(path, text.as_bytes())?,
        None => println!("{text}"),
    }
    eprintln!("{} of {} records opened", entries.len(), ids.len());
    for (id, reason) in &failures {
        eprintln!("  not opened: {id}: {reason}");
    }
    if !failures.is_empty() {
        anyhow::bail!("{} records could not be opened (listed above)", failures.len());
    }
    Ok(())
}

async fn fetch(args: FetchArgs) -> anyhow::Result<()> {
    let id = record_id(&args.record)?;
    let session = Session::open(&args.connect).await?;
    let released: KeyRelease = session.get_as(&format!("/v1/records/{id}/key")).await?;
    let (binding, key, plaintext) = sealing::open(&released, &session.wallet.encryption)?;
    let resource: serde_json::Value = serde_json::from_slice(&plaintext).context("the record is not JSON")?;
    if resource["resourceType"] != binding.resource_type.as_str() {
        anyhow::bail!("the decrypted record is not the {} its metadata names", binding.resource_type);
    }
    eprintln!(
        "released under grant {} for {}{}",
        released.grant_id,
        released.purpose.map_or("?", |p| p.as_str()),
        if released.emergency { " (emergency access)" } else { "" }
    );
    let opened = Opened { id: &id, binding: &binding, key: &key, plaintext: &plaintext };
    write_opened(&session, &opened, args.out.as_deref(), args.attachment_out.as_deref()).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::patient_name;

    #[test]
    fn a_patients_name_as_people_write_it() {
        let official = json!({"resourceType": "Patient", "name": [
            {"use": "nickname", "given": ["Majo"]},
            {"use": "official", "given": ["María", "José"], "family": "Núñez"}]});
        assert_eq!(patient_name(&official).as_deref(), Some("María José Núñez"));
        let text = json!({"resourceType": "Patient", "name": [{"text": "Ana Reyes"}]});
        assert_eq!(patient_name(&text).as_deref(), Some("Ana Reyes"));
        assert_eq!(patient_name(&json!({"resourceType": "Patient"})), None);
        assert_eq!(patient_name(&json!({"resourceType": "Patient", "name": [{}]})), None);
    }
}
