//! Reading a FHIR JSON file — one resource, or a Bundle (with Bundles inside it) — as a stream,
//! so that nothing a patient brings is changed or lost:
//!
//! - every resource's JSON text is kept exactly as written (a decimal's precision is
//!   significant in FHIR: `0.40` stays `0.40`), and it is that text that gets sealed;
//! - an attached file carried inline (base64 in an `attachment` or `valueAttachment`) is decoded
//!   straight into a private temporary file as it is read, so memory stays flat whatever its size;
//! - every entry of every nested Bundle is read, and an entry that holds no resource refuses the
//!   whole file with its place named (`entry 2.3`), before anything is stored.
//!
//! The inline-file format is the one `export` writes (see `fhir_bundle_writer`): a
//! DocumentReference's `content[0].attachment.data`, or the entry's record-attachment extension.
//!
//! Each resource also gets its origin: the Bundles around it (each without its entries) and its
//! entry without the resource (`fullUrl`, `request`, …), so an export can put it back where it
//! was and the references between the entries resolve as they did. A Medkey export's own Bundle
//! (tagged [`EXPORT_TAG`]) is not an origin: its entries were somewhere else before.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use indexmap::IndexMap;
use medkey_protocol::Category;
use medkey_protocol::envelope::origin::{OriginBundle, RecordOrigin};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use struson::reader::{JsonReader, JsonStreamReader, ReaderSettings, ValueType};
use struson::writer::{JsonStreamWriter, JsonWriter, WriterSettings};

/// The extension on `Bundle.entry` naming the record's Medkey category.
pub const CATEGORY_EXTENSION: &str = "https://medkey.dev/fhir/StructureDefinition/record-category";
/// The extension on `Bundle.entry` carrying the file of a record that is not a DocumentReference.
pub const ATTACHMENT_EXTENSION: &str = "https://medkey.dev/fhir/StructureDefinition/record-attachment";

/// The `meta.tag` system and code marking the Bundle a Medkey export writes around the records.
pub const EXPORT_TAG: (&str, &str) = ("https://medkey.dev/fhir/CodeSystem/bundle-role", "export");

/// Deeper than any FHIR resource nests; a file nested deeper is refused rather than risk the stack.
const MAX_DEPTH: usize = 128;

/// One resource read from a file.
#[derive(Debug)]
pub struct FileEntry {
    /// Where it was: `3`, or `1.2` for the 2nd entry of a Bundle in the 1st; empty for a file
    /// that is a single resource.
    pub place: String,
    /// The resource's JSON text, every value as written (compact: whitespace between tokens dropped).
    pub text: String,
    /// The same resource parsed, to read its type and codes. Numbers here may be rounded:
    /// store `text`, never this.
    pub parsed: Value,
    /// The category its Bundle entry names (a Medkey export does).
    pub category: Option<Category>,
    /// A file it carried inline, now decoded into a temporary file.
    pub attachment: Option<InlineFile>,
    /// Where it was in the file; `None` for a file that is a single resource.
    pub origin: Option<RecordOrigin>,
}

/// An attached file taken out of a FHIR file: decoded bytes in a private temporary file.
#[derive(Debug)]
pub struct InlineFile {
    pub file: File,
    pub size: u64,
    pub title: Option<String>,
}

impl FileEntry {
    pub fn resource_type(&self) -> &str {
        self.parsed["resourceType"].as_str().unwrap_or("resource")
    }
}

/// Every resource in the FHIR JSON file at `path` (see the module's description), or in the FHIR
/// NDJSON file when its name ends in `.ndjson`.
pub fn read(path: &Path) -> anyhow::Result<Vec<FileEntry>> {
    let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let ndjson = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("ndjson"));
    let entries = if ndjson { read_ndjson(BufReader::new(file)) } else { read_from(BufReader::new(file)) };
    entries.with_context(|| format!("in {}", path.display()))
}

