//! `medkey audit verify`: checks the vault's audit log the way Certificate Transparency
//! monitors check a log, and says exactly which check failed.
//!
//! 1. the tree head is signed by the operator key (given, published in `deployments/`, or
//!    pinned on first use);
//! 2. it extends the last head this client kept (same size: same root; else a consistency proof);
//! 3. it extends the head anchored on the ConsentRegistry (with `--rpc-url`);
//! 4. signed in (`MEDKEY_PRIVATE_KEY`), every entry about you is in the signed tree, and every
//!    entry verified on an earlier run is still served (a deleted or hidden entry fails).
//!
//! The head is kept in `--state-dir` only when every check passed.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use alloy::primitives::{Address, B256};
use alloy::providers::ProviderBuilder;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use medkey_protocol::ConsentRegistry;
use medkey_protocol::audit::SignedTreeHead;
use serde_json::{Value, json};

use crate::audit_proofs::{JSON_LINES, all_proven_entries, check_extends, parse_key, pass};
use crate::vault_client::VaultClient;
use crate::wallet::WalletArgs;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey audit log --since 2026-11-01\n  medkey audit verify --rpc-url http://127.0.0.1:8545"
)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    Verify(VerifyArgs),
    Log(super::audit_log::LogArgs),
}

/// Verify the vault's audit log: signature, consistency with the last head seen and with the
/// head anchored on chain, and inclusion of every entry about you.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey audit verify --vault http://127.0.0.1:8080 --rpc-url http://127.0.0.1:8545\n\nExit codes: 0 every check passed, 1 a check failed or the vault could not be reached."
)]
pub struct VerifyArgs {
    /// The vault's base URL.
    #[arg(long, env = "MEDKEY_VAULT_URL", default_value = "http://localhost:8080")]
    vault: String,
    /// The operator's Ed25519 public key (hex). Default: the `auditKey` of the deployment file;
    /// failing that, the key the vault publishes is pinned on first use and must not change.
    #[arg(long)]
    operator_key: Option<String>,
    /// An RPC URL of the chain, to check the head anchored on the registry (default for the
    /// local dev chain 31337: http://127.0.0.1:8545).
    #[arg(long, env = "MEDKEY_RPC_URL")]
    rpc_url: Option<String>,
    /// The registry's address (default: deployments/<chain id>.json).
    #[arg(long)]
    registry: Option<Address>,
    /// Directory of per-network deployment files (for the registry's address); the medkey
    /// home's `deployments/` is looked in too.
    #[arg(long, env = "MEDKEY_DEPLOYMENTS_DIR", default_value = "deployments")]
    deployments_dir: PathBuf,
    /// Where the last verified head and the pinned key are kept (default: the medkey home's
    /// `audit/`, e.g. ~/.medkey/audit).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// The account to sign in as, to check every entry about it (without a key or keystore,
    /// only the tree is checked).
    #[command(flatten)]
    wallet: WalletArgs,
    /// The SIWE domain the vault expects (default: the vault URL's host and port).
    #[arg(long)]
    siwe_domain: Option<String>,
    /// One JSON object per check on stdout (`{"ok": true, "check": …}`; a failure is
    /// `{"ok": false, "error": …}`) instead of `ok`/`FAIL` lines.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    match args.command {
        AuditCommand::Verify(args) => {
            let json = args.json;
            JSON_LINES.store(json, Ordering::Relaxed);
            let verified = verify(args).await;
            if let (true, Err(err)) = (json, &verified) {
                println!("{}", json!({"ok": false, "error": format!("{err:#}")}));
            }
            verified
        }
        AuditCommand::Log(args) => super::audit_log::run(args).await,
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let vault = VaultClient::new(&args.vault);
    let published = vault.operator_key().await?;
    let chain_id = published.chain_id;
    let state_dir = args.state_dir.clone().unwrap_or_else(|| crate::wallet::medkey_home().join("audit"));
    let state = State::at(&state_dir, chain_id, vault.base());
    let published_key = published.public_key;
    let deployment = crate::deployments::find(&args.deployments_dir, chain_id).ok();
    let (pinned, source) = match (&args.operator_key, deployment.as_ref().and_then(|d| d.audit_key.clone())) {
        (Some(key), _) => (Some(key.clone()), "given"),
        (None, Some(key)) => (Some(key), "published in the deployment file"),
        (None, None) => match state.pinned_key()? {
            Some(key) => (Some(key), "pinned"),
            None => (None, "pinned now"),
        },
    };
    if let Some(pinned) = &pinned
        && !pinned.trim_start_matches("0x").eq_ignore_ascii_case(&published_key)
    {
        bail!("FAIL  operator key: the vault now publishes {published_key}, not the {source} {pinned}");
    }
    let operator = parse_key(&published_key)?;
    let mut account = None;
    let wallet = args.wallet.is_configured().then(|| args.wallet.unlock()).transpose()?;
    let mut seen = match &wallet {
        Some(wallet) => state.seen(wallet.address())?,
        None => Vec::new(),
    };
    pass(&format!("operator key {published_key} ({source})"));

    let head = vault.tree_head().await?;
    head.verify(&operator).map_err(|e| anyhow::anyhow!("FAIL  tree head signature: {e}"))?;
    if head.chain_id != chain_id {
        bail!("FAIL  tree head is for chain {}, not {chain_id}", head.chain_id);
    }
    pass(&format!("tree head signed: size {}, root {}", head.size, head.root));

