//! `medkey connect`: her providers' patient-access FHIR APIs (SMART on FHIR), from this machine.
//! `add` signs her in through a loopback redirect, pulls, shows what came and stores it; `sync`
//! brings only what changed, unattended (cron), from the sealed connection any of her devices
//! keeps; `list` and `remove` (which revokes the token at the provider). No relay: the pull runs
//! here, and the vault sees ciphertext and a sealed connection only.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use medkey_protocol::Category;
use medkey_protocol::api::{RecordContent, RecordView};
use medkey_protocol::envelope::origin::RecordOrigin;
use serde_json::{Value, json};

use crate::fhir_file;
use crate::record_store::{self, Planned};
use crate::sealing;
use crate::session::{ConnectArgs, Session};
use crate::smart::connection::{self, Kept, ProviderConnection};
use crate::smart::pull::{self, Pulled};
use crate::smart::tokens::ReconnectNeeded;
use crate::smart::{launch, server};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey connect add https://fhir.example-hospital.org/api/FHIR/R4\n  medkey connect list\n  \
                  medkey connect sync --all --json     # unattended, e.g. from cron\n  medkey connect remove 6f1c2b0e…"
)]
pub struct ConnectionsArgs {
    #[command(subcommand)]
    command: ConnectionsCommand,
    /// Print JSON (for scripts) instead of sentences.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Subcommand)]
enum ConnectionsCommand {
    /// Sign in at a provider (a browser window, back to this machine), pull your records, store them.
    #[command(after_help = "Example:\n  medkey connect add https://fhir.example-hospital.org/api/FHIR/R4")]
    Add(AddArgs),
    /// Your connected providers, when each last synced, and which need you to sign in again.
    #[command(after_help = "Example:\n  medkey connect list --json")]
    List,
    /// Bring what changed at your providers since the last sync (no questions: fit for cron).
    #[command(
        after_help = "Examples:\n  medkey connect sync --all\n  medkey connect sync 6f1c2b0e --json   # in a crontab: no questions asked"
    )]
    Sync(SyncArgs),
    /// Disconnect a provider: its token is revoked there, the connection deleted. Records stay.
    #[command(after_help = "Example:\n  medkey connect remove 6f1c2b0e")]
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
struct AddArgs {
    /// The provider's FHIR base URL (from its patient portal; https).
    fhir_base: String,
    /// The app's client id at that provider (registered there as a public client).
    #[arg(long, default_value = "medkey")]
    client_id: String,
    /// Do not try to open a browser; print the sign-in address only.
    #[arg(long)]
    no_browser: bool,
    /// Store what came without asking (otherwise a terminal asks; anything else needs --yes).
    #[arg(long)]
    yes: bool,
    /// Category for records whose kind does not tell one (practitioners, organisations, devices).
    #[arg(long, default_value = "documents")]
    default_category: Category,
}

#[derive(Debug, Args)]
struct SyncArgs {
    /// The connection to sync (its id, or the start of it); see `medkey connect list`.
    id: Option<String>,
    /// Sync every connection.
    #[arg(long, conflicts_with = "id")]
    all: bool,
    #[arg(long, default_value = "documents")]
    default_category: Category,
}

#[derive(Debug, Args)]
struct RemoveArgs {
    /// The connection to remove (its id, or the start of it).
    id: String,
}

pub async fn run(args: ConnectionsArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    match args.command {
        ConnectionsCommand::Add(add_args) => add(&session, add_args, args.json).await,
        ConnectionsCommand::List => list(&session, args.json).await,
        ConnectionsCommand::Sync(sync_args) => sync(&session, sync_args, args.json).await,
        ConnectionsCommand::Remove(remove_args) => remove(&session, remove_args, args.json).await,
    }
}

fn now() -> String {
    crate::dates::rfc3339_ms(crate::dates::now_ms())
}

