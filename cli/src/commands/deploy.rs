//! `medkey deploy`: deploys the ConsentRegistry and writes `deployments/<chain-id>.json`.

use std::path::{Path, PathBuf};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, aliases::U48},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, bail};
use clap::Args;
use medkey_protocol::{ConsentRegistry, Deployment, bindings::abi_hash};

/// Deploy the ConsentRegistry to a chain and record where it lives.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0xac09… medkey deploy --rpc-url http://127.0.0.1:8545")]
pub struct DeployArgs {
    /// JSON-RPC endpoint of the chain to deploy to.
    #[arg(long, env = "MEDKEY_RPC_URL", default_value = "http://127.0.0.1:8545")]
    pub rpc_url: String,
    /// Deployer's private key (hex). Prefer the environment variable over the flag.
    #[arg(long, env = "MEDKEY_PRIVATE_KEY", hide_env_values = true)]
    pub private_key: String,
    /// Holder of the admin role (and, initially, registrar, pauser and operator). Defaults to the deployer.
    #[arg(long)]
    pub admin: Option<Address>,
    /// Seconds a scheduled admin transfer waits before the new admin may accept it.
    #[arg(long, default_value_t = 3 * 24 * 3600)]
    pub admin_delay: u64,
    /// The vault operator's Ed25519 audit key (hex, as `/.well-known/medkey-audit-key` shows it),
    /// published in the deployment file for `medkey audit verify`.
    #[arg(long)]
    pub audit_key: Option<String>,
    /// Directory of per-network deployment files.
    #[arg(long, default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Print the deployment as JSON instead of prose.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DeployArgs) -> anyhow::Result<()> {
    let signer: PrivateKeySigner =
        args.private_key.trim().parse().context("MEDKEY_PRIVATE_KEY / --private-key is not a valid hex private key")?;
    let audit_key = args.audit_key.as_deref().map(crate::audit_proofs::parse_key).transpose().context("--audit-key")?;
    let mut deployment = deploy(&args.rpc_url, signer, args.admin, args.admin_delay).await?;
    deployment.audit_key = audit_key.map(|key| alloy::hex::encode(key.as_bytes()));
    let path = crate::deployments::save(&deployment, &args.deployments_dir)?;
    report(&deployment, &path, args.json);
    Ok(())
}

/// Deploys and waits for the receipt; nothing is written until the contract is on chain.
pub async fn deploy(
    rpc_url: &str,
    signer: PrivateKeySigner,
    admin: Option<Address>,
    admin_delay: u64,
) -> anyhow::Result<Deployment> {
    let deployer = signer.address();
    let admin = admin.unwrap_or(deployer);
    let admin_delay = U48::try_from(admin_delay).context("--admin-delay does not fit in 48 bits")?;
    let url = rpc_url.parse().with_context(|| format!("'{rpc_url}' is not a valid RPC URL"))?;
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(url);
    let chain_id = provider.get_chain_id().await.with_context(|| format!("cannot reach the chain at {rpc_url}"))?;

    let receipt = ConsentRegistry::deploy_builder(&provider, admin, admin_delay)
        .send()
        .await
        .context("sending the deployment transaction")?
        .get_receipt()
        .await
        .context("waiting for the deployment receipt")?;
    if !receipt.status() {
        bail!("deployment transaction {} reverted", receipt.transaction_hash);
    }
    let address = receipt.contract_address.context("receipt has no contract address")?;
    Ok(Deployment {
        chain_id,
        contract: "ConsentRegistry".into(),
        address,
        deploy_block: receipt.block_number.context("receipt has no block number")?,
        tx_hash: receipt.transaction_hash,
        abi_hash: abi_hash(),
        deployer,
        admin,
        audit_key: None,
    })
}

fn report(d: &Deployment, path: &Path, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(d).expect("deployment serializes"));
    } else {
        println!("ConsentRegistry deployed on chain {} at {}", d.chain_id, d.address);
        println!("  block {}  tx {}", d.deploy_block, d.tx_hash);
        println!("  admin {}", d.admin);
        println!("  wrote {}", path.display());
    }
}
