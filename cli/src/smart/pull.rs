//! Pulls her records from her provider's FHIR API on this machine, as the patient app does
//! (`web/packages/client/src/smart/smartPull.ts`): her Patient record, each US Core type searched
//! by patient (Observations by category, then all), every page by `link[next]` exactly as given,
//! the practitioners, organisations, locations and medications they reference, and each
//! DocumentReference's file. The bearer token goes to the FHIR server's own origin only; a file
//! elsewhere is fetched without it. A sync passes what the last pull saw (`known`: SHA-256 of
//! each resource as sent) and its cursor (`since`): searches ask only for what changed, and what
//! comes back unchanged is left out before any reference is followed or file fetched.

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};

use super::tokens::{self, Session};

/// The searches of one pull, by patient: (what she reads, query, whether a refusal is expected).
fn searches() -> Vec<(String, String, bool)> {
    let mut all: Vec<(String, String, bool)> = vec![
        ("allergies".into(), "AllergyIntolerance".into(), false),
        ("conditions".into(), "Condition".into(), false),
        (
            "medicines".into(),
            "MedicationRequest?intent=proposal,plan,order,original-order,reflex-order,filler-order,instance-order,option"
                .into(),
            false,
        ),
    ];
    for category in [
        "laboratory",
        "vital-signs",
        "social-history",
        "survey",
        "sdoh",
        "exam",
        "imaging",
        "procedure",
        "therapy",
        "activity",
        "clinical-test",
        "functional-status",
        "disability-status",
        "cognitive-status",
    ] {
        all.push((format!("observations ({category})"), format!("Observation?category={category}"), false));
    }
    all.push(("other observations".into(), "Observation".into(), true));
    for (label, query) in [
        ("vaccinations", "Immunization"),
        ("procedures", "Procedure"),
        ("reports", "DiagnosticReport"),
        ("documents", "DocumentReference"),
        ("visits", "Encounter"),
        ("care plans", "CarePlan"),
        ("care teams", "CareTeam"),
        ("goals", "Goal"),
        ("devices", "Device"),
        ("orders", "ServiceRequest"),
    ] {
        all.push((label.into(), query.into(), false));
    }
    all
}

const REFERENCED: [&str; 5] = ["Medication", "Practitioner", "PractitionerRole", "Organization", "Location"];
/// Bounds on what a server can make this machine fetch.
const MAX_PAGES_PER_SEARCH: usize = 200;
const MAX_REFERENCED: usize = 500;
const MAX_FILE_BYTES: usize = 25 * 1024 * 1024;

/// Where a pulled resource came from: the record origin's `source` (docs/envelope.md).
pub fn source_of(server: &str, resource: &Value, retrieved_at: &str, sha256: &str) -> Value {
    let mut source = json!({
        "server": server,
        "resourceType": resource["resourceType"],
        "id": resource["id"],
    });
    if let Some(version) = resource["meta"]["versionId"].as_str() {
        source["versionId"] = json!(version);
    }
    if let Some(updated) = resource["meta"]["lastUpdated"].as_str() {
        source["lastUpdated"] = json!(updated);
    }
    source["retrievedAt"] = json!(retrieved_at);
    source["sha256"] = json!(sha256);
    source
}

pub struct Pulled {
    /// What is new or changed since `known`, keyed `Type/id`, in the order pulled.
    pub resources: Vec<(String, Value)>,
    /// Each one's `source` (sealed as its record's origin).
    pub sources: HashMap<String, Value>,
    /// The newest `meta.lastUpdated` seen, for the next sync.
    pub cursor: Option<String>,
    pub unchanged: usize,
    /// What could not be brought, named, and why.
    pub failures: Vec<(String, String)>,
    /// The session after any refresh (a rotated refresh token replaces the old one).
    pub session: Session,
}

pub struct Pull<'a> {
    http: reqwest::Client,
    session: Session,
    origin: String,
    base: String,
    since: Option<&'a str>,
    known: &'a HashMap<String, String>,
    found: Vec<(String, Value)>,
    seen: HashMap<String, Value>,
    cursor: Option<String>,
    unchanged: usize,
    failures: Vec<(String, String)>,
    retrieved_at: String,
}

