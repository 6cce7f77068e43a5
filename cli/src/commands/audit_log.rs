//! `medkey audit log`: who accessed my records, when, under which grant and for what purpose,
//! as a table or as FHIR R4 `AuditEvent` resources. Every entry shown is first checked to be in
//! the vault's signed tree (`medkey audit verify` does the full set of checks).

use alloy::primitives::Address;
use clap::Args;
use medkey_protocol::Purpose;
use medkey_protocol::audit::AuditEntry;
use serde_json::{Value, json};

use crate::audit_proofs::{all_proven_entries, parse_key};
use crate::dates::{DayEnd, parse_unix, rfc3339_ms};
use crate::session::{ConnectArgs, Session};
use crate::table;

/// Show your access history: who, when, which record, under which grant, purpose, outcome.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  MEDKEY_PRIVATE_KEY=0x… medkey audit log\n  MEDKEY_PRIVATE_KEY=0x… medkey audit log --provider 0x90F7… --fhir > audit-events.json"
)]
pub struct LogArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Only what this provider (or any address) did.
    #[arg(long)]
    provider: Option<Address>,
    /// Only entries about this record (its id, 32 hex digits).
    #[arg(long)]
    record: Option<String>,
    /// Only entries from this time on (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only entries up to this time (YYYY-MM-DD: through that day; or RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Print JSON entries instead of a table.
    #[arg(long, conflicts_with = "fhir")]
    json: bool,
    /// Print a FHIR R4 Bundle of AuditEvent resources.
    #[arg(long)]
    fhir: bool,
}

pub async fn run(args: LogArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let (vault, token, chain_id) = (&session.vault, &session.token, session.chain_id);
    let operator = parse_key(&vault.operator_key().await?.public_key)?;
    let head = vault.tree_head().await?;
    head.verify(&operator).map_err(|e| anyhow::anyhow!("FAIL  tree head signature: {e}"))?;
    let entries: Vec<AuditEntry> = all_proven_entries(vault, token, &operator, &head, &filter_query(&args)?)
        .await?
        .into_iter()
        .map(|(_, entry)| entry)
        .collect();

    if args.fhir {
        let bundle = json!({
            "resourceType": "Bundle",
            "type": "collection",
            "entry": entries.iter().map(|e| json!({"resource": audit_event(chain_id, e)})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&bundle)?);
    } else if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        let names = session.names(entries.iter().map(|e| e.actor)).await;
        print_table(&entries, &names);
        eprintln!("{} entries, each checked to be in the vault's signed log", entries.len());
    }
    Ok(())
}

/// The vault filters by actor, record and time; this builds its query string.
fn filter_query(args: &LogArgs) -> anyhow::Result<String> {
    let mut query = String::new();
    if let Some(provider) = args.provider {
        query += &format!("&actor={provider}");
    }
    if let Some(record) = &args.record {
        query += &format!("&record={}", crate::record_store::record_id(record)?);
    }
    if let Some(since) = &args.since {
        query += &format!("&since_ms={}", parse_unix(since, DayEnd::Start)? * 1_000);
    }
    if let Some(until) = &args.until {
        query += &format!("&until_ms={}", (parse_unix(until, DayEnd::End)? + 1) * 1_000);
    }
    Ok(query)
}

fn print_table(entries: &[AuditEntry], names: &std::collections::HashMap<alloy::primitives::Address, String>) {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                rfc3339_ms(e.at_ms),
                crate::directory_check::labelled(names, e.actor),
                e.kind.clone(),
                e.record_id.map_or("-".into(), alloy::hex::encode),
                e.grant_id.map_or("-".into(), |g| table::short_hex(&g.to_string())),
                e.purpose.and_then(Purpose::from_index).map_or("-".into(), |p| p.to_string()),
                e.outcome.clone(),
            ]
        })
        .collect();
    table::print(&["WHEN (UTC)", "WHO", "EVENT", "RECORD", "GRANT", "PURPOSE", "OUTCOME"], &rows);
}

/// An entry as an R4 `AuditEvent`: the actor as a `did:pkh` agent, the record and grant as
/// entities, the purpose as its HL7 ActReason code, a denial as outcome 4 (minor failure).
fn audit_event(chain_id: u64, e: &AuditEntry) -> Value {
    let did = |a: Address| format!("did:pkh:eip155:{chain_id}:{a}");
    let action = match e.kind.as_str() {
        "record_created" | "attachment_stored" => "C",
        "record_updated" | "keys_added" => "U",
        "record_erased" => "D",
        "grant_relayed" | "revoke_relayed" => "E",
        _ => "R",
    };
    let mut entities = Vec::new();
    if let Some(id) = e.record_id {
        entities
            .push(json!({"what": {"identifier": {"system": "urn:medkey:record", "value": alloy::hex::encode(id)}}}));
    }
    if let Some(grant) = e.grant_id {
        entities.push(json!({"what": {"identifier": {"system": format!("urn:medkey:grant:{chain_id}"), "value": grant.to_string()}}}));
    }
    let mut event = json!({
        "resourceType": "AuditEvent",
        "type": {"system": "urn:medkey:audit-event", "code": e.kind},
        "action": action,
        "recorded": rfc3339_ms(e.at_ms),
        "outcome": if e.outcome == "ok" { "0" } else { "4" },
        "outcomeDesc": e.outcome,
        "agent": [{"who": {"identifier": {"system": "urn:ietf:rfc:3986", "value": did(e.actor)}}, "requestor": true}],
        "source": {"observer": {"display": "Medkey vault"}},
    });
    if let Some(purpose) = e.purpose.and_then(Purpose::from_index) {
        event["purposeOfEvent"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": purpose.as_str()}]}]);
    }
    if let Some(patient) = e.patient {
        event["entity"] = json!(entities);
        event["entity"].as_array_mut().expect("an array").push(json!({"what": {"identifier": {"system": "urn:ietf:rfc:3986", "value": did(patient)}}, "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}}));
    } else if !entities.is_empty() {
        event["entity"] = json!(entities);
    }
    event
}
