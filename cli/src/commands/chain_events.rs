//! `medkey chain events`: the registry's events read straight from the chain, as a block
//! explorer shows them: block, transaction, time, event name and decoded fields. No indexer, no
//! vault: what the chain says, for anyone to check against either.
//!
//! Logs are read with `eth_getLogs` in ranges of `--chunk-size` blocks (halved when the node
//! refuses a range as too large). `--patient`, `--provider` and `--grant` become topic filters
//! wherever the event indexes that field (IConsentRegistry.sol: every grant event indexes grant
//! id, patient and provider; provider events index the provider; NonceIncremented and
//! EmergencyAccessConfigured index the patient); events without the field are left out. Every
//! decoded event is checked against the filters again, so what is listed never depends on the
//! node honouring the topics.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::time::Instant;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::{SolEvent, SolEventInterface};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use medkey_protocol::ConsentRegistry::{self, ConsentRegistryEvents};
use medkey_protocol::{Category, Purpose};
use serde_json::{Value, json};

use crate::dates::rfc3339_ms;
use crate::registry::{Registry, RegistryArgs, role_name};

/// Read the ConsentRegistry straight from the chain.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  medkey chain events --patient 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --rpc-url http://127.0.0.1:8545"
)]
pub struct ChainArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(subcommand)]
    command: ChainCommand,
}