/// Pulls what is new since `since` (everything without it), leaving out what `known` has as is.
pub async fn pull(
    start: Session,
    since: Option<&str>,
    known: &HashMap<String, String>,
    mut progress: impl FnMut(&str, usize),
) -> anyhow::Result<Pulled> {
    // A sync starts from a kept refresh token (no access token yet) or one about to run out.
    let session = if start.expires_at <= std::time::Instant::now() + std::time::Duration::from_secs(10) {
        tokens::refresh(&start).await?
    } else {
        start
    };
    let base = session.server.fhir_base.clone();
    let origin = url::Url::parse(&base)?.origin().ascii_serialization();
    let mut pull = Pull {
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?,
        session,
        origin,
        base: base.clone(),
        since,
        known,
        found: Vec::new(),
        seen: HashMap::new(),
        cursor: since.map(str::to_owned),
        unchanged: 0,
        failures: Vec::new(),
        retrieved_at: crate::dates::rfc3339_ms(crate::dates::now_ms()),
    };
    progress("your details", 0);
    let patient_url = format!("{base}/Patient/{}", urlencoding(&pull.session.patient));
    match pull.json(&patient_url).await {
        Ok(patient) => pull.keep(patient),
        Err(err) => pull.failures.push(("your details (Patient)".into(), format!("{err:#}"))),
    }
    for (label, query, optional) in searches() {
        progress(&label, pull.found.len());
        if let Err(err) = pull.search(&query, optional).await {
            pull.failures.push((label, format!("{err:#}")));
        }
    }
    progress("doctors, clinics and medicines they name", pull.found.len());
    let mut wanted = BTreeSet::new();
    for (_, resource) in &pull.found {
        collect_references(resource, &mut wanted);
    }
    let wanted: Vec<String> = wanted.into_iter().filter(|r| !pull.seen.contains_key(r)).take(MAX_REFERENCED).collect();
    for reference in wanted {
        match pull.json(&format!("{base}/{reference}")).await {
            Ok(resource) => pull.keep(resource),
            Err(err) => pull.failures.push((reference, format!("{err:#}"))),
        }
    }
    progress("files", pull.found.len());
    for index in 0..pull.found.len() {
        if pull.found[index].1["resourceType"] != "DocumentReference" {
            continue;
        }
        let contents = pull.found[index].1["content"].as_array().cloned().unwrap_or_default();
        for (slot, content) in contents.iter().enumerate() {
            let attachment = &content["attachment"];
            let Some(address) = attachment["url"].as_str().filter(|_| attachment["data"].is_null()) else { continue };
            match pull.file(address).await {
                Ok(bytes) => {
                    pull.found[index].1["content"][slot]["attachment"]["data"] =
                        json!(base64::engine::general_purpose::STANDARD.encode(bytes));
                }
                Err(err) => pull.failures.push((format!("the file of {}", pull.found[index].0), format!("{err:#}"))),
            }
        }
    }
    progress("done", pull.found.len());
    let sources =
        pull.found.iter().filter_map(|(key, _)| pull.seen.get(key).map(|s| (key.clone(), s.clone()))).collect();
    Ok(Pulled {
        resources: pull.found,
        sources,
        cursor: pull.cursor,
        unchanged: pull.unchanged,
        failures: pull.failures,
        session: pull.session,
    })
}