/// FHIR NDJSON (the Bulk Data format some portals export): one resource, or a Bundle, per
/// non-empty line, each read like a file of its own; a bad line refuses the file, named.
pub fn read_ndjson(input: impl std::io::BufRead) -> anyhow::Result<Vec<FileEntry>> {
    let mut entries = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line = line.context("not UTF-8 text")?;
        if line.trim().is_empty() {
            continue;
        }
        let line_entries = read_from(line.as_bytes()).with_context(|| format!("line {}", index + 1))?;
        // Placed by line, so two records alike on different lines stay two records.
        entries.extend(line_entries.into_iter().map(|mut entry| {
            entry.place = match entry.place.as_str() {
                "" => (index + 1).to_string(),
                inner => format!("{}.{inner}", index + 1),
            };
            entry
        }));
    }
    if entries.is_empty() {
        bail!("no resources in it: an NDJSON file holds one FHIR resource per line");
    }
    Ok(entries)
}

/// A streaming JSON reader for FHIR text: any number is accepted as written (FHIR decimals may
/// carry many digits and large exponents, e.g. `1.000000000000000000E-245`), nesting is bounded.
pub fn json_reader<R: Read>(input: R) -> JsonStreamReader<R> {
    let settings = ReaderSettings {
        restrict_number_values: false,
        max_nesting_depth: Some(MAX_DEPTH as u32),
        ..ReaderSettings::default()
    };
    JsonStreamReader::new_custom(input, settings)
}

pub fn read_from(input: impl Read) -> anyhow::Result<Vec<FileEntry>> {
    let mut inline = Inline::new()?;
    let mut text = Vec::new();
    let mut reader = json_reader(input);
    let mut writer = JsonStreamWriter::new(&mut text);
    copy(&mut reader, &mut writer, None, 0, &mut inline).context("not valid JSON")?;
    writer.finish_document()?;
    reader.consume_trailing_whitespace().context("not valid JSON: something follows the first value")?;
    let text = String::from_utf8(text).context("not UTF-8")?;
    let top: &RawValue = serde_json::from_str(&text)?;
    let mut entries = Vec::new();
    if shallow(top)?.resource_type.as_deref() == Some("Bundle") {
        walk_bundle(top, "", &[], &mut inline, &mut entries)?;
        if entries.is_empty() {
            bail!("the Bundle has no entries");
        }
    } else {
        entries.push(leaf(top, String::new(), None, None, &mut inline)?);
    }
    Ok(entries)
}

/// `json` indented for reading, every value exactly as it is (numbers keep their text).
pub fn pretty(json: &[u8]) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let mut reader = json_reader(json);
    let settings = WriterSettings { pretty_print: true, ..WriterSettings::default() };
    let mut writer = JsonStreamWriter::new_custom(&mut out, settings);
    reader.transfer_to(&mut writer)?;
    writer.finish_document()?;
    reader.consume_trailing_whitespace()?;
    Ok(String::from_utf8(out)?)
}

#[derive(Deserialize)]
struct Shallow<'a> {
    #[serde(rename = "resourceType")]
    resource_type: Option<String>,
    #[serde(borrow, default)]
    entry: Vec<RawEntry<'a>>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(borrow, default)]
    resource: Option<&'a RawValue>,
    #[serde(default)]
    extension: Vec<Value>,
    #[serde(default)]
    request: Option<Value>,
}

fn shallow(raw: &RawValue) -> anyhow::Result<Shallow<'_>> {
    serde_json::from_str(raw.get()).context("not a FHIR resource (a JSON object with a resourceType)")
}

/// A JSON object's members in order, each value's text as written.
type Members = IndexMap<String, Box<RawValue>>;

