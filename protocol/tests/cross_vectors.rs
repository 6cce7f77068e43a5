//! Vectors shared with the TypeScript client (`web/packages/client`), both ways.
//!
//! - `vectors/rust-v1.json` is built here from fixed inputs (keys, nonces, ephemeral keys) and
//!   must equal the committed file: a format change fails this test, and the TypeScript tests
//!   open the same file and rebuild it byte for byte. Regenerate after an intended change with
//!   `MEDKEY_WRITE_VECTORS=1 cargo test -p medkey-protocol --test cross_vectors`.
//! - `vectors/typescript-v1.json` is written by the TypeScript tests; here Rust opens it.

use std::path::PathBuf;

use alloy::primitives::{Address, B256, U256, address, b256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolStruct;
use ed25519_dalek::SigningKey;
use medkey_protocol::RecordId;
use medkey_protocol::account_secret::AccountSecret;
use medkey_protocol::audit::{AuditEntry, Root, SignedTreeHead, Tree};
use medkey_protocol::eip712::{self, Grant};
use medkey_protocol::envelope::connection::ConnectionKey;
use medkey_protocol::envelope::origin::{OriginKey, RecordOrigin};
use medkey_protocol::envelope::{DataKey, EncryptionPublicKey, EncryptionSecret, RecordBinding, record, stream, wrap};
use medkey_protocol::wallet_key;
use serde_json::{Value, json};

const CHAIN_ID: u64 = 31337;
const REGISTRY: Address = address!("0x5FbDB2315678afecb367f032d93F642f64180aa3");
/// anvil's account 1, a public dev key.
const PATIENT_KEY: B256 = b256!("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const STREAM_LENGTHS: [usize; 7] = [0, 1, 1023, 1024, 1025, 2048, 3000];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn hex(bytes: impl AsRef<[u8]>) -> String {
    alloy::hex::encode_prefixed(bytes)
}

fn unhex(value: &Value) -> Vec<u8> {
    alloy::hex::decode(value.as_str().unwrap_or_else(|| panic!("{value} is not a hex string"))).unwrap()
}

fn arr<const N: usize>(value: &Value) -> [u8; N] {
    unhex(value).try_into().unwrap_or_else(|_| panic!("{value} is not {N} bytes"))
}

fn binding_of(value: &Value) -> RecordBinding {
    let id: [u8; 16] =
        alloy::hex::decode(value["record_id"].as_str().unwrap().replace('-', "")).unwrap().try_into().unwrap();
    RecordBinding {
        record_id: RecordId::from(id),
        version: value["version"].as_u64().unwrap() as u32,
        owner: value["owner"].as_str().unwrap().parse().unwrap(),
        category: value["category"].as_u64().unwrap() as u8,
        resource_type: value["resource_type"].as_str().unwrap().into(),
    }
}

/// Deterministic filler: byte i is (i * 31 + 7) mod 251.
fn filler(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

fn build() -> Value {
    let owner = PrivateKeySigner::from_bytes(&PATIENT_KEY).unwrap();
    let binding_json = json!({
        "record_id": "6f1c2a4e-9b3d-4c5e-8f70-1a2b3c4d5e6f",
        "version": 2,
        "owner": owner.address().to_checksum(None),
        "category": 7,
        "resource_type": "Observation",
    });
    let binding = binding_of(&binding_json);
    let data_key = DataKey::from_bytes([0x11; 32]);
    let plaintext = r#"{"resourceType":"Observation","status":"final","code":{"text":"Blood pressure"},"valueString":"120/80 mmHg — ½"}"#;
    let nonce = [0x22; 12];
    let sealed = record::seal_with_nonce(&data_key, &binding, plaintext.as_bytes(), nonce).unwrap();

    let recipient = EncryptionSecret::from_bytes([0x33; 32]);
    let ephemeral = EncryptionSecret::from_bytes([0x44; 32]);
    let wrapped = wrap::wrap_with_ephemeral(&data_key, &recipient.public_key(), &binding, &ephemeral).unwrap();

    let streams: Vec<Value> = STREAM_LENGTHS
        .iter()
        .map(|&len| {
            let mut out = Vec::new();
            stream::encrypt_with_prefix(&data_key, &binding, 1024, [0x55; 7], filler(len).as_slice(), &mut out)
                .unwrap();
            json!({"length": len, "chunk_size": 1024, "prefix": hex([0x55; 7]), "stream": hex(out)})
        })
        .collect();

    let statement = wallet_key::statement(owner.address());
    let signature = owner.sign_message_sync(statement.as_bytes()).unwrap().as_bytes();
    let derived = wallet_key::derive(owner.address(), &signature).unwrap();

    let grant = Grant {
        patient: owner.address(),
        provider: address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
        categories: 0b1000_0001,
        recordsRoot: B256::ZERO,
        purpose: 0,
        notBefore: 0,
        expiresAt: 1_800_000_000,
        write: false,
        nonce: 3,
        deadline: U256::from(1_790_000_000u64),
    };
    let digest = grant.eip712_signing_hash(&eip712::domain(CHAIN_ID, REGISTRY));

    // A record origin with a provider source (SMART on FHIR), sealed under the recipient's key.
    let origin_json = r#"{"bundles":[{"key":"k1","header":{"resourceType":"Bundle","type":"searchset","total":2},"position":1}],"source":{"server":"https://fhir.example.org/R4","resourceType":"Condition","id":"c-1","versionId":"3","retrievedAt":"2026-12-07T10:00:00Z","sha256":"00ff"}}"#;
    let origin: RecordOrigin = serde_json::from_str(origin_json).unwrap();
    let origin_nonce = [0x66; 12];
    let sealed_origin = OriginKey::derive(&recipient)
        .seal_with_nonce(&binding.record_id, owner.address(), &origin, origin_nonce)
        .unwrap();

    // A provider connection, sealed under the recipient's key.
    let connection_json = r#"{"id":"6f1c2b0e9d8a4c3b8e7f6a5d4c3b2a19","server":{"fhirBase":"https://fhir.example.org/R4","issuer":"https://auth.example.org","authorizationEndpoint":"https://auth.example.org/authorize","tokenEndpoint":"https://auth.example.org/token","scopesSupported":[],"capabilities":[]},"clientId":"medkey","patient":"355","refreshToken":"r-1","scope":"patient/*.rs","connectedAt":"2026-12-07T10:00:00Z","status":"ok"}"#;
    let connection_id =
        [0x6f, 0x1c, 0x2b, 0x0e, 0x9d, 0x8a, 0x4c, 0x3b, 0x8e, 0x7f, 0x6a, 0x5d, 0x4c, 0x3b, 0x2a, 0x19];
    let connection_nonce = [0x77; 12];
    let sealed_connection = ConnectionKey::derive(&recipient)
        .seal_with_nonce(&connection_id, owner.address(), connection_json.as_bytes(), connection_nonce)
        .unwrap();

    json!({
        "comment": "Built by protocol/tests/cross_vectors.rs from fixed inputs; see that file to regenerate.",
        "binding": { "fields": binding_json, "bytes": hex(binding.to_bytes().unwrap()) },
        "record": { "data_key": hex(data_key.as_bytes()), "nonce": hex(nonce), "plaintext": plaintext, "sealed": hex(&sealed) },
        "wrap": {
            "recipient_secret": hex(recipient.to_bytes()),
            "recipient_public": hex(recipient.public_key().0),
            "ephemeral_secret": hex(ephemeral.to_bytes()),
            "wrapped": hex(wrapped),
        },
        "streams": { "filler": "byte i = (i * 31 + 7) mod 251", "cases": streams },
        "wallet_key": {
            "private_key": hex(PATIENT_KEY),
            "account": owner.address().to_checksum(None),
            "statement": statement,
            "signature": hex(signature),
            "secret": hex(derived.to_bytes()),
            "public_key": hex(derived.public_key().0),
        },
        "eip712": {
            "chain_id": CHAIN_ID,
            "registry": REGISTRY.to_checksum(None),
            "typed_data": eip712::typed_data(&grant, CHAIN_ID, REGISTRY),
            "digest": hex(digest),
        },
        "audit": audit_vectors(owner.address()),
        "categories": category_vectors(),
        "category_list": category_list(),
        "directory_profile": profile_vector(&owner),
        "origin": {
            "owner_secret": hex(recipient.to_bytes()),
            "record_id": binding_json["record_id"],
            "owner": owner.address().to_checksum(None),
            "origin": origin_json,
            "nonce": hex(origin_nonce),
            "sealed": hex(&sealed_origin),
        },
        "account_secret": account_secret_vector(),
        "connection": {
            "owner_secret": hex(recipient.to_bytes()),
            "owner": owner.address().to_checksum(None),
            "connection": connection_json,
            "nonce": hex(connection_nonce),
            "sealed": hex(&sealed_connection),
        },
    })
}

/// A passkey account's secret and what derives from it: the Ethereum account and the X25519
/// encryption key at epochs 0 and 1 (docs/envelope.md, "Account secret").
fn account_secret_vector() -> Value {
    let bytes: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(7).wrapping_add(3));
    let secret = AccountSecret::from_bytes(bytes);
    let epochs: Vec<Value> = [0u32, 1]
        .into_iter()
        .map(|epoch| {
            let key = secret.encryption_secret(epoch);
            json!({"epoch": epoch, "x25519_secret": hex(key.to_bytes()), "x25519_public": hex(key.public_key().0)})
        })
        .collect();
    json!({
        "secret": hex(bytes),
        "private_key": hex(secret.ethereum_signer().to_bytes()),
        "address": secret.address().to_checksum(None),
        "epochs": epochs,
    })
}

/// The consent categories by name, in bit order (the contract's `uint16` mask): both languages
/// pin the same list, so neither can add, drop or reorder one alone.
fn category_list() -> Value {
    json!(medkey_protocol::Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>())
}

/// A provider profile signed by anvil's account 1: its EIP-712 digest, the registry's
/// commitment (the first 31 bytes) and the signature.
fn profile_vector(signer: &PrivateKeySigner) -> Value {
    let profile = medkey_protocol::directory::DirectoryProfile {
        provider: signer.address(),
        encryption_key: B256::repeat_byte(0x42),
        display_name: "Dr. María José Núñez".into(),
        organization: "Clínica Río".into(),
        npi: "1234567893".into(),
        taxonomy: "207Q00000X".into(),
        city: "San Juan".into(),
        country: "PR".into(),
        website: "https://clinica-rio.example".into(),
        phone: "+1 787 555 0100".into(),
        email: String::new(),
        issued_at: 1_800_000_000,
    };
    let digest = profile.signing_hash(CHAIN_ID, REGISTRY);
    json!({
        "profile": profile,
        "digest": hex(digest),
        "commitment": hex(profile.commitment(CHAIN_ID, REGISTRY)),
        "signature": hex(signer.sign_hash_sync(&digest).unwrap().as_bytes()),
    })
}

/// The category inferred for each official example in tests/fixtures/fhir-r4, and for a few
/// resources that exercise the sensitive and Observation rules.
fn category_vectors() -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fhir-r4");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut resources: Vec<Value> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect();
    let icd = |code: &str| json!({"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]}});
    let obs = |code: &str| json!({"resourceType": "Observation", "category": [{"coding": [{"code": code}]}]});
    resources.extend([
        icd("F32.1"),
        icd("F10.2"),
        icd("O80"),
        icd("J45"),
        obs("vital-signs"),
        obs("laboratory"),
        obs("survey"),
    ]);
    resources.push(json!({"resourceType": "DiagnosticReport", "category": [{"coding": [{"code": "RAD"}]}]}));
    resources.push(json!({"resourceType": "DiagnosticReport", "category": [{"coding": [{"code": "GE"}]}]}));
    resources.push(json!({"resourceType": "Questionnaire"}));
    // Evidence other than ICD-10: LOINC, SNOMED CT, profiles, extensions, words (and a near miss).
    let coded = |system: &str, code: &str| json!({"resourceType": "Observation", "code": {"coding": [{"system": system, "code": code}]}});
    resources.extend([
        coded("http://loinc.org", "44261-6"),
        coded("http://loinc.org", "11331-6"),
        coded("http://snomed.info/sct", "77386006"),
        coded("http://snomed.info/sct", "363779003"),
        json!({"resourceType": "Observation", "meta": {"profile": ["http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/variant"]}}),
        json!({"resourceType": "Observation", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/observation-geneticsGene"}]}),
        json!({"resourceType": "Condition", "code": {"text": "HIV infection, asymptomatic"}}),
        json!({"resourceType": "Observation", "code": {"text": "ST segment depression"}}),
        json!({"resourceType": "Procedure", "code": {"coding": [{"display": "Archive retrieval"}]}}),
    ]);
    let cases: Vec<Value> = resources
        .into_iter()
        .map(|resource| {
            let category = medkey_protocol::fhir_category::infer(&resource).map(|c| c.as_str());
            json!({"resource": resource, "category": category})
        })
        .collect();
    Value::Array(cases)
}

/// Seven entries, a signed head at every size, every inclusion proof at size 7 and every
/// consistency proof into size 7.
fn audit_vectors(patient: Address) -> Value {
    let operator = SigningKey::from_bytes(&[0x66; 32]);
    let provider = address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
    let entries: Vec<AuditEntry> = (0..7u64)
        .map(|i| {
            let mut entry = AuditEntry::new(
                if i % 2 == 0 { "key_released" } else { "key_denied" },
                provider,
                1_780_000_000_000 + i,
            );
            entry.patient = Some(patient);
            entry.record_id = (i % 3 != 0).then_some(RecordId::from([i as u8; 16]));
            entry.grant_id = (i % 2 == 0).then_some(B256::repeat_byte(i as u8 + 1));
            entry.purpose = (i < 4).then_some(i as u8);
            if i % 2 == 1 {
                entry.outcome = "no_live_grant".into();
            }
            entry
        })
        .collect();
    let mut tree = Tree::new();
    let mut heads = Vec::new();
    let mut trees = Vec::new();
    for entry in &entries {
        tree.push(entry.leaf());
        let root = B256::from_slice(tree.root().as_bytes().as_slice());
        heads.push(SignedTreeHead::sign(&operator, CHAIN_ID, tree.len(), root, 1_780_000_000_000 + tree.len()));
        trees.push(tree.clone());
    }
    let size = tree.len() as usize;
    let inclusion: Vec<Value> = (0..size)
        .map(|i| json!({"leaf_index": i, "proof": proof_hashes(tree.prove_inclusion(i).as_bytes())}))
        .collect();
    let consistency: Vec<Value> = (1..=size)
        .map(|from| json!({"from": from, "proof": proof_hashes(tree.prove_consistency(size - from).as_bytes())}))
        .collect();
    json!({
        "operator_public_key": hex(operator.verifying_key().as_bytes()),
        "entries": entries.iter().map(|e| json!({"entry": e, "canonical": hex(e.canonical_bytes()), "leaf": hex(e.leaf())})).collect::<Vec<_>>(),
        "tree_heads": heads,
        "inclusion": inclusion,
        "consistency": consistency,
    })
}

fn proof_hashes(proof: &[u8]) -> Vec<String> {
    proof.chunks(32).map(alloy::hex::encode).collect()
}

/// `value` with every object's keys in sorted order: the file's form whether or not some crate in
/// the build turns on serde_json's `preserve_order` (the JOSE crates do), which would otherwise
/// write keys in insertion order in a workspace build and sorted in this crate's own.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[test]
fn rust_vectors_equal_the_committed_file() {
    let built = serde_json::to_string_pretty(&sorted(build())).unwrap() + "\n";
    let path = dir().join("rust-v1.json");
    if std::env::var_os("MEDKEY_WRITE_VECTORS").is_some() {
        std::fs::write(&path, &built).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == built,
        "{} differs from what the code builds: the format changed. If intended (with a new version byte), \
         regenerate with MEDKEY_WRITE_VECTORS=1 cargo test -p medkey-protocol --test cross_vectors",
        path.display()
    );
}

#[test]
fn the_audit_vectors_check_out_in_rust() {
    let audit = &build()["audit"];
    let heads: Vec<SignedTreeHead> = serde_json::from_value(audit["tree_heads"].clone()).unwrap();
    let operator = ed25519_dalek::VerifyingKey::from_bytes(&arr(&audit["operator_public_key"])).unwrap();
    for head in &heads {
        head.verify(&operator).unwrap();
    }
    let last = heads.last().unwrap().root_hash();
    for case in audit["consistency"].as_array().unwrap() {
        let from = case["from"].as_u64().unwrap() as usize;
        let proof = medkey_protocol::audit::Consistency::try_from_bytes(hashes_of(&case["proof"])).unwrap();
        let old: Root = heads[from - 1].root_hash();
        last.verify_consistency(&old, &proof).unwrap();
    }
}

fn hashes_of(value: &Value) -> Vec<u8> {
    value.as_array().unwrap().iter().flat_map(|h| alloy::hex::decode(h.as_str().unwrap()).unwrap()).collect()
}

/// What the TypeScript library wrote opens here: its sealed record, wrapped key, streams at
/// every boundary, its derived wallet key and its EIP-712 digest.
#[test]
fn typescript_vectors_open_in_rust() {
    let path = dir().join("typescript-v1.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err} (written by `npm test` in web/)", path.display()));
    let ts: Value = serde_json::from_str(&text).unwrap();
    let binding = binding_of(&ts["binding"]["fields"]);
    assert_eq!(hex(binding.to_bytes().unwrap()), ts["binding"]["bytes"].as_str().unwrap());

    let recipient = EncryptionSecret::from_bytes(arr(&ts["wrap"]["recipient_secret"]));
    assert_eq!(hex(recipient.public_key().0), ts["wrap"]["recipient_public"].as_str().unwrap());
    let key = wrap::unwrap(&unhex(&ts["wrap"]["wrapped"]), &recipient, &binding).expect("the TS-wrapped key unwraps");
    let opened = record::open(&key, &binding, &unhex(&ts["record"]["sealed"])).expect("the TS-sealed record opens");
    assert_eq!(String::from_utf8(opened).unwrap(), ts["record"]["plaintext"].as_str().unwrap());

    let mut checked = 0;
    for case in ts["streams"]["cases"].as_array().unwrap() {
        let mut out = Vec::new();
        stream::decrypt(&key, &binding, unhex(&case["stream"]).as_slice(), &mut out).expect("the TS stream decrypts");
        assert_eq!(out, filler(case["length"].as_u64().unwrap() as usize));
        checked += 1;
    }
    assert_eq!(checked, STREAM_LENGTHS.len());

    let account: Address = ts["wallet_key"]["account"].as_str().unwrap().parse().unwrap();
    let derived = wallet_key::derive(account, &unhex(&ts["wallet_key"]["signature"])).unwrap();
    assert_eq!(hex(derived.public_key().0), ts["wallet_key"]["public_key"].as_str().unwrap());
    assert_eq!(ts["wallet_key"]["statement"].as_str().unwrap(), wallet_key::statement(account));
    let _ = EncryptionPublicKey(arr(&ts["wallet_key"]["public_key"]));
    assert_eq!(ts["category_list"], category_list(), "the TypeScript client's categories, in bit order");

    let origin = &ts["origin"];
    let owner: Address = origin["owner"].as_str().unwrap().parse().unwrap();
    let id = binding_of(&json!({"record_id": origin["record_id"], "version": 1, "owner": origin["owner"], "category": 0, "resource_type": "Patient"})).record_id;
    let opened = OriginKey::derive(&EncryptionSecret::from_bytes(arr(&origin["owner_secret"])))
        .open(&id, owner, &unhex(&origin["sealed"]))
        .expect("the TS-sealed origin opens");
    let expected: Value = serde_json::from_str(origin["origin"].as_str().unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&opened).unwrap(), expected, "every field, the provider source included");
}
