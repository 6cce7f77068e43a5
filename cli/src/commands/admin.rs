//! `medkey admin`: what the registry's role holders do. Registrars register, suspend and
//! reinstate providers; pausers stop and restart new grants; operators anchor the vault's audit
//! log. Deploying is `medkey deploy`.
//!
//! Every write is simulated first (an `eth_call` from the sending account), so a refusal comes
//! back as the registry's own error name with a hint instead of a failed transaction, then sent
//! and followed to its receipt.

use std::time::Duration;

use alloy::primitives::{Address, B256, FixedBytes, keccak256};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use medkey_protocol::audit::{Consistency, Root, SignedTreeHead};
use medkey_vault::anchoring::Anchored;
use serde_json::{Value, json};

use super::registrar;
use crate::dates::rfc3339_ms;
use crate::registry::{Registry, RegistryArgs, Sent, simulate, transact};
use crate::vault_client::VaultClient;
use crate::wallet::WalletArgs;

/// Administer the ConsentRegistry: providers, pause, audit anchors (needs the matching role).
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    MEDKEY_PRIVATE_KEY=0x… medkey admin provider register 0x90F79bf6EB2c4f870365E785982E1f101E93b906 \
    --encryption-key 0x5a1c6d0e6e1a3c4b9f2d7e8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c\n  \
    MEDKEY_PRIVATE_KEY=0x… medkey admin provider suspend 0x90F79bf6EB2c4f870365E785982E1f101E93b906\n  \
    medkey admin provider show 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --json\n  \
    MEDKEY_PRIVATE_KEY=0x… medkey admin pause --rpc-url https://rpc.example\n  \
    MEDKEY_PRIVATE_KEY=0x… medkey admin anchor --vault http://127.0.0.1:8080\n\n\
    The registry's address comes from --registry, else from <deployments-dir>/<chain id>.json.\n\
    Exit codes: 0 done, 1 refused by the registry or failed (the message says why), 2 bad usage.")]
