//! Writing records as a FHIR R4 Bundle (`collection`) as a stream — the format `fhir_file`
//! reads back. Each resource is copied token by token from the text that was sealed, so every
//! value (decimals included) is exactly as stored; a record's attached file is written inline as
//! base64 straight from its (decrypted, temporary) file, so memory stays flat whatever its size:
//! into a DocumentReference's `content[0].attachment.data`, or else into the entry's
//! record-attachment extension.
//!
//! Records that came from a Bundle go back into that Bundle ([`BundleWriter::begin_bundle`]),
//! each entry with its `fullUrl` and the rest it had, so references between them resolve again.

use std::fs::File;
use std::io::{Seek, Write};

use anyhow::Context;
use medkey_protocol::Category;
use serde_json::Value;
use serde_json::value::RawValue;
use struson::reader::{JsonReader, ValueType};
use struson::writer::{JsonStreamWriter, JsonWriter, StringValueWriter, WriterSettings};

use crate::fhir_file::{self, ATTACHMENT_EXTENSION, CATEGORY_EXTENSION, EXPORT_TAG};

/// A JSON object's members in order, each value's text as written.
type Members = indexmap::IndexMap<String, Box<RawValue>>;

/// A decrypted record ready to be written.
pub struct ExportRecord {
    pub category: Category,
    /// The record's JSON as sealed.
    pub plaintext: Vec<u8>,
    /// Its attached file, decrypted into a temporary file.
    pub attachment: Option<File>,
}

impl ExportRecord {
    /// Whether the resource has a place of its own for the file (a DocumentReference's first
    /// attachment); else the file goes on the Bundle entry.
    fn file_in_resource(&self) -> anyhow::Result<bool> {
        let parsed: Value = serde_json::from_slice(&self.plaintext).context("the record is not JSON")?;
        Ok(parsed["resourceType"] == "DocumentReference" && parsed["content"][0]["attachment"].is_object())
    }
}

pub struct BundleWriter<W: Write> {
    json: JsonStreamWriter<W>,
}

impl<W: Write> BundleWriter<W> {
    pub fn start(out: W, timestamp: &str) -> anyhow::Result<Self> {
        let mut json =
            JsonStreamWriter::new_custom(out, WriterSettings { pretty_print: true, ..WriterSettings::default() });
        json.begin_object()?;
        json.name("resourceType")?;
        json.string_value("Bundle")?;
        json.name("meta")?;
        json.begin_object()?;
        json.name("tag")?;
        json.begin_array()?;
        json.begin_object()?;
        json.name("system")?;
        json.string_value(EXPORT_TAG.0)?;
        json.name("code")?;
        json.string_value(EXPORT_TAG.1)?;
        json.name("display")?;
        json.string_value("Medkey export")?;
        json.end_object()?;
        json.end_array()?;
        json.end_object()?;
        json.name("type")?;
        json.string_value("collection")?;
        json.name("timestamp")?;
        json.string_value(timestamp)?;
        json.name("entry")?;
        json.begin_array()?;
        Ok(Self { json })
    }

    /// One record's entry; `rest` is what its entry had besides the resource (`fullUrl`, …).
    pub fn entry(&mut self, record: &mut ExportRecord, rest: Option<&RawValue>) -> anyhow::Result<()> {
        let in_resource = record.attachment.is_some() && record.file_in_resource()?;
        let mut rest: Members = rest.map(|r| serde_json::from_str(r.get())).transpose()?.unwrap_or_default();
        let their_extensions: Vec<Box<RawValue>> =
            rest.shift_remove("extension").map(|e| serde_json::from_str(e.get())).transpose()?.unwrap_or_default();
        let json = &mut self.json;
        json.begin_object()?;
        write_members(json, &rest)?;
        json.name("extension")?;
        json.begin_array()?;
        json.begin_object()?;
        json.name("url")?;
        json.string_value(CATEGORY_EXTENSION)?;
        json.name("valueCode")?;
        json.string_value(record.category.as_str())?;
        json.end_object()?;
        if let (Some(file), false) = (record.attachment.as_mut(), in_resource) {
            json.begin_object()?;
            json.name("url")?;
            json.string_value(ATTACHMENT_EXTENSION)?;
            json.name("valueAttachment")?;
            json.begin_object()?;
            json.name("data")?;
            write_base64(json, file)?;
            json.end_object()?;
            json.end_object()?;
        }
        for extension in &their_extensions {
            write_raw(json, extension)?;
        }
        json.end_array()?;
        json.name("resource")?;
        let file = if in_resource { record.attachment.as_mut() } else { None };
        write_resource(json, &record.plaintext, file)?;
        json.end_object()?;
        Ok(())
    }