async fn add(session: &Session, args: AddArgs, json: bool) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let smart = server::discover(&http, &args.fhir_base).await?;
    let pending = launch::start(&smart, &args.client_id).await?;
    eprintln!(
        "Sign in at your provider to let Medkey read your records. Open this address in a browser:\n\n  {}\n",
        pending.authorize_url
    );
    eprintln!("Waiting for the sign-in (up to {} minutes)…", launch::SIGN_IN_MINUTES);
    if !args.no_browser && std::io::stderr().is_terminal() {
        // Best effort: the address above works whether or not a browser opens.
        let _ = std::process::Command::new("xdg-open")
            .arg(&pending.authorize_url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    let smart_session = pending.finish().await?;
    // Kept at once (sealed), so a pull that stops halfway can be synced later from any device. A
    // provider connected before (say, one that asked her to reconnect) keeps its connection.
    let before =
        connection::list(session).await?.into_iter().find(|k| k.connection.server.fhir_base == smart.fhir_base);
    let kept = match before {
        Some(old) => {
            let mut again = ProviderConnection::from_session(
                &smart_session,
                old.connection.id.clone(),
                &old.connection.connected_at,
            );
            (again.cursor, again.synced_at) = (old.connection.cursor.clone(), old.connection.synced_at.clone());
            let token = again.refresh_token.clone();
            connection::keep(session, &again, Some(old.revision), |c| {
                c.refresh_token = token.clone();
                c.status = "ok".into();
            })
            .await?
        }
        None => {
            let fresh = ProviderConnection::from_session(&smart_session, connection::new_id()?, &now());
            connection::keep(session, &fresh, None, |_| {}).await?
        }
    };
    // What she has from this provider already is left out, or becomes a new version if it changed.
    let (mine, known) = records_from(session, &smart.fhir_base).await?;
    let since = kept.connection.cursor.clone().filter(|_| !known.is_empty());
    let pulled = pull_with_progress(smart_session, since.as_deref(), &known, &kept.connection.host()).await?;
    let kept = keep_rotated(session, kept, &pulled).await?;
    let counts = counts(&pulled, args.default_category);
    if !json {
        eprintln!("{}", what_came(&kept.connection.host(), &counts, &pulled));
    }
    if !args.yes && !pulled.resources.is_empty() {
        if !std::io::stdin().is_terminal() {
            bail!(
                "nothing stored: pass --yes to store what came without being asked (the connection is kept; `medkey connect sync` brings it all)"
            );
        }
        eprint!("Encrypt and store these {} records? [y/N] ", pulled.resources.len());
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!(
                "Nothing stored. The connection is kept: `medkey connect sync {}` brings them later.",
                kept.connection.id
            );
            return Ok(());
        }
    }
    let outcome = store(session, &pulled, &mine, args.default_category).await?;
    let kept = moved_on(session, kept, &pulled).await?;
    report(&kept.connection, &outcome, &pulled, json)
}

async fn pull_with_progress(
    smart_session: crate::smart::tokens::Session,
    since: Option<&str>,
    known: &HashMap<String, String>,
    host: &str,
) -> anyhow::Result<Pulled> {
    let interactive = std::io::stderr().is_terminal();
    let mut last = String::new();
    pull::pull(smart_session, since, known, |step, count| {
        if interactive || step != last {
            eprintln!("{host}: {step} ({count} records so far)");
            last = step.to_owned();
        }
    })
    .await
}

/// A refresh token the provider rotated during the pull, kept at once.
async fn keep_rotated(session: &Session, kept: Kept, pulled: &Pulled) -> anyhow::Result<Kept> {
    let rotated = pulled.session.refresh_token.clone();
    if rotated.is_none() || rotated == kept.connection.refresh_token {
        return Ok(kept);
    }
    let mut next = kept.connection.clone();
    next.refresh_token = rotated.clone();
    connection::keep(session, &next, Some(kept.revision), |c| c.refresh_token = rotated.clone()).await
}

/// After what a pull brought is stored: the cursor and the time move on.
async fn moved_on(session: &Session, kept: Kept, pulled: &Pulled) -> anyhow::Result<Kept> {
    let (synced_at, cursor) = (now(), pulled.cursor.clone());
    let mut next = kept.connection.clone();
    next.synced_at = Some(synced_at.clone());
    next.cursor = cursor.clone().or(next.cursor);
    connection::keep(session, &next, Some(kept.revision), |c| {
        c.synced_at = Some(synced_at.clone());
        if cursor.is_some() {
            c.cursor = cursor.clone();
        }
    })
    .await
}

fn category_of(resource: &Value, default: Category) -> Category {
    record_store::category_of(resource).unwrap_or(default)
}

fn counts(pulled: &Pulled, default: Category) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, resource) in &pulled.resources {
        *counts.entry(category_of(resource, default).to_string()).or_insert(0) += 1;
    }
    counts
}