pub struct AdminArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    wallet: WalletArgs,
    /// Seconds to wait for a transaction to be mined.
    #[arg(long, default_value_t = 120, global = true)]
    timeout: u64,
    /// Print JSON instead of prose.
    #[arg(long, global = true)]
    json: bool,
    /// The vault's base URL (applications, and the words of a suspension's reason).
    #[arg(long, env = "MEDKEY_VAULT_URL", default_value = "http://localhost:8080", global = true)]
    vault: String,
    /// The SIWE domain the vault expects (default: the vault URL's host and port).
    #[arg(long, env = "MEDKEY_SIWE_DOMAIN", global = true)]
    siwe_domain: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Register, suspend, reinstate or show a provider (REGISTRAR_ROLE to change one).
    #[command(subcommand)]
    #[command(after_help = "Examples:\n  \
        MEDKEY_PRIVATE_KEY=0x… medkey admin provider register 0x90F79bf6EB2c4f870365E785982E1f101E93b906 \
        --encryption-key 0x5a1c6d0e6e1a3c4b9f2d7e8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c\n  \
        medkey admin provider show 0x90F79bf6EB2c4f870365E785982E1f101E93b906")]
    Provider(ProviderCommand),
    /// Stop new grants (direct, signed, batch, emergency); revocations keep working (PAUSER_ROLE).
    #[command(after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey admin pause --rpc-url http://127.0.0.1:8545")]
    Pause,
    /// Let new grants through again (PAUSER_ROLE).
    #[command(after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey admin unpause --rpc-url http://127.0.0.1:8545")]
    Unpause,
    /// Anchor the vault's audit-log tree head on chain now (OPERATOR_ROLE).
    Anchor(AnchorArgs),
    /// Provider applications waiting for a decision (REGISTRAR_ROLE).
    #[command(after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey admin applications --status pending")]
    Applications {
        /// pending, approved or declined.
        #[arg(long, default_value = "pending")]
        status: String,
    },
    /// Approve an application: checks the applicant's signature here, registers it on chain from
    /// your wallet (or commits to its new profile) and lists it in the directory (REGISTRAR_ROLE).
    #[command(
        after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey admin approve 8f2c0b7e5d4a41e3b6c9a0f1e2d3c4b5\n\n\
        Check the NPI against the official registry (NPPES, npiregistry.cms.hhs.gov) first: Medkey checks \
        only its check digit."
    )]
    Approve {
        /// The application id (medkey admin applications).
        id: String,
    },
    /// Decline an application with a reason the applicant sees (REGISTRAR_ROLE).
    #[command(after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey admin decline 8f2c0b7e5d4a41e3b6c9a0f1e2d3c4b5 \
        --reason \"The NPI belongs to another practitioner.\"")]
    Decline {
        id: String,
        /// Shown to the applicant, one line.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum ProviderCommand {
    /// Register a provider with the X25519 public key patients wrap data keys to.
    #[command(after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey admin provider register \
        0x90F79bf6EB2c4f870365E785982E1f101E93b906 \\\n      --encryption-key \
        0x5a1c6d0e6e1a3c4b9f2d7e8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c\n\n\
        The key is derived from the provider's own wallet signature of Medkey's key statement \
        (docs/envelope.md), so the provider obtains it without revealing anything secret: \
        `medkey keys show` (\"encryption public key\") with its keystore, or the provider app \
        with a browser or hardware wallet. Both give the same key for the same account.")]
    Register {
        /// The provider's Ethereum address.
        address: Address,
        /// The provider's X25519 encryption public key: 32 bytes of hex, as `medkey keys show` prints
        /// it for the provider's account (derived from its wallet signature).
        #[arg(long, value_parser = parse_encryption_key)]
        encryption_key: B256,
        /// The hash of the provider's signed directory profile (31 bytes of hex), as its application
        /// shows it. `medkey admin approve` does all of this from an application, with checks.
        #[arg(long, value_parser = parse_profile_hash)]
        profile_hash: FixedBytes<31>,
    },
    /// Suspend an active provider: its grants stop being live until it is reinstated.
    #[command(after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey admin provider suspend \
        0x90F79bf6EB2c4f870365E785982E1f101E93b906 --reason \"Licence under review by the state board\"")]
    Suspend {
        /// The provider's Ethereum address.
        address: Address,
        /// Why, in words: public, shown to the provider and to patients whose grants it affects.
        /// Only its hash goes on chain.
        #[arg(long)]
        reason: String,
    },
    /// Reinstate a suspended provider: its unrevoked, unexpired grants are live again.
    #[command(after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey admin provider reinstate \
        0x90F79bf6EB2c4f870365E785982E1f101E93b906 --reason \"Licence confirmed\"")]
    Reinstate {
        /// The provider's Ethereum address.
        address: Address,
        /// Why, in words (public; only its hash goes on chain).
        #[arg(long)]
        reason: String,
    },
    /// Show whether a provider is registered or suspended, and its encryption key (no key needed).
    #[command(after_help = "Example:\n  medkey admin provider show 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --json")]
    Show {
        /// The provider's Ethereum address.
        address: Address,
    },
}

/// Fetch the vault's signed tree head, check it, and anchor it with `anchorAudit(root, size)`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey admin anchor --vault http://127.0.0.1:8080 \
    --rpc-url http://127.0.0.1:8545\n\n\
    The head must be signed by the operator's audit key (--operator-key, else the deployment file's \
    auditKey, else the key the vault publishes) and, when the chain already holds an anchor, the vault \
    must prove that its log extends it. A head no larger than the anchored one is refused: sizes only grow.")]