    /// Opens an entry holding a Bundle: `rest` is what the entry had besides the resource, and
    /// `header` the Bundle without its entries. The entries written next go inside it, up to
    /// [`end_bundle`](Self::end_bundle).
    pub fn begin_bundle(&mut self, rest: Option<&RawValue>, header: &RawValue) -> anyhow::Result<()> {
        let json = &mut self.json;
        json.begin_object()?;
        if let Some(rest) = rest {
            write_members(json, &serde_json::from_str(rest.get())?)?;
        }
        json.name("resource")?;
        json.begin_object()?;
        write_members(json, &serde_json::from_str(header.get())?)?;
        json.name("entry")?;
        json.begin_array()?;
        Ok(())
    }

    pub fn end_bundle(&mut self) -> anyhow::Result<()> {
        self.json.end_array()?;
        self.json.end_object()?;
        self.json.end_object()?;
        Ok(())
    }

    pub fn finish(mut self) -> anyhow::Result<W> {
        self.json.end_array()?;
        self.json.end_object()?;
        Ok(self.json.finish_document()?)
    }
}

/// Each member, its value copied token by token (numbers as their text).
fn write_members<J: JsonWriter>(json: &mut J, members: &Members) -> anyhow::Result<()> {
    for (name, value) in members {
        json.name(name)?;
        write_raw(json, value)?;
    }
    Ok(())
}

fn write_raw<J: JsonWriter>(json: &mut J, value: &RawValue) -> anyhow::Result<()> {
    let mut reader = fhir_file::json_reader(value.get().as_bytes());
    reader.transfer_to(json)?;
    reader.consume_trailing_whitespace()?;
    Ok(())
}

