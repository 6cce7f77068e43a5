//! A real anvil with the ConsentRegistry deployed, and the calls tests make on it.

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolEvent, SolStruct};
use medkey_protocol::bindings::ConsentRegistry::{ConsentRegistryInstance, GrantCreated};
use medkey_protocol::bindings::IConsentRegistry::GrantRequest;
use medkey_protocol::{Category, ConsentRegistry, Purpose, eip712};

use crate::spawn_anvil;

/// A profile hash for providers registered without a directory profile.
pub const PROFILE_HASH: alloy::primitives::FixedBytes<31> = alloy::primitives::FixedBytes([0x11; 31]);
/// The reason hash the tests suspend and reinstate with.
pub const REASON_HASH: B256 = B256::repeat_byte(0x22);

/// Anvil plus a deployed registry. Account 0 is the admin (and relayer), 1–2 are patients,
/// 3–5 are providers; the wallet holds all their keys, so any of them can send.
pub struct TestChain {
    pub anvil: AnvilInstance,
    pub provider: DynProvider,
    pub registry: Address,
    pub deploy_block: u64,
    pub keys: Vec<PrivateKeySigner>,
}

impl TestChain {
    pub async fn start() -> Self {
        let anvil = spawn_anvil();
        let keys: Vec<PrivateKeySigner> = anvil.keys()[..6].iter().map(|k| k.clone().into()).collect();
        let mut wallet = EthereumWallet::new(keys[0].clone());
        for key in &keys[1..] {
            wallet.register_signer(key.clone());
        }
        // Nonces are read from the node on every send: a cached nonce would be wrong after evm_revert.
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(wallet)
            .connect_http(anvil.endpoint_url())
            .erased();
        let deployed = ConsentRegistry::deploy(provider.clone(), keys[0].address(), alloy::primitives::Uint::ZERO)
            .await
            .expect("deploys");
        let deploy_block = provider.get_block_number().await.unwrap();
        Self { anvil, provider, registry: *deployed.address(), deploy_block, keys }
    }

    pub fn admin(&self) -> Address {
        self.keys[0].address()
    }
    pub fn patient(&self, i: usize) -> Address {
        self.keys[1 + i].address()
    }
    pub fn provider_account(&self, i: usize) -> Address {
        self.keys[3 + i].address()
    }
    pub fn chain_id(&self) -> u64 {
        self.anvil.chain_id()
    }
    pub fn rpc_url(&self) -> String {
        self.anvil.endpoint()
    }
    pub fn ws_url(&self) -> String {
        self.anvil.ws_endpoint()
    }

    pub fn registry(&self) -> ConsentRegistryInstance<DynProvider> {
        ConsentRegistry::new(self.registry, self.provider.clone())
    }

    pub async fn head(&self) -> u64 {
        self.provider.get_block_number().await.unwrap()
    }

    pub async fn now(&self) -> u64 {
        let block = self.provider.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await.unwrap().unwrap();
        block.header.timestamp
    }

    /// A grant request from now for a day.
    pub async fn request(&self, provider: Address, categories: &[Category]) -> GrantRequest {
        let now = self.now().await as u32;
        GrantRequest {
            provider,
            categories: Category::mask(categories.iter().copied()),
            recordsRoot: B256::repeat_byte(0x42),
            purpose: Purpose::Treat as u8,
            notBefore: now,
            expiresAt: now + 86_400,
            write: false,
        }
    }

    /// A directory holding this chain's `deployments/<chain id>.json`, for the CLI's `--deployments-dir`.
    pub fn deployments_dir(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        medkey_protocol::Deployment {
            chain_id: self.chain_id(),
            contract: "ConsentRegistry".into(),
            address: self.registry,
            deploy_block: 0,
            tx_hash: B256::ZERO,
            abi_hash: B256::ZERO,
            deployer: self.admin(),
            admin: self.admin(),
            audit_key: None,
        }
        .save(dir.path())
        .expect("the deployment file is written");
        dir
    }

    /// A relayer with an account of its own, funded here: patients hold no ether for relaying.
    pub async fn funded_relayer(&self) -> medkey_vault::relay::Relayer {
        let key = PrivateKeySigner::random();
        let funds = U256::from(10u128.pow(18));
        let _: serde_json::Value =
            self.provider.raw_request("anvil_setBalance".into(), (key.address(), funds)).await.unwrap();
        let timeout = std::time::Duration::from_secs(30);
        medkey_vault::relay::Relayer::new(&self.rpc_url(), key, self.registry, self.chain_id(), timeout).unwrap()
    }