#[derive(Debug, Subcommand)]
enum ChainCommand {
    /// List the registry's events, like a block explorer: block, tx, time, event, decoded fields.
    Events(EventsArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    medkey chain events                                        # everything since the deployment\n  \
    medkey chain events --patient 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n  \
    medkey chain events --provider 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --from-block 1200000 --json\n  \
    medkey chain events --grant 0x90f79bf6eb2c4f870365e785982e1f101e93b906a1b2c3d4e5f60718293a4b5c --json\n\n\
    Filters combine (all must match); an event that does not carry a filtered field is left out.\n\
    --json prints one JSON object per line (block, time, tx_hash, log_index, event, fields).")]
struct EventsArgs {
    /// Only events about this patient (grants, revocations, emergency access, nonce bumps).
    #[arg(long)]
    patient: Option<Address>,
    /// Only events about this provider (its grants and its registration, suspension, keys).
    #[arg(long)]
    provider: Option<Address>,
    /// Only events about this grant id.
    #[arg(long)]
    grant: Option<B256>,
    /// First block to read (default: the deployment block from the deployment file, else 0).
    #[arg(long)]
    from_block: Option<u64>,
    /// Last block to read: a number or `latest`.
    #[arg(long, default_value = "latest", value_parser = parse_block_bound)]
    to_block: BlockBound,
    /// Blocks per eth_getLogs request (halved automatically when the node refuses a range).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    chunk_size: u64,
    /// One JSON object per event and line instead of a table.
    #[arg(long)]
    json: bool,
    /// Also show providers' names from this vault's directory, each checked against the chain
    /// (without it, the chain alone is read).
    #[arg(long, env = "MEDKEY_VAULT_URL")]
    vault: Option<String>,
}

#[derive(Clone, Copy, Debug)]
enum BlockBound {
    Latest,
    Number(u64),
}

fn parse_block_bound(text: &str) -> Result<BlockBound, String> {
    if text.eq_ignore_ascii_case("latest") {
        return Ok(BlockBound::Latest);
    }
    text.trim().parse().map(BlockBound::Number).map_err(|_| format!("'{text}' is not a block number or `latest`"))
}

pub async fn run(args: ChainArgs) -> anyhow::Result<()> {
    match args.command {
        ChainCommand::Events(events) => list_events(&args.registry, events).await,
    }
}

/// The filters, all of which an event must match.
#[derive(Clone, Copy, Debug, Default)]
struct Filters {
    patient: Option<Address>,
    provider: Option<Address>,
    grant: Option<B256>,
}

impl Filters {
    fn any(&self) -> bool {
        self.patient.is_some() || self.provider.is_some() || self.grant.is_some()
    }

    fn admit(&self, row: &Row) -> bool {
        fn same<T: PartialEq>(wanted: Option<T>, found: Option<T>) -> bool {
            wanted.is_none() || (found.is_some() && wanted == found)
        }
        same(self.patient, row.patient) && same(self.provider, row.provider) && same(self.grant, row.grant)
    }
}

/// Where an event indexes the fields the filters name (topic positions 1–3), per
/// IConsentRegistry.sol. An event that is not listed carries none of them.
struct Indexed {
    topic0: B256,
    grant: Option<usize>,
    patient: Option<usize>,
    provider: Option<usize>,
}

fn indexed_events() -> [Indexed; 10] {
    use ConsentRegistry as C;
    let grant_event = |topic0| Indexed { topic0, grant: Some(1), patient: Some(2), provider: Some(3) };
    let patient_event = |topic0| Indexed { topic0, grant: None, patient: Some(1), provider: None };
    let provider_event = |topic0| Indexed { topic0, grant: None, patient: None, provider: Some(1) };
    [
        grant_event(C::GrantCreated::SIGNATURE_HASH),
        grant_event(C::GrantRevoked::SIGNATURE_HASH),
        grant_event(C::EmergencyAccessOpened::SIGNATURE_HASH),
        patient_event(C::EmergencyAccessConfigured::SIGNATURE_HASH),
        patient_event(C::NonceIncremented::SIGNATURE_HASH),
        provider_event(C::ProviderRegistered::SIGNATURE_HASH),
        provider_event(C::ProviderProfileUpdated::SIGNATURE_HASH),
        provider_event(C::ProviderSuspended::SIGNATURE_HASH),
        provider_event(C::ProviderReinstated::SIGNATURE_HASH),
        provider_event(C::ProviderKeyRotated::SIGNATURE_HASH),
    ]
}

/// One `eth_getLogs` filter shape: the event signatures it admits and topics 1–3.
#[derive(Debug, Default, PartialEq)]
struct TopicQuery {
    signatures: Vec<B256>,
    topics: [Option<B256>; 3],
}

/// The topic filters that together fetch exactly the events the filters can match: events with
/// the same topic layout share one query. No filter: one query for every registry log.
fn topic_queries(filters: &Filters) -> Vec<TopicQuery> {
    if !filters.any() {
        return vec![TopicQuery::default()];
    }
    let mut queries: Vec<TopicQuery> = Vec::new();
    'events: for event in indexed_events() {
        let mut topics = [None; 3];
        let wanted = [
            (filters.grant, event.grant),
            (filters.patient.map(|a| a.into_word()), event.patient),
            (filters.provider.map(|a| a.into_word()), event.provider),
        ];
        for (value, position) in wanted {
            match (value, position) {
                (None, _) => {}
                (Some(_), None) => continue 'events,
                (Some(value), Some(position)) => topics[position - 1] = Some(value),
            }
        }
        match queries.iter_mut().find(|q| q.topics == topics) {
            Some(query) => query.signatures.push(event.topic0),
            None => queries.push(TopicQuery { signatures: vec![event.topic0], topics }),
        }
    }
    queries
}

/// A field of a decoded event: its JSON value and how the table shows it (`None`: JSON only).
struct Field {
    key: &'static str,
    json: Value,
    text: Option<String>,
}

/// One decoded event.
struct Row {
    block: u64,
    log_index: u64,
    tx_hash: Option<B256>,
    timestamp: Option<u64>,
    event: String,
    fields: Vec<Field>,
    grant: Option<B256>,
    patient: Option<Address>,
    provider: Option<Address>,
}

async fn list_events(registry_args: &RegistryArgs, args: EventsArgs) -> anyhow::Result<()> {
    let registry = registry_args.connect(None).await?;
    let head = registry.provider.get_block_number().await.context("reading the chain's head")?;
    let end = match args.to_block {
        BlockBound::Latest => head,
        BlockBound::Number(n) if n > head => bail!("--to-block {n} is past the chain's head (block {head})"),
        BlockBound::Number(n) => n,
    };
    let start = args.from_block.unwrap_or_else(|| registry.deployment.as_ref().map_or(0, |d| d.deploy_block));
    if start > end {
        bail!("--from-block {start} is after the last block to read ({end})");
    }
    let filters = Filters { patient: args.patient, provider: args.provider, grant: args.grant };
    let logs = fetch_logs(&registry, &topic_queries(&filters), start, end, args.chunk_size).await?;

    let mut rows: Vec<Row> = logs.iter().map(decode).filter(|row| filters.admit(row)).collect();
    let mut times: HashMap<u64, u64> = HashMap::new();
    for row in &mut rows {
        if let Some(at) = row.timestamp {
            times.insert(row.block, at);
            continue;
        }
        if let Some(at) = times.get(&row.block) {
            row.timestamp = Some(*at);
            continue;
        }
        let block = registry
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(row.block))
            .await
            .with_context(|| format!("reading block {}", row.block))?
            .with_context(|| format!("block {} vanished (a reorg?); run the command again", row.block))?;
        times.insert(row.block, block.header.timestamp);
        row.timestamp = Some(block.header.timestamp);
    }