/// One resource as one line of NDJSON (FHIR Bulk Data), its DocumentReference file inline.
pub fn ndjson_line(out: &mut impl Write, record: &mut ExportRecord) -> anyhow::Result<()> {
    let file =
        if record.attachment.is_some() && record.file_in_resource()? { record.attachment.as_mut() } else { None };
    let mut json = JsonStreamWriter::new(&mut *out);
    write_resource(&mut json, &record.plaintext, file)?;
    json.finish_document()?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Copies the resource JSON, putting `file` (base64) at `content[0].attachment.data`.
fn write_resource<J: JsonWriter>(json: &mut J, plaintext: &[u8], mut file: Option<&mut File>) -> anyhow::Result<()> {
    let mut reader = fhir_file::json_reader(plaintext);
    copy(&mut reader, json, &mut Vec::new(), &mut file)?;
    reader.consume_trailing_whitespace()?;
    Ok(())
}

enum Step {
    Name(String),
    Index(usize),
}

fn at_document_attachment(path: &[Step]) -> bool {
    matches!(path, [Step::Name(content), Step::Index(0), Step::Name(attachment)] if content == "content" && attachment == "attachment")
}

fn copy<R: JsonReader, J: JsonWriter>(
    r: &mut R,
    w: &mut J,
    path: &mut Vec<Step>,
    file: &mut Option<&mut File>,
) -> anyhow::Result<()> {
    match r.peek()? {
        ValueType::Object => {
            r.begin_object()?;
            w.begin_object()?;
            let target = file.is_some() && at_document_attachment(path);
            while r.has_next()? {
                let name = r.next_name_owned()?;
                if target && name == "data" {
                    r.skip_value()?; // replaced by the stored file below
                    continue;
                }
                w.name(&name)?;
                path.push(Step::Name(name));
                copy(r, w, path, file)?;
                path.pop();
            }
            if target && let Some(file) = file.take() {
                w.name("data")?;
                write_base64(w, file)?;
            }
            r.end_object()?;
            w.end_object()?;
        }
        ValueType::Array => {
            r.begin_array()?;
            w.begin_array()?;
            let mut index = 0;
            while r.has_next()? {
                path.push(Step::Index(index));
                copy(r, w, path, file)?;
                path.pop();
                index += 1;
            }
            r.end_array()?;
            w.end_array()?;
        }
        // Strings, numbers (their exact text), booleans and null, as they are.
        _ => r.transfer_to(w)?,
    }
    Ok(())
}

/// `file` as one base64 JSON string, streamed (the file is rewound first and after).
fn write_base64<J: JsonWriter>(w: &mut J, file: &mut File) -> anyhow::Result<()> {
    file.rewind()?;
    let string = w.string_value_writer()?;
    let mut encoder = base64::write::EncoderWriter::new(string, &base64::engine::general_purpose::STANDARD);
    std::io::copy(file, &mut encoder)?;
    encoder.finish()?.finish_value()?;
    file.rewind()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_with(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[test]
    fn what_is_written_reads_back_the_same_files_and_exact_text() {
        let pdf: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let document = br#"{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"contentType":"application/pdf","title":"scan.pdf"}}]}"#;
        let observation = br#"{"resourceType":"Observation","valueQuantity":{"value":0.40,"unit":"mmol/L"},"note":[{"text":"a \"quoted\" word"}]}"#;
        let mut records = [
            ExportRecord {
                category: Category::Documents,
                plaintext: document.to_vec(),
                attachment: Some(temp_with(&pdf)),
            },
            ExportRecord {
                category: Category::LabResults,
                plaintext: observation.to_vec(),
                attachment: Some(temp_with(b"\x01\x02")),
            },
            ExportRecord { category: Category::Vitals, plaintext: observation.to_vec(), attachment: None },
        ];
        let mut bundle = BundleWriter::start(Vec::new(), "2026-11-30T12:00:00Z").unwrap();
        let full_url =
            RawValue::from_string(r#"{"fullUrl":"urn:uuid:6f1e2c1d-8b1a-4f7e-9c51-2a7c0e0d3b11"}"#.into()).unwrap();
        bundle.entry(&mut records[0], None).unwrap();
        let header =
            RawValue::from_string(r#"{"resourceType":"Bundle","id":"b1","type":"collection"}"#.into()).unwrap();
        bundle.begin_bundle(None, &header).unwrap();
        bundle.entry(&mut records[1], Some(&full_url)).unwrap();
        bundle.entry(&mut records[2], None).unwrap();
        bundle.end_bundle().unwrap();
        let written = bundle.finish().unwrap();
        let parsed: Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(parsed["entry"][0]["resource"]["content"][0]["attachment"]["title"], "scan.pdf");
        let inner = &parsed["entry"][1]["resource"];
        assert_eq!((inner["id"].as_str(), inner["entry"].as_array().unwrap().len()), (Some("b1"), 2));
        assert_eq!(inner["entry"][0]["extension"][1]["url"], ATTACHMENT_EXTENSION);
        assert_eq!(inner["entry"][0]["fullUrl"], "urn:uuid:6f1e2c1d-8b1a-4f7e-9c51-2a7c0e0d3b11");

        let read = fhir_file::read_from(written.as_slice()).unwrap();
        assert_eq!(read.len(), 3);
        assert_eq!(read[0].text.as_bytes(), document, "the DocumentReference as it was sealed");
        assert_eq!(read[1].text.as_bytes(), observation, "0.40 stays 0.40");
        assert_eq!(
            read.iter().map(|e| e.category).collect::<Vec<_>>(),
            [Some(Category::Documents), Some(Category::LabResults), Some(Category::Vitals)]
        );
        let bytes = |i: usize| {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut read[i].attachment.as_ref().unwrap().file.try_clone().unwrap(), &mut out)
                .unwrap();
            out
        };
        assert_eq!(bytes(0), pdf);
        assert_eq!(bytes(1), [1, 2]);
        assert!(read[2].attachment.is_none());
        // The export's own Bundle is no origin; the Bundle inside it is, with the entry's fullUrl.
        assert!(read[0].origin.as_ref().unwrap().bundles.is_empty());
        let origin = read[1].origin.as_ref().unwrap();
        assert_eq!((origin.bundles.len(), origin.bundles[0].position), (1, 0));
        assert_eq!(origin.bundles[0].header.get(), header.get());
        assert_eq!(origin.entry.as_ref().unwrap().get(), full_url.get());
        assert_eq!(read[2].origin.as_ref().unwrap().bundles[0].position, 1);
        assert_eq!(read[1].origin.as_ref().unwrap().bundles[0].key, read[2].origin.as_ref().unwrap().bundles[0].key);

        let mut line = Vec::new();
        ndjson_line(&mut line, &mut records[0]).unwrap();
        let parsed: Value = serde_json::from_slice(&line).unwrap();
        assert!(line.ends_with(b"}\n") && !line[..line.len() - 1].contains(&b'\n'), "one line");
        assert_eq!(parsed["content"][0]["attachment"]["data"].as_str().unwrap().len(), pdf.len().div_ceil(3) * 4);
    }
}
