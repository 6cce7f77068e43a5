//! Command-line surface: one module per top-level command.

mod audit;
mod audit_log;
mod deploy;
mod dev;
mod indexer;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "medkey",
    version,
    about = "Patient-owned medical records: consent on chain, records encrypted end to end",
    after_help = "Examples:\n  medkey dev                                  # local chain with the registry deployed\n  medkey indexer                              # mirror the registry into medkey.sqlite\n  MEDKEY_PRIVATE_KEY=0x… medkey deploy --rpc-url https://rpc.example"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the vault's audit log: signatures, consistency, anchors, inclusion.
    Audit(audit::AuditArgs),
    Deploy(deploy::DeployArgs),
    Dev(dev::DevArgs),
    Indexer(indexer::IndexerArgs),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Audit(args) => audit::run(args).await,
            Command::Deploy(args) => deploy::run(args).await,
            Command::Dev(args) => dev::run(args).await,
            Command::Indexer(args) => indexer::run(args).await,
        }
    }
}