struct AnchorArgs {
    /// The vault's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    vault: String,
    /// The operator's Ed25519 audit key (hex) the head must be signed with.
    #[arg(long)]
    operator_key: Option<String>,
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let json = args.json;
    match &args.command {
        AdminCommand::Provider(ProviderCommand::Show { address }) => {
            let registry = args.registry.connect(None).await?;
            show_provider(&registry, *address, json).await
        }
        AdminCommand::Provider(command) => {
            let (registry, from) = sender(&args).await?;
            let contract = registry.contract();
            let timeout = Duration::from_secs(args.timeout);
            let (sent, fields, prose) = match command {
                ProviderCommand::Register { address, encryption_key, profile_hash } => {
                    let call = contract.registerProvider(*address, *encryption_key, *profile_hash);
                    let sent = transact(call, from, timeout, json);
                    let fields =
                        json!({"action": "provider_register", "provider": address, "encryption_key": encryption_key});
                    (sent.await?, fields, format!("provider {address} registered with encryption key {encryption_key}"))
                }
                ProviderCommand::Suspend { address, reason } => {
                    let hash = keccak256(reason.trim().as_bytes());
                    // The registry's refusal first (no role, not active), then the words kept, then
                    // the transaction: a hash on chain is never left without its words.
                    simulate(contract.suspendProvider(*address, hash), from, json).await?;
                    registrar::keep_reason(&vault_session(&args).await?, reason, hash).await?;
                    let sent = transact(contract.suspendProvider(*address, hash), from, timeout, json).await?;
                    let prose = format!("provider {address} suspended: its grants are not live until it is reinstated");
                    (sent, json!({"action": "provider_suspend", "provider": address, "reason_hash": hash}), prose)
                }
                ProviderCommand::Reinstate { address, reason } => {
                    let hash = keccak256(reason.trim().as_bytes());
                    simulate(contract.reinstateProvider(*address, hash), from, json).await?;
                    registrar::keep_reason(&vault_session(&args).await?, reason, hash).await?;
                    let sent = transact(contract.reinstateProvider(*address, hash), from, timeout, json).await?;
                    let prose =
                        format!("provider {address} reinstated: its unrevoked, unexpired grants are live again");
                    (sent, json!({"action": "provider_reinstate", "provider": address, "reason_hash": hash}), prose)
                }
                ProviderCommand::Show { .. } => unreachable!("handled above"),
            };
            report(&sent, fields, &prose, json);
            Ok(())
        }
        AdminCommand::Pause | AdminCommand::Unpause => {
            let (registry, from) = sender(&args).await?;
            let contract = registry.contract();
            let timeout = Duration::from_secs(args.timeout);
            let pause = matches!(args.command, AdminCommand::Pause);
            let sent = if pause {
                transact(contract.pause(), from, timeout, json).await?
            } else {
                transact(contract.unpause(), from, timeout, json).await?
            };
            let (action, prose) = if pause {
                ("pause", "registry paused: new grants are refused, revocations still work")
            } else {
                ("unpause", "registry unpaused: new grants are accepted again")
            };
            report(&sent, json!({"action": action, "paused": pause}), prose, json);
            Ok(())
        }
        AdminCommand::Anchor(anchor_args) => anchor(&args, anchor_args).await,
        AdminCommand::Applications { status } => registrar::list(&vault_session(&args).await?, status, json).await,
        AdminCommand::Approve { id } => {
            let session = vault_session(&args).await?;
            let (registry, from) = sender(&args).await?;
            let timeout = Duration::from_secs(args.timeout);
            let (sent, fields, prose) = registrar::approve(&session, &registry, from, id, timeout, json).await?;
            report(&sent, fields, &prose, json);
            Ok(())
        }
        AdminCommand::Decline { id, reason } => {
            registrar::decline(&vault_session(&args).await?, id, reason, json).await
        }
    }
}

/// Signs in to the vault with the admin's account (a registrar's pages need it).
async fn vault_session(args: &AdminArgs) -> anyhow::Result<crate::session::Session> {
    let connect = crate::session::ConnectArgs {
        vault: args.vault.clone(),
        siwe_domain: args.siwe_domain.clone(),
        rpc_url: args.registry.rpc_url.clone(),
        deployments_dir: args.registry.deployments_dir.clone(),
        wallet: args.wallet.clone(),
    };
    crate::session::Session::open(&connect).await
}

