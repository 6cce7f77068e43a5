//! The ConsentRegistry as a new user meets it: deployed by the real `medkey` binary to a real
//! anvil, then driven through alloy bindings generated from the checked-in ABI.

use alloy::{
    network::{Ethereum, EthereumWallet},
    primitives::{B256, Bytes, U256, keccak256},
    providers::PendingTransactionBuilder,
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolStruct,
};
use medkey_e2e::{medkey, spawn_anvil, workspace_root};
use medkey_protocol::{
    Category, ConsentRegistry, Deployment, Purpose,
    bindings::{IConsentRegistry::GrantRequest, abi_hash},
    eip712,
};

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "medkey failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn dev_deployment_reproduces_the_committed_anvil_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let out = medkey(
        &["dev", "--port", &port, "--exit-after-deploy", "--deployments-dir", dir.path().to_str().unwrap()],
        &[],
    );
    let text = stdout(&out);
    assert!(text.contains("0x5FbDB2315678afecb367f032d93F642f64180aa3"), "deterministic address printed: {text}");

    let fresh = Deployment::load(dir.path(), 31337).unwrap();
    let committed = Deployment::load(&workspace_root().join("deployments"), 31337).unwrap();
    assert_eq!(fresh, committed, "deployments/31337.json is stale: run `make deployments` and commit it");
    assert_eq!(committed.abi_hash, abi_hash(), "deployment recorded against another ABI");
    assert_eq!(committed.deploy_block, 1);
}

