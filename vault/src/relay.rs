//! The gasless path: a patient signs an EIP-712 `Grant` or `Revoke` in their wallet, and the
//! vault's relayer account submits it with `grantBySig` / `revokeBySig`, paying the gas.
//!
//! The relayer cannot forge or alter anything: the registry checks the patient's signature,
//! nonce and deadline. Before spending gas the relayer checks the signature locally and
//! simulates the call, so a stale nonce, an expired deadline or a replay comes back as a precise
//! error (the registry's own error name) instead of a failed transaction.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, Bytes, Signature};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use medkey_protocol::ConsentRegistry::{self, ConsentRegistryErrors, ConsentRegistryInstance};
use medkey_protocol::eip712::{self, Grant, Revoke};

pub use medkey_protocol::api::Relayed;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("the signature is not the patient's over this message")]
    BadSignature,
    #[error("the registry refuses it: {0}")]
    Refused(String),
    #[error("the chain did not take the transaction: {0}")]
    Chain(String),
}

impl RelayError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadSignature => "bad_signature",
            Self::Refused(_) => "refused_by_registry",
            Self::Chain(_) => "chain_unavailable",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Relayer {
    registry: ConsentRegistryInstance<DynProvider>,
    /// The account that pays the gas.
    address: Address,
    chain_id: u64,
    timeout: Duration,
}

impl Relayer {
    /// A relayer sending from `key` (it pays the gas) to the registry over `rpc_url`.
    pub fn new(
        rpc_url: &str,
        key: PrivateKeySigner,
        registry: Address,
        chain_id: u64,
        timeout: Duration,
    ) -> Result<Self, String> {
        let address = key.address();
        let provider = sending_provider(rpc_url, key, "relayer")?;
        Ok(Self { registry: ConsentRegistry::new(registry, provider), address, chain_id, timeout })
    }

    /// The account that pays the gas of relayed grants and revocations.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Its balance in wei, as the chain has it now.
    pub async fn balance(&self) -> Result<alloy::primitives::U256, String> {
        let call = self.registry.provider().get_balance(self.address);
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            Ok(result) => result.map_err(|err| err.to_string()),
        }
    }

    pub fn registry(&self) -> Address {
        *self.registry.address()
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Submits a signed grant; answers once it is mined.
    pub async fn grant(&self, grant: &Grant, signature: &[u8]) -> Result<Relayed, RelayError> {
        self.check_signature(grant.patient, grant.eip712_hash(self.chain_id, self.registry()), signature)?;
        let request = medkey_protocol::bindings::IConsentRegistry::GrantRequest {
            provider: grant.provider,
            categories: grant.categories,
            recordsRoot: grant.recordsRoot,
            purpose: grant.purpose,
            notBefore: grant.notBefore,
            expiresAt: grant.expiresAt,
            write: grant.write,
        };
        let sig = Bytes::copy_from_slice(signature);
        let call = self.registry.grantBySig(grant.patient, request, grant.nonce, grant.deadline, sig);
        call.call().await.map_err(refusal)?;
        let receipt = self.mined(call.send().await.map_err(refusal)?.get_receipt()).await?;
        let created = receipt
            .inner
            .logs()
            .iter()
            .find_map(|log| ConsentRegistry::GrantCreated::decode_log_data(log.data()).ok())
            .ok_or_else(|| RelayError::Chain("the receipt has no GrantCreated event".into()))?;
        Ok(Relayed {
            tx_hash: receipt.transaction_hash,
            block_number: receipt.block_number.unwrap_or_default(),
            grant_id: created.grantId,
        })
    }

    /// Submits a signed revocation; answers once it is mined.
    pub async fn revoke(&self, revoke: &Revoke, signature: &[u8]) -> Result<Relayed, RelayError> {
        self.check_signature(revoke.patient, revoke.eip712_hash(self.chain_id, self.registry()), signature)?;
        let sig = Bytes::copy_from_slice(signature);
        let call = self.registry.revokeBySig(revoke.grantId, revoke.nonce, revoke.deadline, sig);
        call.call().await.map_err(refusal)?;
        let receipt = self.mined(call.send().await.map_err(refusal)?.get_receipt()).await?;
        Ok(Relayed {
            tx_hash: receipt.transaction_hash,
            block_number: receipt.block_number.unwrap_or_default(),
            grant_id: revoke.grantId,
        })
    }

    /// Plain ECDSA signatures are checked here; the registry also accepts EIP-1271 contract
    /// wallets, whose signatures this check cannot judge, so for those it defers to the chain.
    fn check_signature(&self, patient: Address, digest: B256, signature: &[u8]) -> Result<(), RelayError> {
        if signature.len() != 65 {
            return Ok(());
        }
        let signature = Signature::from_raw(signature).map_err(|_| RelayError::BadSignature)?;
        match signature.recover_address_from_prehash(&digest) {
            Ok(signer) if signer == patient => Ok(()),
            _ => Err(RelayError::BadSignature),
        }
    }

    async fn mined(
        &self,
        receipt: impl Future<Output = Result<TransactionReceipt, alloy::providers::PendingTransactionError>>,
    ) -> Result<TransactionReceipt, RelayError> {
        let receipt = tokio::time::timeout(self.timeout, receipt)
            .await
            .map_err(|_| RelayError::Chain(format!("not mined within {:?}", self.timeout)))?
            .map_err(|err| RelayError::Chain(err.to_string()))?;
        if !receipt.status() {
            return Err(RelayError::Chain(format!("transaction {} reverted", receipt.transaction_hash)));
        }
        Ok(receipt)
    }
}

/// A provider that signs and sends from `key` (the relayer's, the operator's) over HTTP.
pub(crate) fn sending_provider(rpc_url: &str, key: PrivateKeySigner, role: &str) -> Result<DynProvider, String> {
    let url = rpc_url.parse().map_err(|_| format!("the {role}'s RPC URL is not a URL"))?;
    Ok(ProviderBuilder::new().wallet(EthereumWallet::from(key)).connect_http(url).erased())
}

/// The registry's own error, by name and fields, when it has one.
fn refusal(err: alloy::contract::Error) -> RelayError {
    match err.as_decoded_interface_error::<ConsentRegistryErrors>() {
        Some(decoded) => RelayError::Refused(format!("{decoded:?}")),
        None if err.as_revert_data().is_some() => RelayError::Refused(err.to_string()),
        None => RelayError::Chain(err.to_string()),
    }
}

/// The digest a wallet signs for `message`, under this registry's domain.
trait Eip712Hash {
    fn eip712_hash(&self, chain_id: u64, registry: Address) -> B256;
}

impl<S: alloy::sol_types::SolStruct> Eip712Hash for S {
    fn eip712_hash(&self, chain_id: u64, registry: Address) -> B256 {
        self.eip712_signing_hash(&eip712::domain(chain_id, registry))
    }
}
