//! The ConsentRegistry on chain, as the operator's and registrar's commands reach it: where it is
//! (`RegistryArgs`, shared by `medkey admin` and `medkey chain`), a connection to it, and
//! transactions that are simulated first so a refusal comes back as the registry's own error
//! with a hint, before any gas is spent.

use alloy::contract::SolCallBuilder;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolInterface};
use anyhow::{Context, bail};
use clap::Args;
use medkey_protocol::ConsentRegistry::{self, ConsentRegistryErrors, ConsentRegistryInstance};
use medkey_protocol::Deployment;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// Where the registry is; shared by `medkey admin` and `medkey chain`.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "MEDKEY_RPC_URL", default_value = "http://127.0.0.1:8545", global = true)]
    pub rpc_url: String,
    /// The ConsentRegistry's address (default: the one in <deployments-dir>/<chain id>.json).
    #[arg(long, global = true)]
    pub registry: Option<Address>,
    /// Directory of per-network deployment files.
    #[arg(long, default_value = "deployments", global = true)]
    pub deployments_dir: PathBuf,
}

/// A connection to the chain and the registry on it.
pub struct Registry {
    pub provider: DynProvider,
    pub chain_id: u64,
    pub address: Address,
    /// The deployment file, when it describes this registry.
    pub deployment: Option<Deployment>,
}

impl RegistryArgs {
    /// Connects (sending from `signer` when given) and checks a contract lives at the address.
    pub async fn connect(&self, signer: Option<PrivateKeySigner>) -> anyhow::Result<Registry> {
        let url = self.rpc_url.parse().with_context(|| format!("'{}' is not a valid RPC URL", self.rpc_url))?;
        let provider = match signer {
            Some(signer) => ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(url).erased(),
            None => ProviderBuilder::new().connect_http(url).erased(),
        };
        let chain_id =
            provider.get_chain_id().await.with_context(|| format!("cannot reach the chain at {}", self.rpc_url))?;
        let (address, deployment) = match self.registry {
            Some(address) => {
                let deployment =
                    Deployment::load(&self.deployments_dir, chain_id).ok().filter(|d| d.address == address);
                (address, deployment)
            }
            None => {
                let deployment = Deployment::load(&self.deployments_dir, chain_id)
                    .map_err(|err| anyhow::anyhow!("{err}; or pass --registry 0x…"))?;
                (deployment.address, Some(deployment))
            }
        };
        let code = provider.get_code_at(address).await.context("reading the registry's code")?;
        if code.is_empty() {
            bail!(
                "there is no contract at {address} on chain {chain_id} (wrong --registry, --rpc-url or deployment file?)"
            );
        }
        Ok(Registry { provider, chain_id, address, deployment })
    }
}

impl Registry {
    pub fn contract(&self) -> ConsentRegistryInstance<DynProvider> {
        ConsentRegistry::new(self.address, self.provider.clone())
    }
}

/// A transaction the chain mined.
pub struct Sent {
    pub tx_hash: B256,
    pub block: u64,
    pub from: Address,
}

/// Simulates `call` from `from`: a refusal comes back as the registry's error, with a hint.
pub async fn simulate<C: SolCall>(
    call: SolCallBuilder<&DynProvider, C>,
    from: Address,
    json: bool,
) -> anyhow::Result<()> {
    call.from(from).call().await.map(|_| ()).map_err(|err| explain(err, json))
}

/// Simulates `call` from `from` (a refusal comes back as the registry's error), then sends it and
/// waits for the receipt.
pub async fn transact<C: SolCall>(
    call: SolCallBuilder<&DynProvider, C>,
    from: Address,
    timeout: Duration,
    json: bool,
) -> anyhow::Result<Sent> {
    let call = call.from(from);
    if let Err(err) = call.call().await {
        return Err(explain(err, json));
    }
    let pending = call.send().await.map_err(|err| explain(err, json))?;
    let tx_hash = *pending.tx_hash();
    let receipt = pending
        .with_timeout(Some(timeout))
        .get_receipt()
        .await
        .with_context(|| format!("transaction {tx_hash} was sent but no receipt came within {timeout:?}"))?;
    let block = receipt.block_number.unwrap_or_default();
    if !receipt.status() {
        bail!(
            "transaction {tx_hash} reverted in block {block} although its simulation passed: the chain changed \
             in between; run the command again"
        );
    }
    Ok(Sent { tx_hash, block, from })
}