fn walk_bundle(
    bundle: &RawValue,
    prefix: &str,
    around: &[OriginBundle],
    inline: &mut Inline,
    out: &mut Vec<FileEntry>,
) -> anyhow::Result<()> {
    let mut members: Members = serde_json::from_str(bundle.get())?;
    let raw_entries: Vec<Members> = match members.shift_remove("entry") {
        Some(entries) => serde_json::from_str(entries.get()).context("the Bundle's entry is not a list of objects")?,
        None => Vec::new(),
    };
    let header = raw(&inline.restore_all(&serde_json::to_string(&members)?)?)?;
    // The export's own Bundle is not where its records came from; any other Bundle is.
    let is_origin = !(prefix.is_empty() && is_medkey_export(&members));
    let key = alloy::hex::encode(crate::sealing::new_record_id()?);
    for (i, (entry, mut rest)) in shallow(bundle)?.entry.into_iter().zip(raw_entries).enumerate() {
        let place = if prefix.is_empty() { (i + 1).to_string() } else { format!("{prefix}.{}", i + 1) };
        let Some(resource) = entry.resource else {
            let what = entry
                .request
                .as_ref()
                .and_then(|r| Some(format!(" (a {} {} request)", r["method"].as_str()?, r["url"].as_str()?)))
                .unwrap_or_default();
            bail!(
                "entry {place} holds no resource{what}, so there is nothing to store for it; remove it, or export \
                 the records themselves"
            );
        };
        rest.shift_remove("resource");
        let rest = entry_rest(rest, inline).with_context(|| format!("entry {place}"))?;
        let nested =
            shallow(resource).with_context(|| format!("entry {place}"))?.resource_type.as_deref() == Some("Bundle");
        let mut chain = around.to_vec();
        if is_origin {
            let position = u32::try_from(i).context("too many entries")?;
            let held = if nested { rest.as_ref().map(|r| raw(r.get())).transpose()? } else { None };
            chain.push(OriginBundle { key: key.clone(), header: header.clone(), position, entry: held });
        }
        if nested {
            walk_bundle(resource, &place, &chain, inline, out)?;
        } else {
            let origin = RecordOrigin { bundles: chain, entry: rest, source: None };
            out.push(leaf(resource, place, Some(&entry.extension), Some(origin), inline)?);
        }
    }
    Ok(())
}

fn raw(text: &str) -> anyhow::Result<Box<RawValue>> {
    Ok(RawValue::from_string(text.to_owned())?)
}

/// Whether a Bundle's members mark it as a Medkey export (see [`EXPORT_TAG`]).
fn is_medkey_export(members: &Members) -> bool {
    let Some(meta) = members.get("meta").and_then(|m| serde_json::from_str::<Value>(m.get()).ok()) else {
        return false;
    };
    meta["tag"]
        .as_array()
        .is_some_and(|tags| tags.iter().any(|t| t["system"] == EXPORT_TAG.0 && t["code"] == EXPORT_TAG.1))
}

/// An entry without its resource and without Medkey's own extensions (written again on export),
/// or `None` when nothing else is left.
fn entry_rest(mut rest: Members, inline: &mut Inline) -> anyhow::Result<Option<Box<RawValue>>> {
    if let Some(extensions) = rest.shift_remove("extension") {
        let mut kept: Vec<Box<RawValue>> = serde_json::from_str(extensions.get()).context("extension is not a list")?;
        kept.retain(|e| {
            let url = serde_json::from_str::<Value>(e.get()).map(|v| v["url"].clone()).unwrap_or_default();
            url != CATEGORY_EXTENSION && url != ATTACHMENT_EXTENSION
        });
        if !kept.is_empty() {
            rest.insert("extension".into(), raw(&serde_json::to_string(&kept)?)?);
        }
    }
    if rest.is_empty() {
        return Ok(None);
    }
    Ok(Some(raw(&inline.restore_all(&serde_json::to_string(&rest)?)?)?))
}