impl Pull<'_> {
    /// GET with her token (renewed once if it expired), to the FHIR server's origin only.
    async fn get(&mut self, url: &str, accept: &str) -> anyhow::Result<reqwest::Response> {
        let parsed = url::Url::parse(url).with_context(|| format!("{url:?} is not an address"))?;
        if parsed.origin().ascii_serialization() != self.origin {
            bail!("a link to another server ({}) was not followed", parsed.host_str().unwrap_or("?"));
        }
        let mut response = self.send(url, accept).await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED && self.session.refresh_token.is_some() {
            self.session = tokens::refresh(&self.session).await?;
            response = self.send(url, accept).await?;
        }
        Ok(response)
    }

    async fn send(&self, url: &str, accept: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.http.get(url).header("accept", accept).bearer_auth(&self.session.access_token).send().await?)
    }

    async fn json(&mut self, url: &str) -> anyhow::Result<Value> {
        let response = self.get(url, "application/fhir+json").await?;
        if !response.status().is_success() {
            bail!("the server answered {}", response.status().as_u16());
        }
        Ok(response.json().await?)
    }

    async fn search(&mut self, query: &str, optional: bool) -> anyhow::Result<()> {
        let mut url = url::Url::parse(&format!("{}/{query}", self.base))?;
        url.query_pairs_mut().append_pair("patient", &self.session.patient).append_pair("_count", "100");
        let without_date = url.clone();
        if let Some(since) = self.since {
            url.query_pairs_mut().append_pair("_lastUpdated", &format!("gt{since}"));
        }
        let mut next = Some(url.to_string());
        for page in 0..MAX_PAGES_PER_SEARCH {
            let Some(address) = next.take() else { break };
            let mut response = self.get(&address, "application/fhir+json").await?;
            // A server that cannot search by date is asked for everything (the unchanged is left out).
            if page == 0 && self.since.is_some() && response.status() == reqwest::StatusCode::BAD_REQUEST {
                response = self.get(without_date.as_str(), "application/fhir+json").await?;
            }
            let status = response.status();
            if optional && status.is_client_error() && status != reqwest::StatusCode::UNAUTHORIZED {
                break;
            }
            if !status.is_success() {
                bail!("the server answered {}", status.as_u16());
            }
            let bundle: Value = response.json().await?;
            for entry in bundle["entry"].as_array().map(Vec::as_slice).unwrap_or_default() {
                if entry["search"]["mode"] != "outcome" {
                    self.keep(entry["resource"].clone());
                }
            }
            next = bundle["link"]
                .as_array()
                .and_then(|links| links.iter().find(|l| l["relation"] == "next"))
                .and_then(|l| l["url"].as_str())
                .map(str::to_owned);
        }
        Ok(())
    }

    /// Keeps a resource unless it came before exactly as it is (hashed as sent, before any file).
    fn keep(&mut self, resource: Value) {
        let (Some(kind), Some(id)) = (resource["resourceType"].as_str(), resource["id"].as_str()) else { return };
        let key = format!("{kind}/{id}");
        if self.seen.contains_key(&key) {
            return;
        }
        let sha256 = alloy::hex::encode(Sha256::digest(js_json(&resource)));
        if let Some(updated) = resource["meta"]["lastUpdated"].as_str()
            && self.cursor.as_deref().is_none_or(|c| newer(updated, c))
        {
            self.cursor = Some(updated.to_owned());
        }
        self.seen.insert(key.clone(), source_of(&self.base, &resource, &self.retrieved_at, &sha256));
        if self.known.get(&key) == Some(&sha256) {
            self.unchanged += 1;
        } else {
            self.found.push((key, resource));
        }
    }

    /// A document's file: with her token on the FHIR server, without it anywhere else.
    async fn file(&mut self, address: &str) -> anyhow::Result<Vec<u8>> {
        let url = url::Url::parse(&format!("{}/", self.base))?.join(address)?;
        let same = url.origin().ascii_serialization() == self.origin;
        if url.scheme() != "https" && !same && !super::server::is_loopback(&url) {
            bail!("the file is not on a secure (https) address");
        }
        let response = if same {
            self.get(url.as_str(), "*/*").await?
        } else {
            self.http.get(url.as_str()).header("accept", "*/*").send().await?
        };
        if !response.status().is_success() {
            bail!("the server answered {}", response.status().as_u16());
        }
        if response.content_length().is_some_and(|n| n as usize > MAX_FILE_BYTES) {
            bail!("the file is larger than 25 MB");
        }
        let bytes = response.bytes().await?;
        if bytes.len() > MAX_FILE_BYTES {
            bail!("the file is larger than 25 MB");
        }
        Ok(bytes.to_vec())
    }
}

/// The resource as the patient app's `JSON.stringify` writes it, so that both hash the same bytes:
/// keys in the server's order (serde_json's `preserve_order`) and a whole number written without
/// a fraction (`1.0` is `1`). Other numbers print the same in both (shortest round trip).
fn js_json(value: &Value) -> Vec<u8> {
    fn whole(value: &Value) -> Value {
        match value {
            Value::Number(n)
                if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15) && !n.is_i64() && !n.is_u64() =>
            {
                json!(n.as_f64().expect("checked") as i64)
            }
            Value::Array(items) => Value::Array(items.iter().map(whole).collect()),
            Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), whole(v))).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_vec(&whole(value)).expect("JSON")
}

/// Whether FHIR instant `a` is after `b` (both parsed; text order is wrong across time zones).
fn newer(a: &str, b: &str) -> bool {
    match (parse_instant(a), parse_instant(b)) {
        (Some(a), Some(b)) => a > b,
        _ => a > b,
    }
}

fn parse_instant(text: &str) -> Option<i128> {
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(parsed.unix_timestamp_nanos())
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Every `Type/id` reference to a context resource inside a resource (relative or on this server).
fn collect_references(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, into)),
        Value::Object(fields) => {
            for (key, v) in fields {
                if key == "reference"
                    && let Some(text) = v.as_str()
                {
                    let mut parts = text.rsplit('/');
                    if let (Some(id), Some(kind)) = (parts.next(), parts.next())
                        && REFERENCED.contains(&kind)
                        && !id.is_empty()
                        && id.len() <= 64
                        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                    {
                        into.insert(format!("{kind}/{id}"));
                    }
                } else {
                    collect_references(v, into);
                }
            }
        }
        _ => {}
    }
}