/// The registry's refusal by error name, fields and a hint; or the transport failure as is.
fn explain(err: alloy::contract::Error, json: bool) -> anyhow::Error {
    if let Some(decoded) = err.as_decoded_interface_error::<ConsentRegistryErrors>() {
        let name = ConsentRegistryErrors::name_by_selector(decoded.selector()).unwrap_or("unknown error");
        let (detail, hint) = describe(&decoded);
        if json {
            println!("{}", json!({"ok": false, "error": name, "detail": detail, "hint": hint}));
        }
        return anyhow::anyhow!("the registry refuses it: {name} ({detail})\nhint: {hint}");
    }
    if let Some(data) = err.as_revert_data() {
        return anyhow::anyhow!(
            "the registry reverted with data it does not declare ({data}); is --registry a ConsentRegistry \
             built from this ABI?"
        );
    }
    anyhow::Error::new(err).context("the chain did not take the call")
}

/// Plain-English detail and hint for each of the registry's errors.
fn describe(error: &ConsentRegistryErrors) -> (String, String) {
    use ConsentRegistryErrors as E;
    let (detail, hint): (String, &str) = match error {
        E::AccessControlUnauthorizedAccount(e) => (
            format!("{} does not hold {}", e.account, role_name(e.neededRole)),
            "send from an account that holds the role (the deployer holds every role at first), or have the \
             admin grant it to this one",
        ),
        E::ProviderNotRegistered(e) => (
            format!("{} is not a registered provider", e.provider),
            "register it first: medkey admin provider register",
        ),
        E::ProviderAlreadyRegistered(e) => (
            format!("{} is already registered", e.provider),
            "a suspended provider is reinstated (medkey admin provider reinstate), never registered again; a \
             provider replaces its own key with rotateEncryptionKey",
        ),
        E::ProviderNotActive(e) => (
            format!("{} is not an active provider", e.provider),
            "it is unregistered or already suspended: check with medkey admin provider show",
        ),
        E::ProviderNotSuspended(e) => {
            (format!("{} is not suspended", e.provider), "only a suspended provider can be reinstated")
        }
        E::InvalidEncryptionKey(_) => {
            ("the encryption key is zero".into(), "pass the provider's X25519 public key (medkey keys show)")
        }
        E::ZeroAddress(_) => ("the address is zero".into(), "pass the provider's Ethereum address"),
        E::EnforcedPause(_) => (
            "the registry is already paused".into(),
            "new grants stay refused until a pauser runs medkey admin unpause",
        ),
        E::ExpectedPause(_) => ("the registry is not paused".into(), "there is nothing to unpause; grants go through"),
        E::InvalidAuditAnchor(_) => ("the root or the size is zero".into(), "anchor a non-empty audit log"),
        E::AuditSizeNotIncreasing(e) => (
            format!("the chain already anchors size {}, not below {}", e.anchored, e.proposed),
            "anchor sizes only grow: wait for the audit log to grow past the anchored size",
        ),
        other => (format!("{other:?}"), "see contracts/src/IConsentRegistry.sol and docs/consent-model.md"),
    };
    (detail, hint.to_owned())
}

/// The registry's roles by name (the hash for an unknown one).
pub fn role_name(role: B256) -> String {
    if role.is_zero() {
        return "DEFAULT_ADMIN_ROLE".into();
    }
    ["REGISTRAR_ROLE", "PAUSER_ROLE", "OPERATOR_ROLE"]
        .into_iter()
        .find(|name| keccak256(name.as_bytes()) == role)
        .map_or_else(|| role.to_string(), str::to_owned)
}