fn what_came(host: &str, counts: &BTreeMap<String, usize>, pulled: &Pulled) -> String {
    let mut lines = vec![format!("From {host}: {} records", pulled.resources.len())];
    for (category, n) in counts {
        // The categories shared only when a grant names them (docs/consent-model.md).
        let sensitive = category.parse::<Category>().is_ok_and(|c| c.index() >= Category::MentalHealth.index());
        lines.push(format!(
            "  {category:<24} {n}{}",
            if sensitive { "  (sensitive: shared only if you name it)" } else { "" }
        ));
    }
    for (what, why) in &pulled.failures {
        lines.push(format!("  could not bring {what}: {why}"));
    }
    lines.join("\n")
}

struct Outcome {
    added: usize,
    updated: usize,
}

/// Stores what a pull brought: new resources as new records, one she has from this provider
/// (same server, type and id) as its record's next version; each with its source sealed as the
/// record's origin.
async fn store(
    session: &Session,
    pulled: &Pulled,
    mine: &HashMap<String, RecordView>,
    default: Category,
) -> anyhow::Result<Outcome> {
    if pulled.resources.is_empty() {
        return Ok(Outcome { added: 0, updated: 0 });
    }
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": pulled.resources.iter().map(|(_, r)| json!({"resource": r})).collect::<Vec<_>>(),
    });
    let entries = fhir_file::read_from(serde_json::to_vec(&bundle)?.as_slice())?;
    let (mut new, mut changed) = (Vec::new(), Vec::new());
    for mut entry in entries {
        let key = format!("{}/{}", entry.resource_type(), entry.parsed["id"].as_str().unwrap_or_default());
        let source = pulled.sources.get(&key).context("a pulled resource without its source")?;
        entry.origin = Some(RecordOrigin {
            bundles: Vec::new(),
            entry: None,
            source: Some(serde_json::value::to_raw_value(source)?),
        });
        match mine.get(&key) {
            Some(view) => changed.push((entry, view)),
            None => {
                let category = category_of(&entry.parsed, default);
                new.push(Planned { entry, category });
            }
        }
    }
    let added = record_store::store_all(session, new, session.address()).await?.len();
    let mut updated = 0;
    for (entry, view) in changed {
        record_store::store_version(session, view, entry).await?;
        updated += 1;
    }
    Ok(Outcome { added, updated })
}

fn report(connection: &ProviderConnection, outcome: &Outcome, pulled: &Pulled, json: bool) -> anyhow::Result<()> {
    let failures: Vec<Value> = pulled.failures.iter().map(|(what, why)| json!({"what": what, "why": why})).collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "connection": connection.id,
                "provider": connection.server.fhir_base,
                "added": outcome.added,
                "updated": outcome.updated,
                "unchanged": pulled.unchanged,
                "failures": failures,
            }))?
        );
    } else if outcome.added + outcome.updated == 0 {
        println!("Nothing new from {}: your records from it are up to date.", connection.host());
    } else {
        println!(
            "From {}: {} new records, {} changed there and kept as new versions, encrypted on this machine.",
            connection.host(),
            outcome.added,
            outcome.updated
        );
    }
    Ok(())
}

/// Her records from `server`, by `Type/id` there, with the SHA-256 each was pulled with.
async fn records_from(
    session: &Session,
    server: &str,
) -> anyhow::Result<(HashMap<String, RecordView>, HashMap<String, String>)> {
    let (mut views, mut hashes) = (HashMap::new(), HashMap::new());
    record_store::each_content(session, |content| {
        let Some(source) = source_of(&content, session).filter(|s| s["server"] == server) else { return };
        let (Some(kind), Some(id), Some(sha)) =
            (source["resourceType"].as_str(), source["id"].as_str(), source["sha256"].as_str())
        else {
            return;
        };
        let key = format!("{kind}/{id}");
        hashes.insert(key.clone(), sha.to_owned());
        views.insert(key, content.record);
    })
    .await?;
    Ok((views, hashes))
}

fn source_of(content: &RecordContent, session: &Session) -> Option<Value> {
    let origin = sealing::open_origin(content, &session.wallet.encryption).ok().flatten()?;
    serde_json::from_str(origin.source?.get()).ok()
}

