//! Command-line surface: one module per top-level command.

mod admin;
mod audit;
mod audit_log;
mod chain_events;
mod deploy;
mod dev;
mod directory;
mod emergency;
mod indexer;
mod keys;
mod portability;
mod provider;
mod provider_apply;
mod provider_connect;
mod records;
mod registrar;
mod requests;
mod serve;
mod share_link;
mod sharing;

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
    /// Administer the registry: register, suspend and reinstate providers, pause, anchor the audit log.
    Admin(admin::AdminArgs),
    /// Check the vault's audit log: signatures, consistency, anchors, inclusion.
    Audit(audit::AuditArgs),
    /// Read the registry straight from the chain: its events, decoded, like a block explorer.
    Chain(chain_events::ChainArgs),
    Deploy(deploy::DeployArgs),
    /// Find providers in the verified directory, checked against the chain.
    Directory(directory::DirectoryArgs),
    Dev(dev::DevArgs),
    Indexer(indexer::IndexerArgs),
    /// Create, import or show your account (wallet and encryption key).
    Keys(keys::KeysArgs),
    /// Encrypt and upload a FHIR R4 resource or Bundle (with an optional attachment).
    Upload(records::UploadArgs),
    /// List your records.
    Records(records::ListArgs),
    /// Decrypt and show one of your records.
    Show(records::ShowArgs),
    /// Store a new version of one of your records.
    Update(records::UpdateArgs),
    /// Erase one of your records (crypto-shredding).
    Delete(records::DeleteArgs),
    /// Grant a provider access (EIP-712 through the relayer, or --direct).
    Grant(sharing::GrantArgs),
    /// Revoke a grant.
    Revoke(sharing::RevokeArgs),
    /// Your grants, with the chain's view.
    Grants(sharing::GrantsArgs),
    /// Break-glass access: opt in or out, and which categories.
    Emergency(emergency::EmergencyArgs),
    /// Access requests from providers: list, approve (a grant you sign), decline.
    Requests(requests::RequestsArgs),
    /// Provider commands: patients, their records, fetch and decrypt.
    Provider(provider::ProviderArgs),
    /// Share records with anyone by a SMART Health Link (and QR code); list and revoke links.
    ShareLink(share_link::ShareLinkArgs),
    /// Decrypt everything here into a FHIR R4 Bundle (and NDJSON).
    Export(portability::ExportArgs),
    /// Import a FHIR Bundle as new records.
    Import(portability::ImportArgs),
    /// Your providers' patient portals (SMART on FHIR): connect, sync what changed, disconnect.
    Connect(provider_connect::ConnectionsArgs),
    /// Run the indexer and the vault API in production from a config file (medkey.toml).
    Serve(serve::ServeArgs),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Admin(args) => admin::run(args).await,
            Command::Audit(args) => audit::run(args).await,
            Command::Chain(args) => chain_events::run(args).await,
            Command::Deploy(args) => deploy::run(args).await,
            Command::Directory(args) => directory::run(args).await,
            Command::Dev(args) => dev::run(args).await,
            Command::Indexer(args) => indexer::run(args).await,
            Command::Keys(args) => keys::run(args).await,
            Command::Upload(args) => records::upload(args).await,
            Command::Records(args) => records::list(args).await,
            Command::Show(args) => records::show(args).await,
            Command::Update(args) => records::update(args).await,
            Command::Delete(args) => records::delete(args).await,
            Command::Grant(args) => sharing::grant(args).await,
            Command::Revoke(args) => sharing::revoke(args).await,
            Command::Grants(args) => sharing::grants(args).await,
            Command::Emergency(args) => emergency::run(args).await,
            Command::Requests(args) => requests::run(args).await,
            Command::Provider(args) => provider::run(args).await,
            Command::ShareLink(args) => share_link::run(args).await,
            Command::Export(args) => portability::export(args).await,
            Command::Import(args) => portability::import(args).await,
            Command::Connect(args) => provider_connect::run(args).await,
            Command::Serve(args) => serve::run(args).await,
        }
    }
}
