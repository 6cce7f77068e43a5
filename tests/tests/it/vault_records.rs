//! The vault's record store on both backends: versions, wrapped keys, crypto-shredding, precise
//! refusals of malformed input, record sets, and a scan proving no plaintext reaches the database.

use alloy::primitives::Address;
use medkey_e2e::db::{Backend, TestDb};
use medkey_e2e::on_both_backends;
use medkey_indexer::Store;
use medkey_protocol::Category;
use medkey_protocol::RecordId;
use medkey_protocol::envelope::{DataKey, EncryptionSecret, RecordBinding, record, wrap};
use medkey_vault::RecordSets;
use medkey_vault::records::{MAX_ORIGIN_BYTES, NewRecord, NewVersion, RecordError, Records};
use medkey_vault::release_reads::ReleaseReads;
use sqlx::Row;

/// A lab result as an EHR would export it; "Chalmers" and "6.3" must never appear in the vault.
const OBSERVATION: &str = r#"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"15074-8","display":"Glucose [Moles/volume] in Blood"}]},"subject":{"reference":"Patient/example","display":"Peter James Chalmers"},"valueQuantity":{"value":6.3,"unit":"mmol/l"}}"#;

struct Party {
    address: Address,
    secret: EncryptionSecret,
}

fn party(byte: u8) -> Party {
    Party { address: Address::repeat_byte(byte), secret: EncryptionSecret::from_bytes([byte; 32]) }
}

fn binding(id: RecordId, version: u32, owner: Address) -> RecordBinding {
    RecordBinding { record_id: id, version, owner, category: 0, resource_type: "Observation".into() }
}

/// What the patient's client does: a fresh data key, the record sealed, the key wrapped per reader.
fn client_encrypt(plain: &str, binding: &RecordBinding, readers: &[&Party]) -> NewVersion {
    let key = DataKey::generate().unwrap();
    NewVersion {
        ciphertext: record::seal(&key, binding, plain.as_bytes()).unwrap(),
        wrapped_keys: readers
            .iter()
            .map(|r| (r.address, wrap::wrap(&key, &r.secret.public_key(), binding).unwrap().to_vec()))
            .collect(),
    }
}

async fn client_decrypt(records: &Records, id: RecordId, version: u32, reader: &Party, owner: Address) -> String {
    let wrapped = records.wrapped_key(&id, version, reader.address).await.unwrap().expect("a key for this reader");
    let b = binding(id, version, owner);
    let key = wrap::unwrap(&wrapped, &reader.secret, &b).unwrap();
    String::from_utf8(record::open(&key, &b, &records.ciphertext(&id, version).await.unwrap()).unwrap()).unwrap()
}

