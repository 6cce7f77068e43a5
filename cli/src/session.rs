//! A signed-in account talking to the vault and reading the chain: what every patient and
//! provider command starts from.
//!
//! The chain is read directly (never through the vault) wherever trust matters: a provider's
//! encryption key comes from the registry itself, so a compromised vault cannot slip in a key
//! of its own and read what the patient wraps.

use std::path::PathBuf;

use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::SignerSync;
use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use clap::Args;
use medkey_protocol::api::{OperatorKey, PublishKeyBody, PublishedKey};
use medkey_protocol::envelope::EncryptionPublicKey;
use medkey_protocol::{ConsentRegistry, Deployment, account_key};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::vault_client::VaultClient;
use crate::wallet::{Wallet, WalletArgs};

/// Where the vault and the chain are.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// The vault's base URL.
    #[arg(long, env = "MEDKEY_VAULT_URL", default_value = "http://localhost:8080", global = true)]
    pub vault: String,
    /// The SIWE domain the vault expects (default: the vault URL's host and port).
    #[arg(long, env = "MEDKEY_SIWE_DOMAIN", global = true)]
    pub siwe_domain: Option<String>,
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "MEDKEY_RPC_URL", default_value = "http://127.0.0.1:8545", global = true)]
    pub rpc_url: String,
    /// Directory of per-network deployment files (the registry's address).
    #[arg(long, env = "MEDKEY_DEPLOYMENTS_DIR", default_value = "deployments", global = true)]
    pub deployments_dir: PathBuf,
    #[command(flatten)]
    pub wallet: WalletArgs,
}

pub struct Session {
    pub vault: VaultClient,
    pub token: String,
    pub wallet: Wallet,
    pub chain_id: u64,
    pub deployment: Deployment,
    pub chain: DynProvider,
}

impl Session {
    /// Unlocks the account, finds the network from the vault, checks it against the chain and
    /// the deployment file, and signs in.
    pub async fn open(args: &ConnectArgs) -> anyhow::Result<Self> {
        let wallet = args.wallet.unlock()?;
        let vault = VaultClient::new(&args.vault);
        let published: OperatorKey =
            vault.call(Method::GET, "/.well-known/medkey-audit-key", None, None::<&()>).await?;
        let chain_id = published.chain_id;
        let deployment = crate::deployments::find(&args.deployments_dir, chain_id)?;
        let chain = chain_provider(&args.rpc_url, &wallet)?;
        let rpc_chain =
            chain.get_chain_id().await.with_context(|| format!("cannot reach the chain at {}", args.rpc_url))?;
        if rpc_chain != chain_id {
            bail!("the vault serves chain {chain_id} but {} is chain {rpc_chain}", args.rpc_url);
        }
        let token = crate::session_cache::token(&vault, &wallet.signer, chain_id, args.siwe_domain.as_deref()).await?;
        Ok(Self { vault, token, wallet, chain_id, deployment, chain })
    }

    pub fn address(&self) -> Address {
        self.wallet.address()
    }

    pub fn registry(&self) -> ConsentRegistry::ConsentRegistryInstance<DynProvider> {
        ConsentRegistry::new(self.deployment.address, self.chain.clone())
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let method = method.parse().expect("a valid HTTP method");
        self.vault.send(method, path, Some(&self.token), body).await
    }

    /// A GET answering one of the API's types.
    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.vault.call(Method::GET, path, Some(&self.token), None::<&()>).await
    }

    /// A call with a typed body and answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> anyhow::Result<T> {
        self.vault.call(method, path, Some(&self.token), Some(body)).await
    }

    /// A provider's X25519 key as registered on chain; refuses unregistered or suspended ones.
    pub async fn provider_key(&self, provider: Address) -> anyhow::Result<EncryptionPublicKey> {
        let info = self.registry().getProvider(provider).call().await.context("reading the provider from the chain")?;
        match info.status {
            1 => {}
            2 => bail!("{provider} is suspended"),
            _ => bail!("{provider} is not a registered provider"),
        }
        Ok(EncryptionPublicKey(info.encryptionKey.0))
    }
}

impl Session {
    /// Directory names of these addresses, each checked against the chain (see `directory_check`).
    pub async fn names(
        &self,
        addresses: impl IntoIterator<Item = Address>,
    ) -> std::collections::HashMap<Address, String> {
        let mut unique: Vec<Address> = addresses.into_iter().collect();
        unique.sort();
        unique.dedup();
        crate::directory_check::names(&self.vault, &self.registry(), self.chain_id, &unique).await
    }

    /// Publishes this account's encryption key with its wallet's signature, so providers it
    /// lets write can wrap new records to it (the vault stores the statement, cannot forge it).
    pub async fn publish_encryption_key(&self) -> anyhow::Result<()> {
        let key = self.wallet.encryption_public_key().0;
        let statement = account_key::statement(self.address(), self.chain_id, &key);
        let signature = self.wallet.signer.sign_message_sync(statement.as_bytes())?;
        let body = PublishKeyBody {
            encryption_key: alloy::hex::encode_prefixed(key),
            signature: alloy::hex::encode_prefixed(signature.as_bytes()),
        };
        self.call::<Value>(Method::PUT, "/v1/account/encryption-key", &body).await?;
        Ok(())
    }

    /// Another account's published encryption key, accepted only with that account's signature.
    pub async fn account_key(&self, account: Address) -> anyhow::Result<EncryptionPublicKey> {
        let published: PublishedKey =
            self.get_as(&format!("/v1/accounts/{account}/encryption-key")).await.with_context(|| {
                format!("{account} has published no encryption key (the patient's `medkey grant --write` publishes it)")
            })?;
        let key: [u8; 32] = alloy::hex::decode(&published.encryption_key)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("a published key is 32 bytes"))?;
        let signature = alloy::hex::decode(&published.signature)?;
        if !account_key::verify(account, self.chain_id, &key, &signature) {
            bail!("the vault served a key for {account} that {account} did not sign; refusing to use it");
        }
        Ok(EncryptionPublicKey(key))
    }
}

/// An HTTP provider that signs transactions with the wallet's key.
pub fn chain_provider(rpc_url: &str, wallet: &Wallet) -> anyhow::Result<DynProvider> {
    let url = rpc_url.parse().with_context(|| format!("'{rpc_url}' is not a valid RPC URL"))?;
    Ok(ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(wallet.signer.clone()))
        .connect_http(url)
        .erased())
}
