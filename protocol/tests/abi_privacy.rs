//! The chain must carry nothing but addresses, bitmasks, codes, hashes and timestamps. This reads
//! the ABI the contract actually compiles to and fails if any event or function parameter could
//! carry free-form data (string, bytes, arrays of those, or anything outside the allow-list).
//! contracts/test/Privacy.t.sol checks the same on the emitted logs.

use alloy::json_abi::{JsonAbi, Param};
use medkey_protocol::bindings::ARTIFACT_JSON;

const FIXED_SIZE_TYPES: &[&str] =
    &["address", "bytes31", "bytes32", "bytes4", "bool", "uint8", "uint16", "uint32", "uint48", "uint64", "uint256"];

fn abi() -> JsonAbi {
    let artifact: serde_json::Value = serde_json::from_str(ARTIFACT_JSON).expect("artifact is JSON");
    serde_json::from_value(artifact["abi"].clone()).expect("artifact has an ABI")
}

fn leaf_types(p: &Param, out: &mut Vec<String>) {
    if p.components.is_empty() {
        out.push(p.ty.trim_end_matches("[]").to_owned());
    } else {
        p.components.iter().for_each(|c| leaf_types(c, out));
    }
}

#[test]
fn events_carry_only_fixed_size_fields() {
    let abi = abi();
    assert!(abi.events().count() >= 10, "expected the registry's events");
    for event in abi.events() {
        for input in &event.inputs {
            assert!(
                FIXED_SIZE_TYPES.contains(&input.ty.as_str()),
                "event {} field {} has type {}: only fixed-size fields may go on chain",
                event.name,
                input.name,
                input.ty
            );
        }
    }
}

#[test]
fn functions_take_no_free_form_data_except_signatures() {
    for function in abi().functions() {
        for input in &function.inputs {
            let mut leaves = Vec::new();
            leaf_types(input, &mut leaves);
            for ty in leaves {
                let allowed = FIXED_SIZE_TYPES.contains(&ty.as_str()) || (ty == "bytes" && input.name == "signature");
                assert!(allowed, "function {} parameter {} has type {ty}", function.name, input.name);
            }
        }
    }
}

#[test]
fn the_artifact_carries_deployable_bytecode() {
    let artifact: serde_json::Value = serde_json::from_str(ARTIFACT_JSON).unwrap();
    let code = artifact["bytecode"].as_str().unwrap();
    assert!(code.starts_with("0x") && code.len() > 10_000, "creation bytecode present");
}