/// A resource that is not a Bundle: its category and inline file taken from where export puts them.
fn leaf(
    raw: &RawValue,
    place: String,
    extensions: Option<&[Value]>,
    origin: Option<RecordOrigin>,
    inline: &mut Inline,
) -> anyhow::Result<FileEntry> {
    let at = |what: &str| if place.is_empty() { what.to_owned() } else { format!("entry {place}: {what}") };
    let mut text = raw.get().to_owned();
    let parsed: Value = serde_json::from_str(&text)?;
    if !parsed["resourceType"].is_string() {
        bail!(at("not a FHIR resource (it has no resourceType)"));
    }
    let extensions = extensions.unwrap_or_default();
    let named = |url: &str| extensions.iter().find(|e| e["url"] == url);
    let category = named(CATEGORY_EXTENSION)
        .and_then(|e| e["valueCode"].as_str())
        .map(|code| code.parse::<Category>().with_context(|| at(&format!("unknown Medkey category '{code}'"))))
        .transpose()?;

    let in_resource = &parsed["content"][0]["attachment"];
    let mut attachment = None;
    if parsed["resourceType"] == "DocumentReference"
        && let Some(token) = in_resource["data"].as_str().filter(|t| inline.owns(t))
    {
        text = without_member(&text, "data", token).with_context(|| at("the attached file's data"))?;
        attachment = Some(inline.take(token, in_resource)?);
    } else if let Some(carried) = named(ATTACHMENT_EXTENSION).map(|e| &e["valueAttachment"])
        && let Some(token) = carried["data"].as_str().filter(|t| inline.owns(t))
    {
        attachment = Some(inline.take(token, carried)?);
    }
    // Inline data anywhere else stays where it was, as it was.
    text = inline.restore_all(&text)?;
    let parsed = if attachment.is_some() { serde_json::from_str(&text)? } else { parsed };
    Ok(FileEntry { place, text, parsed, category, attachment, origin })
}

/// `text` (compact JSON, as this module writes it) without the member `"name":"value"`.
fn without_member(text: &str, name: &str, value: &str) -> anyhow::Result<String> {
    let member = format!("\"{name}\":\"{value}\"");
    for (found, with) in [(format!(",{member}"), ""), (format!("{member},"), ""), (member.clone(), "")] {
        if text.contains(&found) {
            return Ok(text.replacen(&found, with, 1));
        }
    }
    bail!("not found in the resource")
}

/// Copies one JSON value from `r` to `w` token by token (numbers as their exact text), sending
/// the base64 `data` of any `attachment`/`valueAttachment` object to a temporary file instead.
fn copy<R: JsonReader, W: JsonWriter>(
    r: &mut R,
    w: &mut W,
    parent: Option<&str>,
    depth: usize,
    inline: &mut Inline,
) -> anyhow::Result<()> {
    if depth > MAX_DEPTH {
        bail!("nested more than {MAX_DEPTH} levels deep");
    }
    match r.peek()? {
        ValueType::Object => {
            r.begin_object()?;
            w.begin_object()?;
            while r.has_next()? {
                let name = r.next_name_owned()?;
                w.name(&name)?;
                let carries_file = name == "data" && matches!(parent, Some("attachment" | "valueAttachment"));
                if carries_file && r.peek()? == ValueType::String {
                    let position = r.current_position(true);
                    let token = inline
                        .divert(r.next_string_reader()?)
                        .with_context(|| format!("the attached data at {position:?} is not valid base64"))?;
                    w.string_value(&token)?;
                } else {
                    copy(r, w, Some(&name), depth + 1, inline)?;
                }
            }
            r.end_object()?;
            w.end_object()?;
        }
        ValueType::Array => {
            r.begin_array()?;
            w.begin_array()?;
            while r.has_next()? {
                copy(r, w, None, depth + 1, inline)?;
            }
            r.end_array()?;
            w.end_array()?;
        }
        ValueType::String => w.string_value(r.next_str()?)?,
        ValueType::Number => w.number_value_from_string(r.next_number_as_str()?)?,
        ValueType::Boolean => w.bool_value(r.next_bool()?)?,
        ValueType::Null => {
            r.next_null()?;
            w.null_value()?;
        }
    }
    Ok(())
}

/// The files decoded out of the JSON while it was read, each standing in the text as a token
/// that cannot occur in real data (it carries a random nonce).
struct Inline {
    nonce: String,
    files: Vec<Option<(File, u64)>>,
}

