//! Access requests: a provider asks (`medkey provider request`), the patient sees pending
//! requests (`medkey requests`) and approves, which makes a grant signed by the patient's own
//! wallet (the vault cannot grant), or declines.

use alloy::primitives::Address;
use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use medkey_protocol::api::{AccessRequestView, ApproveBody, RequestDraft};
use medkey_protocol::{Category, Purpose};
use serde_json::json;

use crate::grants::{self, GrantSpec};
use crate::session::{ConnectArgs, Session};
use crate::table;

/// Ask a patient for access (through the vault; the patient decides).
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  medkey provider request --patient 0x7099… --categories lab_results --purpose TREAT --for 30d --note \"follow-up of your blood tests\""
)]
pub struct RequestArgs {
    #[arg(long)]
    patient: Address,
    /// Comma-separated categories, e.g. lab_results,prescriptions.
    #[arg(long, value_delimiter = ',', required = true)]
    categories: Vec<Category>,
    #[arg(long, default_value = "TREAT")]
    purpose: Purpose,
    /// How long: e.g. 12h, 30d (1 hour to 365 days).
    #[arg(long = "for", default_value = "30d")]
    duration: String,
    /// A note for the patient (off chain, at most 500 characters).
    #[arg(long)]
    note: Option<String>,
    /// Also ask to add records to her file in those categories (a write grant).
    #[arg(long)]
    write: bool,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Access requests addressed to you (or sent by you): list, approve, decline.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey requests\n  medkey requests list --status pending\n  medkey requests approve 8f2c0b7e5d4a41e3b6c9a0f1e2d3c4b5\n  medkey requests decline 8f2c0b7e5d4a41e3b6c9a0f1e2d3c4b5"
)]
pub struct RequestsArgs {
    #[command(subcommand)]
    command: Option<RequestsCommand>,
    /// Only requests in this state: pending, approved, declined, expired.
    #[arg(long, global = true)]
    status: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Subcommand)]
enum RequestsCommand {
    /// List the requests (the same as `medkey requests` with no subcommand).
    #[command(after_help = "Example:\n  medkey requests list --status pending")]
    List,
    /// Grant what the request asks for (signed by your wallet), then mark it approved. A request
    /// to add records too is granted as asked unless you say --read-only.
    #[command(
        after_help = "Examples:\n  medkey requests approve 8f2c0b7e5d4a41e3b6c9a0f1e2d3c4b5\n  medkey requests approve 8f2c0b7e5d4a41e3b6c9a0f1e2d3c4b5 --read-only"
    )]
    Approve {
        id: String,
        /// Send the grant yourself instead of through the relayer.
        #[arg(long)]
        direct: bool,
        /// Let the provider read only, even if it asked to add records too.
        #[arg(long)]
        read_only: bool,
    },
    /// Decline the request.
    #[command(after_help = "Example:\n  medkey requests decline 8f2c0b7e5d4a41e3b6c9a0f1e2d3c4b5")]
    Decline { id: String },
}

pub async fn request(args: RequestArgs) -> anyhow::Result<()> {
    let categories = &args.categories;
    let duration_secs = parse_duration(&args.duration)?;
    let session = Session::open(&args.connect).await?;
    let body = RequestDraft {
        patient: args.patient.to_string(),
        categories: categories.iter().map(|c| c.as_str().to_owned()).collect(),
        purpose: args.purpose.to_string(),
        duration_secs: json!(duration_secs),
        write: args.write,
        note: args.note.clone(),
    };
    let made: AccessRequestView = session.call(Method::POST, "/v1/access-requests", &body).await?;
    if args.json {
        println!("{}", serde_json::to_string(&made)?);
    } else {
        println!("request {} sent to {} (pending)", made.id, args.patient);
    }
    Ok(())
}

pub async fn run(args: RequestsArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.connect).await?;
    match args.command {
        None | Some(RequestsCommand::List) => {
            let query = args.status.map(|s| format!("?status={s}")).unwrap_or_default();
            let list: Vec<AccessRequestView> = session.get_as(&format!("/v1/access-requests{query}")).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .into_iter()
                .map(|r| {
                    vec![
                        r.id,
                        r.provider,
                        r.categories.join(","),
                        if r.write { "read, add" } else { "read" }.to_owned(),
                        r.purpose,
                        format!("{}d", r.duration_secs / 86_400),
                        r.status,
                        r.note.unwrap_or_default(),
                    ]
                })
                .collect();
            table::print(&["REQUEST", "PROVIDER", "CATEGORIES", "ACCESS", "PURPOSE", "FOR", "STATUS", "NOTE"], &rows);
        }
        Some(RequestsCommand::Decline { id }) => {
            session.send("POST", &format!("/v1/access-requests/{}/decline", request_id(&id)?), None).await?;
            if args.json {
                println!("{}", json!({"request_id": id, "status": "declined"}));
            } else {
                println!("declined {id}");
            }
        }
        Some(RequestsCommand::Approve { id, direct, read_only }) => {
            let id = request_id(&id)?;
            let list: Vec<AccessRequestView> = session.get_as("/v1/access-requests?status=pending").await?;
            let found = list
                .into_iter()
                .find(|r| r.id == id)
                .with_context(|| format!("no pending request {id} addressed to you"))?;
            if found.patient.parse::<Address>().ok() != Some(session.address()) {
                bail!("request {id} is not addressed to you");
            }
            let categories = found.categories.iter().map(|c| c.parse()).collect::<Result<Vec<Category>, _>>()?;
            let duration = found.duration_secs;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
            let spec = GrantSpec {
                provider: found.provider.parse()?,
                categories,
                not_before: None,
                expires_at: u32::try_from(now + duration)?,
                purpose: found.purpose.parse()?,
                write: found.write && !read_only,
                record_ids: Vec::new(),
                direct,
            };
            let granted = grants::make_grant(&session, &spec).await?;
            let body = ApproveBody { grant_id: granted.grant_id.to_string() };
            session
                .call::<AccessRequestView>(Method::POST, &format!("/v1/access-requests/{id}/approve"), &body)
                .await?;
            if args.json {
                let approved = json!({"request_id": id, "status": "approved", "grant_id": granted.grant_id,
                    "tx_hash": granted.tx_hash, "records_shared": granted.shared});
                println!("{approved}");
            } else {
                let access = if spec.write { "read and add records" } else { "read" };
                println!("approved {id}: grant {} to {access} ({} record(s) shared)", granted.grant_id, granted.shared);
            }
        }
    }
    Ok(())
}

fn request_id(text: &str) -> anyhow::Result<String> {
    let hex = text.trim().replace('-', "").to_ascii_lowercase();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("'{text}' is not a request id (32 hex digits)");
    }
    Ok(hex)
}

/// `12h`, `30d`, `2w` or plain seconds.
fn parse_duration(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: u64 = number.parse().with_context(|| format!("'{text}' is not a duration like 12h or 30d"))?;
    let unit = match unit {
        "" | "s" => 1,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("'{text}' is not a duration like 12h or 30d"),
    };
    Ok(number * unit)
}