    /// Registers `provider` with a placeholder profile hash: it is registered but not listed in
    /// the directory (no signed profile); the directory's own tests register real profiles.
    pub async fn register_provider(&self, provider: Address) {
        let key = B256::left_padding_from(provider.as_slice());
        mined(self.registry().registerProvider(provider, key, PROFILE_HASH).from(self.admin()).send().await).await;
    }

    pub async fn grant(&self, patient: Address, request: GrantRequest) -> B256 {
        let receipt = mined(self.registry().grant(request).from(patient).send().await).await;
        created_grant_ids(&receipt)[0]
    }

    pub async fn grant_batch(&self, patient: Address, requests: Vec<GrantRequest>) -> Vec<B256> {
        let receipt = mined(self.registry().grantBatch(requests).from(patient).send().await).await;
        created_grant_ids(&receipt)
    }

    /// Patient `signer_index` signs, the admin relays.
    pub async fn grant_by_sig(&self, signer_index: usize, request: GrantRequest) -> B256 {
        let signer = &self.keys[signer_index];
        let deadline = U256::from(self.now().await + 3_600);
        let nonce = self.registry().nonces(signer.address()).call().await.unwrap();
        let message = eip712::Grant::new(signer.address(), &request, nonce, deadline);
        let digest = message.eip712_signing_hash(&eip712::domain(self.chain_id(), self.registry));
        let signature = Bytes::from(signer.sign_hash_sync(&digest).unwrap().as_bytes().to_vec());
        let registry = self.registry();
        let call = registry.grantBySig(signer.address(), request, nonce, deadline, signature);
        created_grant_ids(&mined(call.from(self.admin()).send().await).await)[0]
    }

    pub async fn revoke(&self, patient: Address, grant_id: B256) {
        mined(self.registry().revoke(grant_id).from(patient).send().await).await;
    }

    pub async fn revoke_by_sig(&self, signer_index: usize, grant_id: B256) {
        let signer = &self.keys[signer_index];
        let deadline = U256::from(self.now().await + 3_600);
        let nonce = self.registry().nonces(signer.address()).call().await.unwrap();
        let message = eip712::Revoke { patient: signer.address(), grantId: grant_id, nonce, deadline };
        let digest = message.eip712_signing_hash(&eip712::domain(self.chain_id(), self.registry));
        let signature = Bytes::from(signer.sign_hash_sync(&digest).unwrap().as_bytes().to_vec());
        let registry = self.registry();
        let call = registry.revokeBySig(grant_id, nonce, deadline, signature);
        mined(call.from(self.admin()).send().await).await;
    }

    /// Sends a plain value transfer: a block with no registry events.
    pub async fn empty_block(&self) {
        let tx = TransactionRequest::default().with_from(self.admin()).with_to(self.admin()).with_value(U256::from(1));
        mined(self.provider.send_transaction(tx).await).await;
    }

    pub async fn mine(&self, blocks: u64) {
        let _: serde_json::Value = self.provider.raw_request("anvil_mine".into(), (U256::from(blocks),)).await.unwrap();
    }

    pub async fn snapshot(&self) -> U256 {
        self.provider.raw_request("evm_snapshot".into(), ()).await.unwrap()
    }

    pub async fn revert(&self, id: U256) {
        let reverted: bool = self.provider.raw_request("evm_revert".into(), (id,)).await.unwrap();
        assert!(reverted, "evm_revert({id}) refused");
    }
}

/// Waits for the receipt by polling for it (alloy's block-watching heartbeat can miss a block
/// after evm_revert rewinds the chain).
pub async fn mined<E: std::fmt::Debug>(
    pending: Result<alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>, E>,
) -> TransactionReceipt {
    let pending = pending.expect("transaction accepted");
    let hash = *pending.tx_hash();
    let provider = pending.provider().clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(receipt) = provider.get_transaction_receipt(hash).await.expect("receipt query") {
            assert!(receipt.status(), "transaction reverted: {receipt:?}");
            return receipt;
        }
        assert!(std::time::Instant::now() < deadline, "transaction {hash} not mined within 30 s");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

pub fn created_grant_ids(receipt: &TransactionReceipt) -> Vec<B256> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.topic0() == Some(&GrantCreated::SIGNATURE_HASH))
        .map(|log| log.topics()[1])
        .collect()
}