    let names = match &args.vault {
        Some(vault) => {
            let providers: Vec<Address> = rows
                .iter()
                .filter_map(|row| row.provider)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let vault = crate::vault_client::VaultClient::new(vault);
            crate::directory_check::names(&vault, &registry.contract(), registry.chain_id, &providers).await
        }
        None => HashMap::new(),
    };
    if args.json {
        for row in &rows {
            let mut line = row_json(row);
            if let Some(name) = row.provider.and_then(|p| names.get(&p)) {
                line["provider_name"] = json!(name);
            }
            println!("{line}");
        }
    } else {
        print_table(&rows, start, end, &names);
    }
    Ok(())
}

/// Every log the queries match in `start..=end`, ordered by (block, log index), read in chunks.
async fn fetch_logs(
    registry: &Registry,
    queries: &[TopicQuery],
    start: u64,
    end: u64,
    chunk_size: u64,
) -> anyhow::Result<Vec<Log>> {
    let total = end - start + 1;
    let mut progress = Progress::new(total > chunk_size);
    let mut chunk = chunk_size;
    let mut logs: BTreeMap<(u64, u64), Log> = BTreeMap::new();
    let mut from = start;
    while from <= end {
        let to = from.saturating_add(chunk - 1).min(end);
        match fetch_range(registry, queries, from, to).await {
            Ok(found) => {
                for log in found {
                    let position = (log.block_number.unwrap_or_default(), log.log_index.unwrap_or_default());
                    logs.insert(position, log);
                }
                progress.show(to - start + 1, total, from, to, logs.len());
                from = to + 1;
            }
            Err(message) => {
                let error = medkey_indexer::chain::RpcError::Failed { call: "eth_getLogs", message };
                if to > from && error.suggests_smaller_range() {
                    let blocks = to - from + 1;
                    chunk = blocks / 2; // at least 1: the range held two blocks or more
                    continue;
                }
                progress.finish();
                bail!("reading the registry's logs in blocks {from}–{to}: {error}");
            }
        }
    }
    progress.finish();
    Ok(logs.into_values().collect())
}