async fn stores_only_ciphertext_keeps_versions_and_shreds(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    let records = Records::new(medkey_vault::db::migrate(&store).await.unwrap(), store.backend());
    let (patient, lab, late) = (party(0xA1), party(0xB2), party(0xC3));
    let id = [7u8; 16];
    let new = NewRecord {
        record_id: RecordId::from(id),
        owner: patient.address,
        category: Category::LabResults,
        resource_type: "Observation".into(),
        origin: Some(vec![0x5e; 48]),
    };

    let v1 = client_encrypt(
        OBSERVATION,
        &binding(medkey_protocol::RecordId::from(id), 1, patient.address),
        &[&patient, &lab],
    );
    let meta = records.create(&new, patient.address, &v1, 1_000).await.unwrap();
    assert_eq!((meta.current_version, meta.category, meta.erased), (1, Category::LabResults, false));
    assert_eq!(
        client_decrypt(&records, medkey_protocol::RecordId::from(id), 1, &lab, patient.address).await,
        OBSERVATION
    );
    assert!(matches!(records.create(&new, patient.address, &v1, 1_000).await, Err(RecordError::Exists)));
    assert_eq!(
        records.origins(&[RecordId::from(id), RecordId::from([8; 16])]).await.unwrap().get(&RecordId::from(id)),
        Some(&vec![0x5e; 48]),
        "origin kept"
    );

    let updated = OBSERVATION.replace("6.3", "5.9");
    let v2 = client_encrypt(&updated, &binding(medkey_protocol::RecordId::from(id), 2, patient.address), &[&patient]);
    assert_eq!(records.update(&RecordId::from(id), patient.address, &v2, 2_000).await.unwrap().current_version, 2);
    assert_eq!(
        client_decrypt(&records, medkey_protocol::RecordId::from(id), 2, &patient, patient.address).await,
        updated
    );
    assert_eq!(
        client_decrypt(&records, medkey_protocol::RecordId::from(id), 1, &patient, patient.address).await,
        OBSERVATION,
        "v1 kept"
    );
    assert!(
        records.wrapped_key(&RecordId::from(id), 2, lab.address).await.unwrap().is_none(),
        "v2 not wrapped for lab yet"
    );

    // A provider granted later gets a key wrapped by the patient's client.
    let key = {
        let b = binding(medkey_protocol::RecordId::from(id), 2, patient.address);
        wrap::unwrap(
            &records.wrapped_key(&RecordId::from(id), 2, patient.address).await.unwrap().unwrap(),
            &patient.secret,
            &b,
        )
        .unwrap()
    };
    let for_late =
        wrap::wrap(&key, &late.secret.public_key(), &binding(medkey_protocol::RecordId::from(id), 2, patient.address))
            .unwrap();
    records
        .add_wrapped_keys(
            &RecordId::from(id),
            2,
            &[(late.address, for_late.to_vec())],
            medkey_vault::records::KeyAdder::Owner,
            3_000,
        )
        .await
        .unwrap();
    assert_eq!(client_decrypt(&records, medkey_protocol::RecordId::from(id), 2, &late, patient.address).await, updated);
    assert_eq!(records.list(patient.address, None).await.unwrap().len(), 1);
    assert_eq!(records.list(patient.address, Some(Category::Imaging)).await.unwrap().len(), 0);

    // Nothing the vault stored contains the record's content.
    for needle in ["Chalmers", "6.3", "5.9", "15074-8", "Glucose"] {
        assert_eq!(occurrences(&store, needle.as_bytes()).await, 0, "{needle} leaked into the vault database");
        if backend == Backend::Sqlite {
            // Byte for byte, the database file and its write-ahead log, free pages included.
            let path = db.url.trim_start_matches("sqlite://");
            for file in [path.to_owned(), format!("{path}-wal")] {
                let bytes = std::fs::read(&file).unwrap_or_default();
                assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "{needle} in {file}");
            }
        }
    }
    assert!(occurrences(&store, b"Observation").await > 0, "the scan does see what is stored in the clear");

    records.erase(&RecordId::from(id), 4_000).await.unwrap();
    assert!(records.get(&RecordId::from(id)).await.unwrap().erased);
    assert!(matches!(records.ciphertext(&RecordId::from(id), 1).await, Err(RecordError::Erased)));
    assert!(records.wrapped_key(&RecordId::from(id), 2, patient.address).await.unwrap().is_none(), "keys shredded");
    assert!(records.origins(&[RecordId::from(id)]).await.unwrap().is_empty(), "origin shredded");
    assert!(matches!(records.update(&RecordId::from(id), patient.address, &v2, 5_000).await, Err(RecordError::Erased)));
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(stores_only_ciphertext_keeps_versions_and_shreds);