    if let Some(last) = state.last_head()? {
        check_extends(&vault, &operator, &last, &head, "the last head this client saw").await?;
    }
    // The local dev chain's endpoint is known; other chains need --rpc-url (or MEDKEY_RPC_URL).
    let rpc_url = args.rpc_url.clone().or_else(|| (chain_id == 31337).then(|| "http://127.0.0.1:8545".to_owned()));
    if let Some(rpc_url) = &rpc_url {
        let registry = match args.registry {
            Some(registry) => registry,
            None => {
                deployment
                    .as_ref()
                    .with_context(|| format!("no --registry and no deployment file for chain {chain_id}"))?
                    .address
            }
        };
        let provider = ProviderBuilder::new().connect_http(rpc_url.parse().context("--rpc-url is not a URL")?);
        match anchored_head(&ConsentRegistry::new(registry, provider)).await? {
            None => pass("no head anchored on chain yet"),
            Some((root, size)) => {
                let anchored = SignedTreeHead { chain_id, size, root, timestamp_ms: 0, signature: vec![] };
                check_extends(&vault, &operator, &anchored, &head, "the head anchored on chain").await?;
            }
        }
    }
    if let Some(wallet) = &wallet {
        let signer = &wallet.signer;
        let token = crate::session_cache::token(&vault, signer, chain_id, args.siwe_domain.as_deref()).await?;
        let entries = all_proven_entries(&vault, &token, &operator, &head, "").await?;
        pass(&format!("{} entries about {} are in the signed tree", entries.len(), signer.address()));
        let returned: std::collections::BTreeSet<u64> = entries.iter().map(|(index, _)| *index).collect();
        let missing: Vec<&SeenEntry> = seen.iter().filter(|e| !returned.contains(&e.index)).collect();
        if let Some(first) = missing.first() {
            bail!(
                "FAIL  {} entr{} verified on an earlier run no longer served, first: entry {} ({} at {}); \
                 the vault is hiding or has deleted them",
                missing.len(),
                if missing.len() == 1 { "y" } else { "ies" },
                first.index,
                first.kind,
                first.at_ms
            );
        }
        if !seen.is_empty() {
            pass(&format!("all {} entries seen on earlier runs are still served", seen.len()));
        }
        seen = entries
            .iter()
            .map(|(index, e)| SeenEntry { index: *index, kind: e.kind.clone(), at_ms: e.at_ms })
            .collect();
        account = Some(signer.address());
    }
    state.save(&published_key, &head, account.map(|a| (a, seen.as_slice())))?;
    pass(&format!("kept head {} in {}", head.size, state.dir.display()));
    Ok(())
}

/// The registry's latest anchored (root, size), if any.
async fn anchored_head<P: alloy::providers::Provider>(
    registry: &ConsentRegistry::ConsentRegistryInstance<P>,
) -> anyhow::Result<Option<(B256, u64)>> {
    let anchor = registry.latestAuditAnchor().call().await.context("reading the anchored head from the chain")?;
    Ok((anchor.size > 0).then_some((anchor.root, anchor.size)))
}

/// An entry this client verified once, by its place in the tree: the vault must keep serving it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct SeenEntry {
    index: u64,
    kind: String,
    at_ms: u64,
}

/// The client's memory, per vault: the pinned operator key, the last verified head and, per
/// account, the entries verified so far.
struct State {
    dir: PathBuf,
    file: PathBuf,
}

impl State {
    fn at(dir: &Path, chain_id: u64, vault: &str) -> Self {
        let name: String = vault.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        Self { dir: dir.to_owned(), file: dir.join(format!("{chain_id}-{name}.json")) }
    }

    fn read(&self) -> anyhow::Result<Option<Value>> {
        match std::fs::read_to_string(&self.file) {
            Ok(text) => {
                Ok(Some(serde_json::from_str(&text).with_context(|| format!("{} is corrupt", self.file.display()))?))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("reading {}", self.file.display())),
        }
    }

    fn pinned_key(&self) -> anyhow::Result<Option<String>> {
        Ok(self.read()?.and_then(|s| s["operator_key"].as_str().map(str::to_owned)))
    }

    fn last_head(&self) -> anyhow::Result<Option<SignedTreeHead>> {
        Ok(self.read()?.map(|s| serde_json::from_value(s["head"].clone())).transpose()?)
    }

    /// The entries about `account` verified on earlier runs: each must still be served.
    fn seen(&self, account: Address) -> anyhow::Result<Vec<SeenEntry>> {
        let Some(state) = self.read()? else { return Ok(Vec::new()) };
        let seen = &state["seen"][account.to_checksum(None)];
        if seen.is_null() {
            return Ok(Vec::new());
        }
        serde_json::from_value(seen.clone()).with_context(|| format!("{} is corrupt", self.file.display()))
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a state.
    fn save(&self, key: &str, head: &SignedTreeHead, seen: Option<(Address, &[SeenEntry])>) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir).with_context(|| format!("creating {}", self.dir.display()))?;
        let mut all_seen = self.read()?.map(|s| s["seen"].clone()).filter(Value::is_object).unwrap_or(json!({}));
        if let Some((account, entries)) = seen {
            all_seen[account.to_checksum(None)] = serde_json::to_value(entries)?;
        }
        let temporary = self.file.with_extension("json.tmp");
        let state = json!({"operator_key": key, "head": head, "seen": all_seen});
        std::fs::write(&temporary, serde_json::to_vec_pretty(&state)?)?;
        std::fs::rename(&temporary, &self.file).with_context(|| format!("writing {}", self.file.display()))?;
        Ok(())
    }
}