impl Inline {
    fn new() -> anyhow::Result<Self> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
        Ok(Self { nonce: format!("medkey-inline-data:{}:", alloy::hex::encode(nonce)), files: Vec::new() })
    }

    fn divert(&mut self, data: impl Read) -> anyhow::Result<String> {
        let mut file = tempfile::tempfile().context("a temporary file for an attached file")?;
        let mut decoder =
            base64::read::DecoderReader::new(SkipWhitespace(data), &base64::engine::general_purpose::STANDARD);
        let size = std::io::copy(&mut decoder, &mut file)?;
        file.rewind()?;
        self.files.push(Some((file, size)));
        Ok(format!("{}{}", self.nonce, self.files.len() - 1))
    }

    fn owns(&self, token: &str) -> bool {
        token.starts_with(&self.nonce)
    }

    fn index(&self, token: &str) -> anyhow::Result<usize> {
        token.strip_prefix(&self.nonce).and_then(|i| i.parse().ok()).context("an unknown inline-data token")
    }

    fn take(&mut self, token: &str, described: &Value) -> anyhow::Result<InlineFile> {
        let index = self.index(token)?;
        let (file, size) = self.files.get_mut(index).and_then(Option::take).context("inline data used twice")?;
        let text = |field: &str| described[field].as_str().map(str::to_owned);
        Ok(InlineFile { file, size, title: text("title") })
    }

    /// Puts back, as base64 where it was, any inline data not taken out as an attachment.
    fn restore_all(&mut self, text: &str) -> anyhow::Result<String> {
        let mut text = text.to_owned();
        while let Some(start) = text.find(&self.nonce) {
            let digits = text[start + self.nonce.len()..].chars().take_while(char::is_ascii_digit).count();
            let token = text[start..start + self.nonce.len() + digits].to_owned();
            let index = self.index(&token)?;
            let (mut file, _) = self.files.get_mut(index).and_then(Option::take).context("inline data used twice")?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            text = text.replacen(&token, &base64::engine::general_purpose::STANDARD.encode(bytes), 1);
        }
        Ok(text)
    }
}

/// FHIR's base64Binary may be wrapped over lines; the decoder wants the characters only.
struct SkipWhitespace<R>(R);