async fn refuses_malformed_input_and_foreign_record_sets(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    let records = Records::new(medkey_vault::db::migrate(&store).await.unwrap(), store.backend());
    let (patient, other) = (party(0xA1), party(0xD4));
    let new = |id: u8, resource: &str| NewRecord {
        record_id: RecordId::from([id; 16]),
        owner: patient.address,
        category: Category::LabResults,
        resource_type: resource.into(),
        origin: None,
    };
    let too_big = NewRecord { origin: Some(vec![0; MAX_ORIGIN_BYTES + 1]), ..new(3, "Observation") };
    let good3 = client_encrypt(
        OBSERVATION,
        &binding(medkey_protocol::RecordId::from([3; 16]), 1, patient.address),
        &[&patient],
    );
    let err = records.create(&too_big, patient.address, &good3, 0).await.unwrap_err();
    assert!(matches!(err, RecordError::OriginTooLarge), "{err}");
    let good = client_encrypt(
        OBSERVATION,
        &binding(medkey_protocol::RecordId::from([1; 16]), 1, patient.address),
        &[&patient],
    );
    let err = records.create(&new(1, "Observations"), patient.address, &good, 0).await.unwrap_err();
    assert!(matches!(err, RecordError::UnknownResourceType(ref t) if t == "Observations"), "{err}");
    let plaintext = NewVersion { ciphertext: OBSERVATION.as_bytes().to_vec(), ..good.clone() };
    assert!(matches!(
        records.create(&new(1, "Observation"), patient.address, &plaintext, 0).await,
        Err(RecordError::InvalidCiphertext)
    ));
    let short_key = NewVersion { wrapped_keys: vec![(patient.address, vec![1; 80])], ..good.clone() };
    assert!(matches!(
        records.create(&new(1, "Observation"), patient.address, &short_key, 0).await,
        Err(RecordError::InvalidWrappedKey(a)) if a == patient.address
    ));
    let no_owner =
        client_encrypt(OBSERVATION, &binding(medkey_protocol::RecordId::from([1; 16]), 1, patient.address), &[&other]);
    assert!(matches!(
        records.create(&new(1, "Observation"), patient.address, &no_owner, 0).await,
        Err(RecordError::MissingOwnerKey)
    ));
    assert!(records.find(&RecordId::from([1; 16])).await.unwrap().is_none(), "refused input changed nothing");

    records.create(&new(1, "Observation"), patient.address, &good, 0).await.unwrap();
    let root = records.register_record_set(patient.address, &[RecordId::from([1; 16])]).await.unwrap();
    assert_eq!(root, medkey_protocol::consent::records_root(&[RecordId::from([1; 16])]));
    assert!(RecordSets::contains(&records, root, &RecordId::from([1; 16])).await.unwrap(), "the set covers its record");
    assert!(!RecordSets::contains(&records, root, &RecordId::from([2; 16])).await.unwrap(), "and no other");
    assert!(matches!(
        records.register_record_set(other.address, &[RecordId::from([1; 16])]).await,
        Err(RecordError::ForeignRecordInSet(_))
    ));
    assert!(matches!(
        records.register_record_set(patient.address, &[RecordId::from([9; 16])]).await,
        Err(RecordError::ForeignRecordInSet(_))
    ));
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(refuses_malformed_input_and_foreign_record_sets);

/// Counts rows, in any vault table, whose bytes contain `needle`.
async fn occurrences(store: &Store, needle: &[u8]) -> usize {
    let mut found = 0;
    for (table, columns) in [
        ("records", &["resource_type"][..]),
        ("record_versions", &["ciphertext"][..]),
        ("wrapped_keys", &["wrapped"][..]),
    ] {
        for column in columns {
            let sql = format!("SELECT {column} FROM {table}");
            for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(store.pool()).await.unwrap() {
                let bytes: Vec<u8> = row.try_get::<Option<Vec<u8>>, _>(0).ok().flatten().unwrap_or_else(|| {
                    row.try_get::<Option<String>, _>(0).ok().flatten().unwrap_or_default().into_bytes()
                });
                found += usize::from(bytes.windows(needle.len()).any(|w| w == needle));
            }
        }
    }
    found
}

/// Concurrent key releases are read in batches: every answer must be the one a lone read would
/// give — duplicates, unknown records, readers without a key, new versions and erasures included.
async fn batched_release_reads_answer_each_request_exactly(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    let records = Records::new(medkey_vault::db::migrate(&store).await.unwrap(), store.backend());
    let reads = ReleaseReads::new(records.clone());
    let (patient, lab, clinic) = (party(0xA1), party(0xB2), party(0xC3));
    let new = |n: u8| NewRecord {
        record_id: RecordId::from([n; 16]),
        owner: patient.address,
        category: Category::LabResults,
        resource_type: "Observation".into(),
        origin: None,
    };
    for n in 1..=3u8 {
        let readers: &[&Party] = if n == 2 { &[&patient] } else { &[&patient, &lab] };
        let version = client_encrypt(
            OBSERVATION,
            &binding(medkey_protocol::RecordId::from([n; 16]), 1, patient.address),
            readers,
        );
        records.create(&new(n), patient.address, &version, 1_000).await.unwrap();
    }
    let v2 = client_encrypt(
        OBSERVATION,
        &binding(medkey_protocol::RecordId::from([3; 16]), 2, patient.address),
        &[&patient],
    );
    records.update(&RecordId::from([3; 16]), patient.address, &v2, 2_000).await.unwrap();
    records.erase(&RecordId::from([1; 16]), 3_000).await.unwrap();

    // 200 requests at once, over 5 records (one unknown) and two readers.
    let asks: Vec<(RecordId, Address)> = (0..200usize)
        .map(|i| (RecordId::from([(i % 5) as u8; 16]), if i % 7 == 0 { clinic.address } else { lab.address }))
        .collect();
    let answers = futures_util::future::join_all(asks.iter().map(|(id, reader)| reads.get(*id, *reader))).await;
    for ((id, reader), answer) in asks.iter().zip(answers) {
        let answer = answer.unwrap();
        let lone = records.for_release(&[((*id), *reader)]).await.unwrap().remove(&((*id), *reader));
        assert_eq!(answer.as_ref().map(|v| &v.meta), lone.as_ref().map(|v| &v.meta));
        match (id[0], answer) {
            (0 | 4, None) => {}
            (1, Some(v)) => assert!(v.meta.erased && v.ciphertext.is_none() && v.wrapped_key.is_none(), "shredded"),
            (2, Some(v)) => assert!(v.ciphertext.is_some() && v.wrapped_key.is_none(), "never wrapped for the lab"),
            (3, Some(v)) => {
                assert_eq!(v.meta.current_version, 2);
                assert!(v.wrapped_key.is_none(), "v1's key does not open v2: {reader}");
            }
            (n, other) => panic!("record {n}: unexpected {other:?}"),
        }
    }
    let v1_only = records
        .for_release(&[(RecordId::from([2; 16]), patient.address), (RecordId::from([2; 16]), lab.address)])
        .await
        .unwrap();
    assert!(v1_only[&(RecordId::from([2; 16]), patient.address)].wrapped_key.is_some(), "the owner's key is there");
    assert!(v1_only[&(RecordId::from([2; 16]), lab.address)].wrapped_key.is_none());
    store.close().await;
    db.cleanup().await;
}
on_both_backends!(batched_release_reads_answer_each_request_exactly);