fn pick<'a>(kept: &'a [Kept], id: &str) -> anyhow::Result<&'a Kept> {
    let matching: Vec<&Kept> = kept.iter().filter(|k| k.connection.id.starts_with(&id.to_lowercase())).collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => bail!("no connection {id}; `medkey connect list` shows yours"),
        _ => bail!("{id} matches {} connections; give more of its id", matching.len()),
    }
}

async fn list(session: &Session, json: bool) -> anyhow::Result<()> {
    let kept = connection::list(session).await?;
    if json {
        let rows: Vec<Value> = kept
            .iter()
            .map(|k| {
                json!({
                    "id": k.connection.id,
                    "provider": k.connection.server.fhir_base,
                    "connected_at": k.connection.connected_at,
                    "synced_at": k.connection.synced_at,
                    "needs_reconnect": k.connection.needs_reconnect(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if kept.is_empty() {
        println!("No providers connected. `medkey connect add <FHIR base URL>` connects one.");
    }
    for k in &kept {
        let state = if k.connection.needs_reconnect() {
            format!("reconnect needed: medkey connect add {}", k.connection.server.fhir_base)
        } else {
            match &k.connection.synced_at {
                Some(at) => format!("last synced {at}"),
                None => "nothing stored from it yet".into(),
            }
        };
        println!("{}  {}  {state}", k.connection.id, k.connection.host());
    }
    Ok(())
}

async fn sync(session: &Session, args: SyncArgs, json: bool) -> anyhow::Result<()> {
    let kept = connection::list(session).await?;
    let chosen: Vec<&Kept> = match (&args.id, args.all) {
        (Some(id), _) => vec![pick(&kept, id)?],
        (None, true) => kept.iter().collect(),
        (None, false) if kept.len() == 1 => kept.iter().collect(),
        (None, false) => bail!("you have {} connections: name one (medkey connect list) or pass --all", kept.len()),
    };
    let mut failed = 0;
    for k in chosen {
        if let Err(err) = sync_one(session, k, args.default_category, json).await {
            failed += 1;
            eprintln!("{}: {err:#}", k.connection.host());
        }
    }
    if failed > 0 {
        bail!("{failed} connection(s) did not sync; see above");
    }
    Ok(())
}

async fn sync_one(session: &Session, kept: &Kept, default: Category, json: bool) -> anyhow::Result<()> {
    let (mine, known) = records_from(session, &kept.connection.server.fhir_base).await?;
    // A cursor helps only when she holds what it follows (she may have erased them since).
    let since = kept.connection.cursor.as_deref().filter(|_| !known.is_empty());
    let pulled = match pull_with_progress(kept.connection.session(), since, &known, &kept.connection.host()).await {
        Ok(pulled) => pulled,
        Err(err) if err.downcast_ref::<ReconnectNeeded>().is_some() => {
            let mut refused = kept.connection.clone();
            refused.status = "reconnect".into();
            refused.refresh_token = None;
            connection::keep(session, &refused, Some(kept.revision), |c| c.status = "reconnect".into()).await?;
            return Err(err);
        }
        Err(err) => return Err(err),
    };
    let current =
        keep_rotated(session, Kept { connection: kept.connection.clone(), revision: kept.revision }, &pulled).await?;
    let outcome = store(session, &pulled, &mine, default).await?;
    let current = moved_on(session, current, &pulled).await?;
    report(&current.connection, &outcome, &pulled, json)
}

async fn remove(session: &Session, args: RemoveArgs, json: bool) -> anyhow::Result<()> {
    let kept = connection::list(session).await?;
    let k = pick(&kept, &args.id)?;
    let revoked = crate::smart::tokens::revoke(&k.connection.session()).await.unwrap_or_else(|err| {
        eprintln!("{}: {err:#}", k.connection.host());
        false
    });
    connection::delete(session, &k.connection.id).await?;
    if json {
        println!("{}", json!({"removed": k.connection.id, "revoked_at_provider": revoked}));
    } else if revoked {
        println!(
            "Disconnected from {}; it was told to forget Medkey's access. Your records from it stay.",
            k.connection.host()
        );
    } else {
        println!(
            "Disconnected from {}. It offers no way to withdraw Medkey's access from here: do that in its patient \
             portal. Your records from it stay.",
            k.connection.host()
        );
    }
    Ok(())
}
