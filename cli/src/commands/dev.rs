//! `medkey dev`: a local chain with the ConsentRegistry deployed, for development and demos.

use std::path::PathBuf;

use alloy::node_bindings::Anvil;
use anyhow::Context;
use clap::Args;

use super::deploy::deploy;
use crate::signals::shutdown_signal;
use crate::tools;

/// Start a local anvil chain, deploy the ConsentRegistry, and keep running until Ctrl-C.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  medkey dev --port 8545")]
pub struct DevArgs {
    /// Port for the local chain's JSON-RPC.
    #[arg(long, default_value_t = 8545)]
    pub port: u16,
    /// Directory of per-network deployment files (the local chain writes 31337.json).
    #[arg(long, default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Deploy, print, and exit instead of waiting for Ctrl-C (stops the chain).
    #[arg(long)]
    pub exit_after_deploy: bool,
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    let anvil_path = tools::anvil()?;
    eprintln!("starting anvil ({}) on port {} ...", anvil_path.display(), args.port);
    let anvil = Anvil::at(&anvil_path)
        .port(args.port)
        .try_spawn()
        .with_context(|| format!("starting anvil on port {} (is the port already in use?)", args.port))?;
    let signer = anvil.keys()[0].clone().into();
    let deployment = deploy(&anvil.endpoint(), signer, None, 0).await?;
    let path = deployment.save(&args.deployments_dir)?;

    println!("Medkey dev chain is up");
    println!("  RPC              {}", anvil.endpoint());
    println!("  chain id         {}", deployment.chain_id);
    println!("  ConsentRegistry  {}", deployment.address);
    println!("  admin            {} (anvil account 0)", deployment.admin);
    println!("  deployment file  {}", path.display());
    if args.exit_after_deploy {
        return Ok(());
    }
    println!("Press Ctrl-C to stop.");
    shutdown_signal().await?;
    eprintln!("stopping anvil");
    Ok(()) // dropping `anvil` kills the chain
}