async fn fetch_range(registry: &Registry, queries: &[TopicQuery], from: u64, to: u64) -> Result<Vec<Log>, String> {
    let mut found = Vec::new();
    for query in queries {
        let mut filter = Filter::new().address(registry.address).from_block(from).to_block(to);
        if !query.signatures.is_empty() {
            filter = filter.event_signature(query.signatures.clone());
        }
        let [t1, t2, t3] = query.topics;
        if let Some(topic) = t1 {
            filter = filter.topic1(topic);
        }
        if let Some(topic) = t2 {
            filter = filter.topic2(topic);
        }
        if let Some(topic) = t3 {
            filter = filter.topic3(topic);
        }
        found.extend(registry.provider.get_logs(&filter).await.map_err(|err| err.to_string())?);
    }
    Ok(found.into_iter().filter(|log| !log.removed).collect())
}

/// A progress line on stderr for long ranges: redrawn in place on a terminal, else a line every
/// few seconds.
struct Progress {
    enabled: bool,
    terminal: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        Self { enabled, terminal: std::io::stderr().is_terminal(), last: None, drawn: false }
    }

    fn show(&mut self, done: u64, total: u64, from: u64, to: u64, events: usize) {
        if !self.enabled {
            return;
        }
        let due = self.last.is_none_or(|at| at.elapsed().as_millis() >= if self.terminal { 100 } else { 2_000 });
        if !due && done < total {
            return;
        }
        self.last = Some(Instant::now());
        let line = format!(
            "scanned blocks {from}–{to}: {done} of {total} ({}%), {events} event{} so far",
            done * 100 / total,
            if events == 1 { "" } else { "s" }
        );
        if self.terminal {
            eprint!("\r\x1b[K{line}");
            self.drawn = true;
        } else {
            eprintln!("{line}");
        }
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}

fn address(key: &'static str, value: Address) -> Field {
    let text = value.to_checksum(None);
    Field { key, json: json!(text), text: Some(text) }
}

fn hash(key: &'static str, value: impl serde::Serialize + std::fmt::Display) -> Field {
    Field { key, json: json!(value), text: Some(value.to_string()) }
}

fn number(key: &'static str, value: u64) -> Field {
    Field { key, json: json!(value), text: Some(value.to_string()) }
}

fn flag(key: &'static str, value: bool) -> Field {
    Field { key, json: json!(value), text: Some(value.to_string()) }
}

/// Unix seconds as an RFC 3339 date.
fn date(key: &'static str, seconds: u64) -> Field {
    let text = rfc3339_ms(seconds.saturating_mul(1_000));
    Field { key, json: json!(text), text: Some(text) }
}

fn categories(mask: u16) -> [Field; 2] {
    let names: Vec<&str> = Category::from_mask(mask).into_iter().map(Category::as_str).collect();
    let text = if names.is_empty() { "none".to_owned() } else { names.join(",") };
    [
        Field { key: "categories", json: json!(names), text: Some(text) },
        Field { key: "category_mask", json: json!(mask), text: None },
    ]
}

fn purpose(code: u8) -> Field {
    let name = Purpose::from_index(code).map_or_else(|| format!("unknown({code})"), |p| p.as_str().to_owned());
    Field { key: "purpose", json: json!(name), text: Some(name) }
}

fn role(key: &'static str, value: B256) -> Field {
    let name = role_name(value);
    Field { key, json: json!(name), text: Some(name) }
}