#[test]
fn deploy_rejects_a_bad_key_and_an_unreachable_chain_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = medkey(&["deploy", "--deployments-dir", d], &[("MEDKEY_PRIVATE_KEY", "not-a-key")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid hex private key"));

    let key = format!("0x{}", "11".repeat(32));
    let out =
        medkey(&["deploy", "--rpc-url", "http://127.0.0.1:9", "--deployments-dir", d], &[("MEDKEY_PRIVATE_KEY", &key)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the chain"), "{out:?}");
    assert_eq!(std::fs::read_dir(d).unwrap().count(), 0, "nothing written on failure");
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_sign_relay_revoke_on_a_real_chain() {
    let anvil = spawn_anvil();
    let dir = tempfile::tempdir().unwrap();
    let admin_key = hex_key(&anvil.keys()[0].to_bytes());
    let out = medkey(
        &["deploy", "--rpc-url", &anvil.endpoint(), "--deployments-dir", dir.path().to_str().unwrap(), "--json"],
        &[("MEDKEY_PRIVATE_KEY", &admin_key)],
    );
    let printed: Deployment = serde_json::from_str(&stdout(&out)).unwrap();
    let deployment = Deployment::load(dir.path(), anvil.chain_id()).unwrap();
    assert_eq!(printed, deployment);

    let admin: PrivateKeySigner = anvil.keys()[0].clone().into();
    let patient: PrivateKeySigner = anvil.keys()[1].clone().into();
    let provider_addr = anvil.addresses()[2];
    let relayer: PrivateKeySigner = anvil.keys()[3].clone().into();
    let connect =
        |s: PrivateKeySigner| ProviderBuilder::new().wallet(EthereumWallet::from(s)).connect_http(anvil.endpoint_url());
    let as_admin = ConsentRegistry::new(deployment.address, connect(admin));
    let as_patient = ConsentRegistry::new(deployment.address, connect(patient.clone()));
    let as_relayer = ConsentRegistry::new(deployment.address, connect(relayer));

    let enc_key = keccak256("x25519 public key of the provider");
    let gas_register =
        gas(as_admin.registerProvider(provider_addr, enc_key, medkey_e2e::chain::PROFILE_HASH).send().await.unwrap())
            .await;
    let p = as_admin.getProvider(provider_addr).call().await.unwrap();
    assert_eq!(p.encryptionKey, enc_key);

    let now = as_admin.provider().get_block_by_number(Default::default()).await.unwrap().unwrap().header.timestamp;
    let request = GrantRequest {
        provider: provider_addr,
        categories: Category::mask([Category::LabResults, Category::Prescriptions]),
        recordsRoot: B256::ZERO,
        purpose: Purpose::Treat.index(),
        notBefore: 0,
        expiresAt: (now + 86_400) as u32,
        write: false,
    };

    // Direct grant from the patient's wallet.
    // The id depends on the block the grant lands in, so it is read from the receipt's event.
    let receipt = mined(as_patient.grant(request.clone()).send().await.unwrap()).await;
    let gas_grant = receipt.gas_used;
    let direct_id = created_grant_ids(&receipt)[0];
    assert!(as_patient.isLive(direct_id).call().await.unwrap());
    assert!(as_patient.canAccess(direct_id, patient.address(), provider_addr, 0).call().await.unwrap());
    assert!(
        !as_patient
            .canAccess(direct_id, patient.address(), provider_addr, Category::Imaging.index())
            .call()
            .await
            .unwrap()
    );

    // Gasless: the patient signs locally, the relayer pays. The digest we compute must be the contract's.
    let mut signed = request.clone();
    signed.categories = Category::Imaging.bit();
    let deadline = U256::from(now + 3600);
    let message = eip712::Grant::new(patient.address(), &signed, 0, deadline);
    let digest = message.eip712_signing_hash(&eip712::domain(anvil.chain_id(), deployment.address));
    assert_eq!(digest, as_patient.hashGrant(patient.address(), signed.clone(), 0, deadline).call().await.unwrap());
    let sig = Bytes::from(patient.sign_hash_sync(&digest).unwrap().as_bytes().to_vec());
    let call = as_relayer.grantBySig(patient.address(), signed.clone(), 0, deadline, sig.clone());
    let sig_id = call.call().await.unwrap(); // signature-derived: the same in every block
    let receipt = mined(call.send().await.unwrap()).await;
    let gas_grant_by_sig = receipt.gas_used;
    assert_eq!(created_grant_ids(&receipt), vec![sig_id]);
    let (stored, to) = {
        let r = as_patient.getGrant(sig_id).call().await.unwrap();
        (r.grant_, r.provider)
    };
    assert_eq!(
        (stored.patient, to),
        (patient.address(), provider_addr),
        "grant belongs to the signer, not the relayer"
    );

    // A replay of the same signature is refused with the contract's custom error.
    let replay = as_relayer.grantBySig(patient.address(), signed, 0, deadline, sig).call().await.unwrap_err();
    let decoded = replay.as_decoded_interface_error::<ConsentRegistry::ConsentRegistryErrors>();
    assert!(
        matches!(decoded, Some(ConsentRegistry::ConsentRegistryErrors::GrantExists(e)) if e.grantId == sig_id),
        "replay must fail with GrantExists, got {replay:?}"
    );

    // Batch of two, then revoke everything.
    let batch = vec![request.clone(), GrantRequest { categories: Category::Vitals.bit(), ..request.clone() }];
    let receipt = mined(as_patient.grantBatch(batch).send().await.unwrap()).await;
    let gas_batch2 = receipt.gas_used;
    assert_eq!(created_grant_ids(&receipt).len(), 2);
    let gas_revoke = gas(as_patient.revoke(direct_id).send().await.unwrap()).await;
    assert!(!as_patient.isLive(direct_id).call().await.unwrap(), "revoked grant is not live");

    let revoke = eip712::Revoke { patient: patient.address(), grantId: sig_id, nonce: 0, deadline };
    let digest = revoke.eip712_signing_hash(&eip712::domain(anvil.chain_id(), deployment.address));
    let sig = Bytes::from(patient.sign_hash_sync(&digest).unwrap().as_bytes().to_vec());
    let gas_revoke_by_sig = gas(as_relayer.revokeBySig(sig_id, 0, deadline, sig).send().await.unwrap()).await;
    assert!(!as_patient.isLive(sig_id).call().await.unwrap());

    // Whole-transaction gas (21,000 intrinsic + calldata + execution), for BENCHMARKS.md.
    println!(
        "tx gas on anvil: registerProvider {gas_register}, grant {gas_grant}, grantBySig {gas_grant_by_sig}, grantBatch(2) {gas_batch2}, revoke {gas_revoke}, revokeBySig {gas_revoke_by_sig}"
    );
    assert!(gas_grant < 60_000 && gas_grant_by_sig < 70_000 && gas_revoke < 32_000, "gas regressed");
}

async fn mined(pending: PendingTransactionBuilder<Ethereum>) -> TransactionReceipt {
    let receipt = pending.get_receipt().await.expect("receipt");
    assert!(receipt.status(), "transaction reverted");
    receipt
}

async fn gas(pending: PendingTransactionBuilder<Ethereum>) -> u64 {
    mined(pending).await.gas_used
}

fn created_grant_ids(receipt: &TransactionReceipt) -> Vec<B256> {
    receipt
        .logs()
        .iter()
        .filter_map(|log| log.log_decode::<ConsentRegistry::GrantCreated>().ok())
        .map(|log| log.inner.data.grantId)
        .collect()
}

fn hex_key(bytes: &[u8]) -> String {
    format!("0x{}", alloy::primitives::hex::encode(bytes))
}
