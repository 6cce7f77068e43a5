//! The audit tree against the RFC 6962 reference vectors (the leaves and roots Certificate
//! Transparency's implementations share, e.g. transparency-dev/merkle `testonly`), proofs of
//! every leaf and every pair of sizes, tampering of every kind, and signed tree heads.

use alloy::primitives::{Address, B256};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ed25519_dalek::SigningKey;
use medkey_protocol::RecordId;
use medkey_protocol::audit::{AuditEntry, Consistency, Inclusion, Root, SignedTreeHead, Tree};
use sha2::Sha256;

const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
/// Root of the first n leaves, n = 1..=8.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn hex(bytes: &[u8]) -> String {
    alloy::hex::encode(bytes)
}

fn reference_tree(n: usize) -> MemoryBackedTree<Sha256, Vec<u8>> {
    let mut tree = MemoryBackedTree::new();
    for leaf in &LEAVES[..n] {
        tree.push(alloy::hex::decode(leaf).unwrap());
    }
    tree
}

#[test]
fn roots_match_rfc6962() {
    for n in 1..=8 {
        assert_eq!(hex(reference_tree(n).root().as_bytes()), ROOTS[n - 1], "size {n}");
    }
}

#[test]
fn proofs_match_the_reference_paths() {
    let tree = reference_tree(8);
    let hashes = |p: &[u8]| p.chunks(32).map(hex).collect::<Vec<_>>();
    assert_eq!(
        hashes(tree.prove_inclusion(0).as_bytes()),
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
        ]
    );
    assert_eq!(
        hashes(tree.prove_inclusion(5).as_bytes()),
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
        ]
    );
    // Consistency from size 2 to 8 and 2 to 5: MTH(D[2:4]) then the right-hand subtrees.
    assert_eq!(
        hashes(reference_tree(8).prove_consistency(6).as_bytes()),
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
        ]
    );
    let mut five = reference_tree(2);
    for leaf in &LEAVES[2..5] {
        five.push(alloy::hex::decode(leaf).unwrap());
    }
    assert_eq!(hex(five.root().as_bytes()), ROOTS[4]);
}

/// A tree of `n` audit entries, as the vault builds it.
fn entries(n: usize) -> (Vec<AuditEntry>, Tree) {
    let mut tree = Tree::new();
    let list: Vec<AuditEntry> = (0..n)
        .map(|i| AuditEntry {
            patient: Some(Address::repeat_byte(1)),
            record_id: Some(RecordId::from([i as u8; 16])),
            outcome: if i % 3 == 0 { "no_live_grant".into() } else { "ok".into() },
            ..AuditEntry::new("key_released", Address::repeat_byte(2), 1_700_000_000_000 + i as u64)
        })
        .collect();
    for entry in &list {
        tree.push(entry.leaf());
    }
    (list, tree)
}

fn root_at(list: &[AuditEntry], size: usize) -> Root {
    let mut tree = Tree::new();
    for entry in &list[..size] {
        tree.push(entry.leaf());
    }
    tree.root()
}

#[test]
fn every_inclusion_and_consistency_proof_verifies_and_tampering_fails() {
    let (list, tree) = entries(37);
    let root = tree.root();
    for (i, entry) in list.iter().enumerate() {
        let proof = tree.prove_inclusion(i);
        root.verify_inclusion(&entry.leaf(), i as u64, &proof).unwrap();
        // An edited entry, another position, or a flipped proof byte all fail.
        let edited = AuditEntry { outcome: "ok-edited".into(), ..entry.clone() };
        assert!(root.verify_inclusion(&edited.leaf(), i as u64, &proof).is_err(), "edited {i}");
        if list.len() > 1 {
            let other = (i + 1) % list.len();
            assert!(root.verify_inclusion(&entry.leaf(), other as u64, &proof).is_err(), "moved {i}");
        }
        let mut bytes = proof.as_bytes().to_vec();
        if !bytes.is_empty() {
            bytes[7] ^= 1;
            let flipped = Inclusion::from_bytes(bytes);
            assert!(root.verify_inclusion(&entry.leaf(), i as u64, &flipped).is_err(), "flipped {i}");
        }
    }
    for old in 1..list.len() {
        let proof = tree.prove_consistency(list.len() - old);
        let old_root = root_at(&list, old);
        root.verify_consistency(&old_root, &proof).unwrap();
        // A log whose first `old` entries were changed (a fork, a deletion, a reordering) is not
        // an extension of the head the client remembers.
        let mut forked = list.clone();
        forked.swap(0, old.min(list.len() - 1));
        if forked[..old] != list[..old] {
            let forked_old = root_at(&forked, old);
            assert!(root.verify_consistency(&forked_old, &proof).is_err(), "fork at {old}");
        }
        let mut bytes = proof.as_bytes().to_vec();
        if !bytes.is_empty() {
            bytes[0] ^= 0x80;
            let flipped = Consistency::try_from_bytes(bytes).unwrap();
            assert!(root.verify_consistency(&old_root, &flipped).is_err(), "flipped {old}");
        }
    }
}

#[test]
fn canonical_entries_bind_every_field() {
    let base = AuditEntry {
        patient: Some(Address::repeat_byte(1)),
        record_id: Some(RecordId::from([7; 16])),
        grant_id: Some(B256::repeat_byte(9)),
        purpose: Some(0),
        ..AuditEntry::new("key_released", Address::repeat_byte(2), 5)
    };
    let variants = [
        AuditEntry { at_ms: 6, ..base.clone() },
        AuditEntry { kind: "key_denied".into(), ..base.clone() },
        AuditEntry { actor: Address::repeat_byte(3), ..base.clone() },
        AuditEntry { patient: None, ..base.clone() },
        AuditEntry { record_id: Some(RecordId::from([8; 16])), ..base.clone() },
        AuditEntry { grant_id: None, ..base.clone() },
        AuditEntry { purpose: Some(1), ..base.clone() },
        AuditEntry { outcome: "no_live_grant".into(), ..base.clone() },
    ];
    for variant in &variants {
        assert_ne!(variant.leaf(), base.leaf(), "{variant:?}");
    }
    // A field's absence is not confusable with a neighbour's presence.
    let a = AuditEntry { patient: None, record_id: Some(RecordId::from([0; 16])), ..base.clone() };
    let b = AuditEntry { patient: Some(Address::ZERO), record_id: None, ..base.clone() };
    assert_ne!(a.canonical_bytes(), b.canonical_bytes());
}

#[test]
fn tree_heads_verify_only_under_the_operator_key_and_unaltered() {
    let operator = SigningKey::from_bytes(&[7; 32]);
    let head = SignedTreeHead::sign(&operator, 31337, 8, B256::repeat_byte(5), 1_700_000_000_000);
    head.verify(&operator.verifying_key()).unwrap();
    assert!(head.verify(&SigningKey::from_bytes(&[8; 32]).verifying_key()).is_err());
    for altered in [
        SignedTreeHead { size: 9, ..head.clone() },
        SignedTreeHead { root: B256::repeat_byte(6), ..head.clone() },
        SignedTreeHead { chain_id: 1, ..head.clone() },
        SignedTreeHead { timestamp_ms: 1, ..head.clone() },
    ] {
        assert!(altered.verify(&operator.verifying_key()).is_err(), "{altered:?}");
    }
    let json = serde_json::to_string(&head).unwrap();
    assert_eq!(serde_json::from_str::<SignedTreeHead>(&json).unwrap(), head);
}