/// Decodes one registry log into a row; a log the ABI does not know is shown raw.
fn decode(log: &Log) -> Row {
    use ConsentRegistryEvents as E;
    let mut row = Row {
        block: log.block_number.unwrap_or_default(),
        log_index: log.log_index.unwrap_or_default(),
        tx_hash: log.transaction_hash,
        timestamp: log.block_timestamp,
        event: String::new(),
        fields: Vec::new(),
        grant: None,
        patient: None,
        provider: None,
    };
    let topic0 = log.topic0().copied().unwrap_or_default();
    let decoded = match ConsentRegistryEvents::decode_log(&log.inner) {
        Ok(decoded) => decoded.data,
        Err(_) => {
            row.event = ConsentRegistryEvents::name_by_selector(topic0.0).unwrap_or("unknown").to_owned();
            row.fields = vec![
                hash("topic0", topic0),
                Field { key: "data", json: json!(log.data().data), text: Some(log.data().data.to_string()) },
            ];
            return row;
        }
    };
    row.event = ConsentRegistryEvents::name_by_selector(topic0.0).unwrap_or("unknown").to_owned();
    let mut fields = Vec::new();
    match decoded {
        E::GrantCreated(e) => {
            (row.grant, row.patient, row.provider) = (Some(e.grantId), Some(e.patient), Some(e.provider));
            fields.extend([
                hash("grant_id", e.grantId),
                address("patient", e.patient),
                address("provider", e.provider),
            ]);
            fields.extend(categories(e.categories));
            fields.push(purpose(e.purpose));
            fields.push(match e.notBefore {
                0 => Field { key: "not_before", json: Value::Null, text: Some("at-once".into()) },
                at => date("not_before", at.into()),
            });
            fields.push(date("expires_at", e.expiresAt.into()));
            fields.push(flag("write", e.write));
            fields.push(match e.recordsRoot.is_zero() {
                true => Field { key: "records_root", json: Value::Null, text: Some("all-records".into()) },
                false => hash("records_root", e.recordsRoot),
            });
        }
        E::GrantRevoked(e) => {
            (row.grant, row.patient, row.provider) = (Some(e.grantId), Some(e.patient), Some(e.provider));
            fields.extend([
                hash("grant_id", e.grantId),
                address("patient", e.patient),
                address("provider", e.provider),
            ]);
        }
        E::EmergencyAccessOpened(e) => {
            (row.grant, row.patient, row.provider) = (Some(e.grantId), Some(e.patient), Some(e.provider));
            fields.extend([
                hash("grant_id", e.grantId),
                address("patient", e.patient),
                address("provider", e.provider),
            ]);
            fields.push(hash("reason_hash", e.reasonHash));
            fields.push(date("expires_at", e.expiresAt.into()));
        }
        E::EmergencyAccessConfigured(e) => {
            row.patient = Some(e.patient);
            fields.push(address("patient", e.patient));
            fields.extend(categories(e.categories));
        }
        E::NonceIncremented(e) => {
            row.patient = Some(e.patient);
            fields.extend([address("patient", e.patient), number("nonce", e.nonce)]);
        }
        E::ProviderRegistered(e) => {
            row.provider = Some(e.provider);
            fields.extend([
                address("provider", e.provider),
                hash("encryption_key", e.encryptionKey),
                hash("profile_hash", e.profileHash),
            ]);
        }
        E::ProviderProfileUpdated(e) => {
            row.provider = Some(e.provider);
            fields.extend([address("provider", e.provider), hash("profile_hash", e.profileHash)]);
        }
        E::ProviderKeyRotated(e) => {
            row.provider = Some(e.provider);
            fields.extend([address("provider", e.provider), hash("encryption_key", e.encryptionKey)]);
        }
        E::ProviderSuspended(e) => {
            row.provider = Some(e.provider);
            fields.extend([address("provider", e.provider), hash("reason_hash", e.reasonHash)]);
        }
        E::ProviderReinstated(e) => {
            row.provider = Some(e.provider);
            fields.extend([address("provider", e.provider), hash("reason_hash", e.reasonHash)]);
        }
        E::AuditAnchored(e) => {
            fields.extend([address("operator", e.operator), hash("root", e.root), number("size", e.size)]);
        }
        E::Paused(e) => fields.push(address("account", e.account)),
        E::Unpaused(e) => fields.push(address("account", e.account)),
        E::RoleGranted(e) => {
            fields.extend([role("role", e.role), address("account", e.account), address("sender", e.sender)]);
        }
        E::RoleRevoked(e) => {
            fields.extend([role("role", e.role), address("account", e.account), address("sender", e.sender)]);
        }
        E::RoleAdminChanged(e) => {
            fields.extend([
                role("role", e.role),
                role("previous_admin_role", e.previousAdminRole),
                role("new_admin_role", e.newAdminRole),
            ]);
        }
        E::DefaultAdminTransferScheduled(e) => {
            fields.extend([address("new_admin", e.newAdmin), date("accept_schedule", e.acceptSchedule.to())]);
        }
        E::DefaultAdminDelayChangeScheduled(e) => {
            fields
                .extend([number("new_delay_seconds", e.newDelay.to()), date("effect_schedule", e.effectSchedule.to())]);
        }
        E::DefaultAdminTransferCanceled(_) | E::DefaultAdminDelayChangeCanceled(_) | E::EIP712DomainChanged(_) => {}
    }
    row.fields = fields;
    row
}