/// The connection, sending from the unlocked account.
async fn sender(args: &AdminArgs) -> anyhow::Result<(Registry, Address)> {
    let wallet = args.wallet.unlock()?;
    let from = wallet.address();
    Ok((args.registry.connect(Some(wallet.signer)).await?, from))
}

fn parse_encryption_key(text: &str) -> Result<B256, String> {
    let bytes = alloy::hex::decode(text.trim())
        .map_err(|_| "the encryption key is not hex (expected 0x and 64 hex digits)".to_owned())?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|bytes: Vec<u8>| format!("the encryption key is {} bytes; an X25519 public key is 32", bytes.len()))?;
    if key == [0; 32] {
        return Err("the encryption key is all zeros".into());
    }
    Ok(B256::from(key))
}

fn parse_profile_hash(text: &str) -> Result<FixedBytes<31>, String> {
    let bytes = alloy::hex::decode(text.trim())
        .map_err(|_| "the profile hash is not hex (expected 0x and 62 hex digits)".to_owned())?;
    let hash = FixedBytes::<31>::try_from(bytes.as_slice())
        .map_err(|_| format!("the profile hash is {} bytes; it is 31", bytes.len()))?;
    if hash == FixedBytes::ZERO {
        return Err("the profile hash is all zeros".into());
    }
    Ok(hash)
}

/// Prints a mined transaction with what it did.
fn report(sent: &Sent, mut fields: Value, prose: &str, json: bool) {
    if json {
        fields["ok"] = json!(true);
        fields["tx_hash"] = json!(sent.tx_hash);
        fields["block"] = json!(sent.block);
        fields["from"] = json!(sent.from);
        println!("{fields}");
    } else {
        println!("{prose}");
        println!("  tx {}  block {}  from {}", sent.tx_hash, sent.block, sent.from);
    }
}

async fn show_provider(registry: &Registry, address: Address, json: bool) -> anyhow::Result<()> {
    let provider = registry.contract().getProvider(address).call().await.context("reading the provider")?;
    let status: u8 = provider.status;
    let (name, registered, suspended) = match status {
        0 => ("not registered", false, false),
        1 => ("active", true, false),
        2 => ("suspended", true, true),
        _ => ("unknown", false, false),
    };
    let key = registered.then_some(provider.encryptionKey);
    if json {
        println!(
            "{}",
            json!({
                "provider": address,
                "registered": registered,
                "suspended": suspended,
                "status": name.replace(' ', "_"),
                "encryption_key": key,
                "profile_hash": registered.then_some(provider.profileHash),
                "chain_id": registry.chain_id,
                "registry": registry.address,
            })
        );
    } else {
        println!("provider {address} on chain {} (registry {})", registry.chain_id, registry.address);
        println!("  status          {name}");
        match key {
            Some(key) => println!("  encryption key  {key}"),
            None => println!("  encryption key  none"),
        }
        if registered {
            println!("  profile hash    {} (medkey directory show {address})", provider.profileHash);
        }
    }
    Ok(())
}