impl<R: Read> Read for SkipWhitespace<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.0.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            let mut kept = 0;
            for i in 0..n {
                if !buf[i].is_ascii_whitespace() {
                    buf[kept] = buf[i];
                    kept += 1;
                }
            }
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(json: &str) -> anyhow::Result<Vec<FileEntry>> {
        read_from(json.as_bytes())
    }

    #[test]
    fn ndjson_gives_one_resource_per_line_and_names_a_bad_line() {
        let text = "{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":13.50}}\n\n{\"resourceType\":\"Patient\"}\n";
        let entries = read_ndjson(text.as_bytes()).unwrap();
        assert_eq!(entries.iter().map(FileEntry::resource_type).collect::<Vec<_>>(), ["Observation", "Patient"]);
        assert!(entries[0].text.contains("13.50"), "{}", entries[0].text);
        assert_eq!((entries[0].place.as_str(), entries[1].place.as_str()), ("1", "3"));
        let bad = read_ndjson("{\"resourceType\":\"Patient\"}\n{\"resourceType\":\n".as_bytes()).unwrap_err();
        assert!(format!("{bad:#}").starts_with("line 2: not valid JSON"), "{bad:#}");
        assert!(read_ndjson("\n\n".as_bytes()).unwrap_err().to_string().contains("no resources in it"));
    }

    #[test]
    fn numbers_keep_the_text_they_were_written_with() {
        let json = r#"{ "resourceType": "Observation", "valueQuantity": { "value": 0.40 },
            "component": [{"valueQuantity": {"value": 80.00}}, {"valueQuantity": {"value": 66.899999999999991}},
            {"valueQuantity": {"value": 1.000000000000000000E-245}}] }"#;
        let [entry] = read_str(json).unwrap().try_into().unwrap();
        for exact in ["0.40", "80.00", "66.899999999999991", "1.000000000000000000E-245"] {
            assert!(entry.text.contains(exact), "{exact} lost: {}", entry.text);
        }
        assert_eq!(entry.resource_type(), "Observation");
    }

    #[test]
    fn nested_bundles_give_every_resource_and_a_request_entry_refuses_the_file() {
        let inner = |n: usize| {
            let entries = vec![r#"{"resource":{"resourceType":"Observation","status":"final"}}"#; n].join(",");
            format!(r#"{{"resource":{{"resourceType":"Bundle","type":"collection","entry":[{entries}]}}}}"#)
        };
        let outer = format!(
            r#"{{"resourceType":"Bundle","entry":[{},{{"resource":{{"resourceType":"Patient"}}}},{}]}}"#,
            inner(3),
            inner(2)
        );
        let places: Vec<String> = read_str(&outer).unwrap().into_iter().map(|e| e.place).collect();
        assert_eq!(places, ["1.1", "1.2", "1.3", "2", "3.1", "3.2"]);
        let transaction = r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}},
            {"resource":{"resourceType":"Bundle","entry":[{"request":{"method":"DELETE","url":"Observation/1"}}]}}]}"#;
        let err = format!("{:#}", read_str(transaction).unwrap_err());
        assert!(err.contains("entry 2.1 holds no resource (a DELETE Observation/1 request)"), "{err}");
        assert!(
            format!("{:#}", read_str(r#"{"resourceType":"Bundle","entry":[]}"#).unwrap_err()).contains("no entries")
        );
        assert!(format!("{:#}", read_str(r#"{"status":"final"}"#).unwrap_err()).contains("no resourceType"));
        assert!(format!("{:#}", read_str(r#"{"resourceType":"Patient"} x"#).unwrap_err()).contains("follows"));
    }

    #[test]
    fn inline_files_come_out_decoded_and_the_rest_stays_as_written() {
        let json = r#"{"resourceType":"Bundle","entry":[
          {"extension":[{"url":"https://medkey.dev/fhir/StructureDefinition/record-category","valueCode":"documents"}],
           "resource":{"resourceType":"DocumentReference","status":"current","content":[{"attachment":
             {"contentType":"application/pdf","data":"JVBE\nRi0x","title":"scan.pdf","size":6}}]}},
          {"extension":[{"url":"https://medkey.dev/fhir/StructureDefinition/record-attachment","valueAttachment":{"data":"AQID"}}],
           "resource":{"resourceType":"Observation","valueQuantity":{"value":1.50}}},
          {"resource":{"resourceType":"Binary","contentType":"text/plain","data":"aGk="}},
          {"resource":{"resourceType":"Media","content":{"contentType":"image/png"},"note":[{"text":"x"}],
             "extension":[{"url":"x","valueAttachment":{"data":"AAE="}}]}}]}"#;
        let entries = read_str(json).unwrap();
        let read = |i: usize| {
            let mut bytes = Vec::new();
            entries[i].attachment.as_ref().unwrap().file.try_clone().unwrap().read_to_end(&mut bytes).unwrap();
            bytes
        };
        assert_eq!(read(0), b"%PDF-1");
        assert_eq!(read(1), [1, 2, 3]);
        let document = &entries[0];
        assert_eq!(document.category, Some(Category::Documents));
        assert_eq!(document.attachment.as_ref().unwrap().title.as_deref(), Some("scan.pdf"));
        assert_eq!(
            document.text,
            r#"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"application/pdf","title":"scan.pdf","size":6}}]}"#
        );
        assert!(entries[1].text.contains("1.50"));
        assert!(entries[2].text.contains(r#""data":"aGk=""#), "a Binary's own data is not a separate file");
        assert!(entries[3].text.contains(r#""data":"AAE=""#), "inline data elsewhere is put back as it was");
        assert!(entries[2].attachment.is_none() && entries[3].attachment.is_none());
        let bad = r#"{"resourceType":"DocumentReference","content":[{"attachment":{"data":"not base64!"}}]}"#;
        assert!(format!("{:#}", read_str(bad).unwrap_err()).contains("not valid base64"));
    }
}
