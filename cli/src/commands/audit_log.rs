//! `medkey audit log`: who accessed my records, when, under which grant and for what purpose,
//! as a table or as FHIR R4 `AuditEvent` resources. Every entry shown is first checked to be in
//! the vault's signed tree (`medkey audit verify` does the full set of checks).

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::Args;
use medkey_protocol::Purpose;
use medkey_protocol::audit::{AuditEntry, SignedTreeHead};
use serde_json::{Value, json};

use super::audit::{parse_key, proven_entries};
use crate::vault_client::VaultClient;

/// Show your access history: who, when, which record, under which grant, purpose, outcome.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  MEDKEY_PRIVATE_KEY=0x… medkey audit log\n  MEDKEY_PRIVATE_KEY=0x… medkey audit log --provider 0x90F7… --fhir > audit-events.json"
)]
pub struct LogArgs {
    /// The vault's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    vault: String,
    /// The account whose history to show (its key signs you in).
    #[arg(long, env = "MEDKEY_PRIVATE_KEY", hide_env_values = true)]
    private_key: String,
    /// The SIWE domain the vault expects (default: the vault URL's host and port).
    #[arg(long)]
    siwe_domain: Option<String>,
    /// Only what this provider (or any address) did.
    #[arg(long)]
    provider: Option<Address>,
    /// Only entries about this record (its id, 32 hex digits).
    #[arg(long)]
    record: Option<String>,
    /// Print JSON entries instead of a table.
    #[arg(long, conflicts_with = "fhir")]
    json: bool,
    /// Print a FHIR R4 Bundle of AuditEvent resources.
    #[arg(long)]
    fhir: bool,
}

pub async fn run(args: LogArgs) -> anyhow::Result<()> {
    let vault = VaultClient::new(&args.vault);
    let published = vault.get("/.well-known/medkey-audit-key", None).await?;
    let chain_id = published["chain_id"].as_u64().context("the vault's key document has no chain_id")?;
    let operator = parse_key(published["public_key"].as_str().context("the vault publishes no key")?)?;
    let signer: PrivateKeySigner =
        args.private_key.trim().parse().context("MEDKEY_PRIVATE_KEY is not a valid hex private key")?;
    let token = vault.login(&signer, chain_id, args.siwe_domain.as_deref()).await?;
    let record = args.record.as_deref().map(|r| r.trim_start_matches("0x").to_ascii_lowercase());

    let mut entries = Vec::new();
    let mut from = 0;
    loop {
        let body = vault.get(&format!("/v1/audit/entries?from={from}&limit=1000"), Some(&token)).await?;
        let head: SignedTreeHead = serde_json::from_value(body["tree_head"].clone())?;
        head.verify(&operator).map_err(|e| anyhow::anyhow!("FAIL  tree head signature: {e}"))?;
        let page = proven_entries(&head, &body)?;
        let Some(last) = page.last().map(|(index, _)| *index) else { break };
        let full = page.len() == 1000;
        entries.extend(page.into_iter().map(|(_, entry)| entry));
        if !full {
            break;
        }
        from = last + 1;
    }
    entries.retain(|e| args.provider.is_none_or(|p| e.actor == p));
    entries.retain(|e| record.as_ref().is_none_or(|r| e.record_id.is_some_and(|id| alloy::hex::encode(id) == *r)));

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
        print_table(&entries);
        eprintln!("{} entries, each checked to be in the vault's signed log", entries.len());
    }
    Ok(())
}

fn when(at_ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp((at_ms / 1_000) as i64)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| at_ms.to_string())
}

fn print_table(entries: &[AuditEntry]) {
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            [
                when(e.at_ms),
                e.actor.to_string(),
                e.kind.clone(),
                e.record_id.map_or("-".into(), alloy::hex::encode),
                e.grant_id.map_or("-".into(), |g| {
                    let hex = g.to_string();
                    format!("{}…{}", &hex[..10], &hex[hex.len() - 4..])
                }),
                e.purpose.and_then(Purpose::from_index).map_or("-".into(), |p| p.to_string()),
                e.outcome.clone(),
            ]
        })
        .collect();
    let header = ["WHEN (UTC)", "WHO", "EVENT", "RECORD", "GRANT", "PURPOSE", "OUTCOME"];
    let widths: Vec<usize> =
        (0..7).map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0)).collect();
    let line = |cells: [&str; 7]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5], &row[6]]);
    }
}

/// An entry as an R4 `AuditEvent`: the actor as a `did:pkh` agent, the record and grant as
/// entities, the purpose as its HL7 ActReason code, a denial as outcome 4 (minor failure).
fn audit_event(chain_id: u64, e: &AuditEntry) -> Value {
    let did = |a: Address| format!("did:pkh:eip155:{chain_id}:{a}");
    let action = match e.kind.as_str() {
        "record_created" | "attachment_stored" => "C",
        "record_updated" => "U",
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
        "recorded": when(e.at_ms),
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