fn row_json(row: &Row) -> Value {
    let fields: serde_json::Map<String, Value> =
        row.fields.iter().map(|field| (field.key.to_owned(), field.json.clone())).collect();
    json!({
        "block": row.block,
        "log_index": row.log_index,
        "tx_hash": row.tx_hash,
        "timestamp": row.timestamp,
        "time": row.timestamp.map(|at| rfc3339_ms(at.saturating_mul(1_000))),
        "event": row.event,
        "fields": fields,
    })
}

fn print_table(rows: &[Row], start: u64, end: u64, names: &HashMap<Address, String>) {
    if rows.is_empty() {
        println!("no matching registry events in blocks {start}–{end}");
        return;
    }
    let lines: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            let mut details: Vec<String> = row
                .fields
                .iter()
                .filter_map(|field| field.text.as_ref().map(|text| format!("{}={text}", field.key)))
                .collect();
            if let Some(name) = row.provider.and_then(|p| names.get(&p)) {
                details.insert(0, format!("provider_name=\"{name}\""));
            }
            [
                row.block.to_string(),
                row.timestamp.map_or_else(|| "?".into(), |at| rfc3339_ms(at.saturating_mul(1_000))),
                row.tx_hash.map_or_else(|| "?".into(), |tx| tx.to_string()),
                row.event.clone(),
                details.join(" "),
            ]
        })
        .collect();
    let header = ["BLOCK", "TIME (UTC)", "TX", "EVENT", "DETAILS"];
    let mut widths = header.map(str::len);
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |cells: [&str; 5]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == cells.len() - 1 {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_owned()
    };
    println!("{}", render(header));
    for line in &lines {
        println!("{}", render([&line[0], &line[1], &line[2], &line[3], &line[4]]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_topics_where_the_events_index_them() {
        let patient = Address::repeat_byte(1);
        let provider = Address::repeat_byte(2);
        assert_eq!(topic_queries(&Filters::default()), vec![TopicQuery::default()]);

        let queries = topic_queries(&Filters { patient: Some(patient), ..Filters::default() });
        assert_eq!(queries.len(), 2, "grant events (topic 2) and patient events (topic 1)");
        assert_eq!(queries[0].signatures.len(), 3);
        assert_eq!(queries[0].topics, [None, Some(patient.into_word()), None]);
        assert_eq!(queries[1].topics, [Some(patient.into_word()), None, None]);

        let both = topic_queries(&Filters { patient: Some(patient), provider: Some(provider), grant: None });
        assert_eq!(both.len(), 1, "only grant events carry both");
        assert_eq!(both[0].topics, [None, Some(patient.into_word()), Some(provider.into_word())]);

        let grant = topic_queries(&Filters { grant: Some(B256::repeat_byte(3)), ..Filters::default() });
        assert_eq!(grant.len(), 1);
        assert_eq!(grant[0].topics[0], Some(B256::repeat_byte(3)));
    }

    #[test]
    fn block_bounds_parse() {
        assert!(matches!(parse_block_bound("latest"), Ok(BlockBound::Latest)));
        assert!(matches!(parse_block_bound("42"), Ok(BlockBound::Number(42))));
        assert!(parse_block_bound("soon").is_err());
    }
}
