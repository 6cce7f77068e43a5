//! A small world with audit history, shared by the audit tests: alice grants the lab
//! lab_results, uploads a lab result, the lab fetches its key (released), the clinic tries
//! (denied, no grant). Three audit entries about alice: created, released, denied.

use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use medkey_protocol::Category;

use crate::chain::TestChain;
use crate::db::{Backend, TestDb};
use crate::mirror::{RunningIndexer, test_config};
use crate::sealed::{encryption_secret, upload};
use crate::vault::TestVault;

pub struct AuditedWorld {
    pub chain: TestChain,
    pub db: TestDb,
    pub indexer: RunningIndexer,
    pub vault: TestVault,
    pub alice: PrivateKeySigner,
    pub clinic: PrivateKeySigner,
    pub patient_token: String,
    pub lab_token: String,
    pub clinic_token: String,
    /// `GET` this as the lab for one more release.
    pub key_path: String,
}

impl AuditedWorld {
    pub async fn start(backend: Backend) -> Self {
        let chain = TestChain::start().await;
        let db = TestDb::new(backend).await;
        let (alice, lab, clinic) = (chain.keys[1].clone(), chain.keys[3].clone(), chain.keys[4].clone());
        chain.register_provider(lab.address()).await;
        chain.register_provider(clinic.address()).await;
        let mut request = chain.request(lab.address(), &[Category::LabResults]).await;
        request.recordsRoot = B256::ZERO;
        chain.grant(alice.address(), request).await;
        let indexer = RunningIndexer::start(test_config(&chain, chain.rpc_url()), &db.url).await;
        indexer.wait_for_block(chain.head().await).await;
        let vault = TestVault::start(&indexer).await;
        let id = chain.chain_id();
        let (patient_token, lab_token, clinic_token) =
            (vault.login(&alice, id).await, vault.login(&lab, id).await, vault.login(&clinic, id).await);
        let readers = [(alice.address(), &encryption_secret(0xA1)), (lab.address(), &encryption_secret(0xB2))];
        let record = upload(alice.address(), 1, Category::LabResults, "Observation", &readers);
        assert_eq!(vault.call("POST", "/v1/records", Some(&patient_token), Some(record.body)).await.0, 201);
        let key_path = format!("/v1/records/{}/key", alloy::hex::encode(record.id));
        assert_eq!(vault.call("GET", &key_path, Some(&lab_token), None).await.0, 200);
        assert_eq!(vault.call("GET", &key_path, Some(&clinic_token), None).await.0, 403);
        Self { chain, db, indexer, vault, alice, clinic, patient_token, lab_token, clinic_token, key_path }
    }
}
