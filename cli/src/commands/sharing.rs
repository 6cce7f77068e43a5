//! The patient's consent: `grant`, `revoke`, `grants`.
//!
//! A grant is signed by the patient's own key: by default as EIP-712 typed data that the vault's
//! relayer submits (no gas), or as a transaction (`--direct`). The vault drafts the typed data,
//! but this client checks every field against what the patient asked for and signs the digest
//! it computes itself, so a vault cannot get a different grant signed. Once the chain has the
//! grant, the client wraps the data keys of the covered records for the provider, to the
//! provider's key as registered on chain.

use alloy::primitives::{Address, B256};
use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use clap::Args;
use medkey_protocol::api::{GrantView, RevokeDraft, Signable};
use medkey_protocol::{Category, Purpose, eip712};
use serde_json::json;

use crate::dates::{DayEnd, parse_unix, rfc3339_ms};
use crate::grants::{GrantSpec, make_grant, relay};
use crate::record_store::{self, record_id};
use crate::session::{ConnectArgs, Session};
use crate::table;

/// Give a provider access to categories of your records (optionally only named records).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey grant --provider 0x90F7… --categories lab_results,prescriptions --until 2026-12-31 --purpose TREAT\n  medkey grant --provider 0x90F7… --categories imaging --until 2026-12-31 --records 8f14e45f… --direct"
)]
pub struct GrantArgs {
    /// The provider's address (registered on chain).
    #[arg(long)]
    provider: Address,
    /// Comma-separated categories, e.g. lab_results,prescriptions.
    #[arg(long, value_delimiter = ',', required = true)]
    categories: Vec<Category>,
    /// Last day (YYYY-MM-DD, through its end, UTC) or instant (RFC 3339) of access.
    #[arg(long)]
    until: String,
    /// First day or instant of access (default: now).
    #[arg(long)]
    from: Option<String>,
    /// HL7 purpose of use.
    #[arg(long, default_value = "TREAT")]
    purpose: Purpose,
    /// Let the provider add records to these categories too.
    #[arg(long)]
    write: bool,
    /// Only these records (comma-separated ids), committed on chain as a Merkle root.
    #[arg(long)]
    records: Option<String>,
    /// Send the transaction from your own account (pays gas) instead of through the relayer.
    #[arg(long)]
    direct: bool,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Revoke a grant: the provider is refused from the next block on.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey revoke 0x3c1d6e2f…")]
pub struct RevokeArgs {
    /// The grant's id: in full, or as `medkey grants` shows it (`0x3c44cddd…0618`).
    grant: String,
    /// Send the transaction yourself instead of through the relayer.
    #[arg(long)]
    direct: bool,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Your grants (live, pending, expired, revoked) as the vault's mirror and the chain see them.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey grants --json")]
pub struct GrantsArgs {
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub async fn grant(args: GrantArgs) -> anyhow::Result<()> {
    let categories = args.categories.clone();
    let expires_at = u32::try_from(parse_unix(&args.until, DayEnd::End)?).context("--until is too far away")?;
    let not_before = args.from.as_deref().map(|f| parse_unix(f, DayEnd::Start)).transpose()?;
    let not_before = not_before.map(u32::try_from).transpose().context("--from is too far away")?;
    let record_ids: Vec<String> = match &args.records {
        Some(list) => list.split(',').filter(|s| !s.trim().is_empty()).map(record_id).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let spec = GrantSpec {
        provider: args.provider,
        categories,
        not_before,
        expires_at,
        purpose: args.purpose,
        write: args.write,
        record_ids,
        direct: args.direct,
    };
    let session = Session::open(&args.connect).await?;
    if spec.write {
        // The provider will wrap what it writes to this key; publishing it again is harmless.
        session.publish_encryption_key().await?;
    }
    let granted = make_grant(&session, &spec).await?;
    if args.json {
        println!(
            "{}",
            json!({"grant_id": granted.grant_id, "tx_hash": granted.tx_hash, "records_shared": granted.shared})
        );
    } else {
        println!("grant     {}", granted.grant_id);
        println!("provider  {}", args.provider);
        println!("access    {} until {}", Category::names(&args.categories), rfc3339_ms(u64::from(expires_at) * 1_000));
        println!("shared    {} record(s) (keys wrapped on this machine for the provider)", granted.shared);
    }
    Ok(())
}

pub async fn revoke(args: RevokeArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    let grant = match args.grant.trim().parse::<B256>() {
        Ok(id) => id,
        Err(_) => {
            let mine: Vec<B256> = record_store::grant_views(&session, "/v1/grants")
                .await?
                .into_iter()
                .map(|g| g.grant.grant_id)
                .collect();
            resolve_grant_id(&args.grant, &mine)?
        }
    };
    let args = ResolvedRevoke { grant, direct: args.direct, json: args.json };
    let tx_hash = if args.direct {
        let receipt = session
            .registry()
            .revoke(args.grant)
            .send()
            .await
            .map_err(|err| anyhow::anyhow!("the registry refused the revocation: {err}"))?
            .get_receipt()
            .await?;
        receipt.transaction_hash
    } else {
        let body = RevokeDraft { grant_id: args.grant, valid_for_s: None };
        let draft: Signable = session.call(Method::POST, "/v1/revocations/typed-data", &body).await?;
        let message: eip712::Revoke = serde_json::from_value(draft.typed_data.message.clone())
            .context("the vault's typed data is not a Revoke")?;
        if message.patient != session.address() || message.grantId != args.grant {
            bail!("the vault drafted a different revocation than the one asked for; nothing was signed");
        }
        relay(&session, &message).await?.tx_hash
    };
    if args.json {
        println!("{}", json!({"grant_id": args.grant, "tx_hash": tx_hash}));
    } else {
        println!("revoked {} (tx {tx_hash}); the vault refuses new key releases from the next block", args.grant);
    }
    Ok(())
}

/// A grant as the vault's mirror has it, with the chain's own `isLive` beside it.
#[derive(serde::Serialize)]
struct GrantWithChain {
    #[serde(flatten)]
    view: GrantView,
    chain_live: bool,
}

struct ResolvedRevoke {
    grant: B256,
    direct: bool,
    json: bool,
}

/// The one grant of `mine` that `text` names: a full id, or the short form `medkey grants`
/// prints (`0x` + first 8 hex digits + `…` + last 4), or a prefix of at least 8 hex digits.
pub fn resolve_grant_id(text: &str, mine: &[B256]) -> anyhow::Result<B256> {
    let text = text.trim().to_ascii_lowercase();
    let body = text.strip_prefix("0x").unwrap_or(&text);
    let (head, tail) = match body.split_once(['…', '.']) {
        Some((head, tail)) => (head, tail.trim_start_matches('.')),
        None => (body, ""),
    };
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    if head.len() < 8 || !hex(head) || !hex(tail) {
        bail!(
            "'{text}' is not a grant id: give the full id (0x and 64 hex digits) or the short form \
             `medkey grants` shows (e.g. 0x3c44cddd…0618)"
        );
    }
    let matches: Vec<&B256> = mine
        .iter()
        .filter(|id| {
            let full = alloy::hex::encode(id.as_slice());
            full.starts_with(head) && full.ends_with(tail)
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(**one),
        [] => bail!("none of your grants is '{text}' (see `medkey grants`)"),
        several => bail!(
            "'{text}' names {} of your grants; give more of the id: {}",
            several.len(),
            several.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

pub async fn grants(args: GrantsArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    // The chain's own answer next to the mirror's: they differ only for the block or two the
    // mirror trails by, or when the vault's mirror is wrong.
    let mut grants = Vec::new();
    for view in record_store::grant_views(&session, "/v1/grants").await? {
        let chain_live = session.registry().isLive(view.grant.grant_id).call().await.context("asking the chain")?;
        grants.push(GrantWithChain { view, chain_live });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&grants)?);
        return Ok(());
    }
    let names = session.names(grants.iter().map(|g| g.view.grant.provider)).await;
    let rows: Vec<Vec<String>> = grants
        .iter()
        .map(|g| {
            let grant = &g.view.grant;
            vec![
                table::short_hex(&grant.grant_id.to_string()),
                crate::directory_check::labelled(&names, grant.provider),
                g.view.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
                Purpose::from_index(grant.purpose).map_or("?".into(), |p| p.to_string()),
                rfc3339_ms(grant.expires_at * 1_000),
                if grant.write { "write" } else { "read" }.to_owned(),
                g.view.state.as_str().to_owned(),
                if g.chain_live { "live" } else { "not live" }.to_owned(),
            ]
        })
        .collect();
    table::print(&["GRANT", "PROVIDER", "CATEGORIES", "PURPOSE", "UNTIL (UTC)", "ACCESS", "STATE", "CHAIN"], &rows);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_named_by_its_full_id_its_short_form_or_a_prefix() {
        let a: B256 = "0x3c44cddd6a900fa2b585dd299e03d12fa4293bc0a1b2c3d4e5f60718293a0618".parse().unwrap();
        let b: B256 = "0x3c44cddd00000000000000000000000000000000000000000000000000009999".parse().unwrap();
        let mine = [a, b];
        assert_eq!(resolve_grant_id(&crate::table::short_hex(&a.to_string()), &mine).unwrap(), a);
        assert_eq!(resolve_grant_id("0x3c44cddd6a90", &mine).unwrap(), a);
        assert_eq!(resolve_grant_id("0x3C44CDDD...0618", &mine).unwrap(), a, "ASCII dots and any case");
        let ambiguous = resolve_grant_id("0x3c44cddd", &mine).unwrap_err().to_string();
        assert!(ambiguous.contains("names 2 of your grants"), "{ambiguous}");
        assert!(resolve_grant_id("0x1234", &mine).unwrap_err().to_string().contains("not a grant id"));
        assert!(resolve_grant_id("0xdeadbeef…0000", &mine).unwrap_err().to_string().contains("none of your grants"));
    }
}