/// `medkey admin anchor`: the vault's head, checked, then anchored.
async fn anchor(args: &AdminArgs, anchor: &AnchorArgs) -> anyhow::Result<()> {
    let json = args.json;
    let wallet = args.wallet.unlock()?;
    let from = wallet.address();
    let registry = args.registry.connect(Some(wallet.signer)).await?;
    let vault = VaultClient::new(&anchor.vault);

    let published_key = vault.operator_key().await?.public_key;
    let expected = match (&anchor.operator_key, registry.deployment.as_ref().and_then(|d| d.audit_key.clone())) {
        (Some(key), _) => Some((key.clone(), "given with --operator-key")),
        (None, Some(key)) => Some((key, "in the deployment file")),
        (None, None) => None,
    };
    if let Some((key, source)) = &expected
        && !key.trim().trim_start_matches("0x").eq_ignore_ascii_case(published_key.trim_start_matches("0x"))
    {
        bail!("the vault signs with audit key {published_key}, not the key {source} ({key}); refusing to anchor");
    }
    let operator = crate::audit_proofs::parse_key(&published_key).context("the vault's audit key")?;

    let mut head = vault.tree_head().await.context("the vault's tree head")?;
    head.verify(&operator).map_err(|err| anyhow::anyhow!("the vault's tree head does not verify: {err}"))?;
    if head.chain_id != registry.chain_id {
        bail!(
            "the vault's tree head is for chain {}, but {} is chain {}",
            head.chain_id,
            args.registry.rpc_url,
            registry.chain_id
        );
    }
    if head.size == 0 {
        bail!("the vault's audit log is empty: nothing to anchor");
    }

    let contract = registry.contract();
    let anchored = contract.latestAuditAnchor().call().await.context("reading the latest anchor")?;
    if anchored.size >= head.size {
        let when = rfc3339_ms(anchored.anchoredAt.saturating_mul(1_000));
        if anchored.size == head.size && anchored.root != head.root {
            bail!(
                "the chain anchors size {} with root {} (at {when}) but the vault's head at that size has root {}: \
                 the vault's log was rewritten or forked; refusing to anchor",
                anchored.size,
                anchored.root,
                head.root
            );
        }
        bail!(
            "the chain already holds an anchor at size {} (root {}, at {when}), and the vault's head is size {}: \
             nothing new to anchor (anchor sizes only grow)",
            anchored.size,
            anchored.root,
            head.size
        );
    }
    if anchored.size > 0 {
        head = prove_extends(&vault, &operator, anchored.root, anchored.size, &head).await?;
    }

    let timeout = Duration::from_secs(args.timeout);
    let sent = transact(contract.anchorAudit(head.root, head.size), from, timeout, json).await?;
    let done = Anchored { size: head.size, root: head.root, tx_hash: sent.tx_hash };
    let mut fields = serde_json::to_value(&done).expect("an anchor serializes");
    fields["action"] = json!("anchor");
    fields["previous_size"] = json!(anchored.size);
    fields["head_timestamp"] = json!(rfc3339_ms(head.timestamp_ms));
    let previous =
        if anchored.size == 0 { "first anchor".to_owned() } else { format!("extends size {}", anchored.size) };
    report(&sent, fields, &format!("anchored audit log size {} root {} ({previous})", done.size, done.root), json);
    Ok(())
}

/// The vault's proof that its log extends the anchored (root, size): returns the signed head the
/// proof was made for (at least as new as `head`), which is what gets anchored.
async fn prove_extends(
    vault: &VaultClient,
    operator: &ed25519_dalek::VerifyingKey,
    root: B256,
    size: u64,
    head: &SignedTreeHead,
) -> anyhow::Result<SignedTreeHead> {
    let body = vault.consistency(size).await?;
    let proven = body.tree_head;
    proven.verify(operator).map_err(|err| anyhow::anyhow!("the consistency proof's head does not verify: {err}"))?;
    if proven.size < head.size || proven.chain_id != head.chain_id {
        bail!(
            "the vault answered the consistency proof with an older head (size {}) than it served (size {})",
            proven.size,
            head.size
        );
    }
    let proof = Consistency::try_from_bytes(crate::audit_proofs::proof_bytes(&body.proof)?)
        .map_err(|err| anyhow::anyhow!("malformed consistency proof: {err:?}"))?;
    if proven.root_hash().verify_consistency(&Root::new(root.0.into(), size), &proof).is_err() {
        bail!(
            "the vault's log (size {}) does not extend the head anchored on chain (size {size}, root {root}): it was \
             rewritten or forked; refusing to anchor",
            proven.size
        );
    }
    Ok(proven)
}
