//! The OpenAPI document at `GET /openapi.json` against the router it describes (SQLite). Both are
//! built from one list of routes (`vault/src/http/mod.rs`, utoipa-axum), so they cannot drift;
//! here each documented operation is called without a token: the secured ones must answer 401,
//! the open ones must not, every status seen must be documented, and every body must have its
//! documented schema's top-level shape. The committed `vault/openapi.json`, from which the
//! TypeScript client's types are generated, must equal the document the vault serves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use medkey_e2e::chain::TestChain;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::mirror::{RunningIndexer, test_config};
use medkey_e2e::vault::TestVault;
use serde_json::Value;

const METHODS: [&str; 8] = ["get", "post", "put", "delete", "patch", "head", "options", "trace"];
const TAGS: [&str; 11] = [
    "audit",
    "auth",
    "records",
    "sharing",
    "connections",
    "provider",
    "health",
    "requests",
    "directory",
    "admin",
    "share-links",
];
const ERROR_REF: &str = "#/components/schemas/ErrorBody";

/// `(path, METHOD)` → operation, for every operation in the document.
fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (key, operation) in item.as_object().expect("a path item") {
            if METHODS.contains(&key.as_str()) {
                out.insert((path.clone(), key.to_uppercase()), operation);
            }
        }
    }
    out
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The components schema a response's JSON body references, if any.
fn response_schema<'a>(doc: &'a Value, response: &Value) -> Option<&'a Value> {
    let reference = response["content"]["application/json"]["schema"]["$ref"].as_str()?;
    let name = reference.strip_prefix("#/components/schemas/").expect("a components schema");
    Some(&doc["components"]["schemas"][name])
}

/// A concrete URL for a documented path: `{id}` → a record id, `{patient}` → an address, others → 1.
fn concrete(path: &str) -> String {
    path.replace("{id}", "00112233445566778899aabbccddeeff")
        .replace("{patient}", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        .split('/')
        .map(|segment| if segment.starts_with('{') { "1" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_matches_the_router() {
    let chain = TestChain::start().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
    indexer.wait_for_block(chain.head().await).await;
    let vault = TestVault::start(&indexer).await;

    let (status, doc) = vault.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200, "{doc}");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "not OpenAPI 3.x: {}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "Medkey vault API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let description = doc["info"]["description"].as_str().unwrap();
    assert!(description.contains("ciphertext") && description.contains("grant"), "{description}");

    // The router and the document come from one list of routes (utoipa-axum); below, every
    // documented operation is called and must be served.
    let operations = operations(&doc);
    assert!(operations.len() >= 30 && operations.contains_key(&("/openapi.json".into(), "GET".into())));

    // The bearer scheme, and the shared error schema.
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!((bearer["type"].as_str(), bearer["scheme"].as_str()), (Some("http"), Some("bearer")), "{bearer}");
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["error"]), "{error}");
    let detail = &error["properties"]["error"];
    assert!(detail["properties"]["code"].is_object() && detail["properties"]["message"].is_object(), "{error}");
    assert_eq!(detail["required"], serde_json::json!(["code", "message"]), "{error}");

    // Tags, operation ids, security and error responses, operation by operation.
    let declared: BTreeSet<&str> =
        doc["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(declared, TAGS.into_iter().collect());
    let mut operation_ids = BTreeSet::new();
    for ((path, method), operation) in &operations {
        let tags = operation["tags"].as_array().map(Vec::as_slice).unwrap_or_default();
        assert!(tags.len() == 1 && TAGS.contains(&tags[0].as_str().unwrap()), "{method} {path}: tags {tags:?}");
        let id = operation["operationId"].as_str().unwrap();
        assert!(operation_ids.insert(id), "{method} {path}: operationId {id} used twice");
        let responses = operation["responses"].as_object().unwrap();
        assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}: no success response");
        for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('4') || s.starts_with('5')) {
            let reference = &response["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(reference, ERROR_REF, "{method} {path} {status}: not an ErrorBody");
            assert!(!response["description"].as_str().unwrap_or_default().is_empty(), "{method} {path} {status}");
        }
        if let Some(security) = operation.get("security") {
            assert_eq!(security, &serde_json::json!([{"bearer": []}]), "{method} {path}");
            let unauthorized = responses.get("401").and_then(|r| r["description"].as_str()).unwrap_or_default();
            assert!(unauthorized.contains("missing_token"), "{method} {path}: 401 does not list missing_token");
        }
    }
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    for reference in all_refs {
        let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("odd $ref {reference}"));
        assert!(doc["components"]["schemas"][name].is_object(), "{reference} does not resolve");
    }

    // Each operation, called without a token, answers as documented: 401 exactly when secured,
    // a documented status, and a body of the documented schema's shape (top-level fields).
    for ((path, method), operation) in &operations {
        let (status, body) = vault.call(method, &concrete(path), None, None).await;
        assert!(
            status != 405 && !(status == 404 && body["error"]["message"] == "no such endpoint"),
            "{method} {path}: the router does not serve it ({status} {body})"
        );
        let secured = operation.get("security").is_some();
        assert_eq!(status == 401, secured, "{method} {path}: {status} {body}");
        if secured {
            assert_eq!(body["error"]["code"], "missing_token", "{method} {path}");
        }
        let response = &operation["responses"][status.to_string()];
        assert!(response.is_object(), "{method} {path}: {status} is not documented ({body})");
        if let (Some(schema), Value::Object(fields)) = (response_schema(&doc, response), &body) {
            let properties = schema["properties"].as_object().unwrap();
            for field in fields.keys() {
                assert!(properties.contains_key(field), "{method} {path} {status}: `{field}` is not documented");
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                assert!(fields.contains_key(required.as_str().unwrap()), "{method} {path} {status}: no {required}");
            }
        }
    }
}

fn committed_document() -> PathBuf {
    medkey_e2e::workspace_root().join("vault/openapi.json")
}

/// The document in the repository is the one the code generates: the TypeScript types are
/// generated from that file (`npm run gen:api` in web/), so a handler change shows up here.
#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = medkey_vault::http::openapi_document().to_pretty_json().unwrap() + "\n";
    let path = committed_document();
    if std::env::var_os("MEDKEY_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is not the document the vault generates. Regenerate it and the TypeScript types with \
         `make api` and commit both.",
        path.display()
    );
}
