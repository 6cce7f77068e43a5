//! `medkey keys`: create, import and show the account (Ethereum key + derived X25519 key).

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::keystore;
use crate::wallet::{self, Wallet, WalletArgs};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  medkey keys new\n  MEDKEY_PRIVATE_KEY=0x… medkey keys import\n  medkey keys show --json"
)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a new account in an encrypted keystore (asks for a passphrase, or MEDKEY_PASSPHRASE).
    #[command(
        after_help = "Example:\n  medkey keys new                     # ~/.medkey/keystore.json, asks for a passphrase\n  MEDKEY_PASSPHRASE=… medkey keys new --keystore alice.json --json"
    )]
    New(WriteArgs),
    /// Encrypt an existing private key (MEDKEY_PRIVATE_KEY, or a file) into a keystore.
    #[command(
        after_help = "Example:\n  MEDKEY_PRIVATE_KEY=0x… medkey keys import\n  medkey keys import --from-file key.hex --keystore clinic.json"
    )]
    Import(ImportArgs),
    /// Show the account's address and encryption public key (the private key only on request).
    #[command(
        after_help = "Example:\n  medkey keys show\n  medkey keys show --json --reveal-private-key   # only when you mean it"
    )]
    Show(ShowArgs),
    /// Publish your encryption key, signed by your wallet, so providers you let write can
    /// encrypt new records for you (`grant --write` does this too).
    #[command(after_help = "Example:\n  medkey keys publish --vault https://vault.example")]
    Publish(PublishArgs),
}

#[derive(Debug, Args)]
struct PublishArgs {
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: crate::session::ConnectArgs,
}

#[derive(Debug, Args)]
struct WriteArgs {
    /// Keystore file to write (default: ~/.medkey/keystore.json, or $MEDKEY_HOME/keystore.json).
    #[arg(long, env = "MEDKEY_KEYSTORE")]
    keystore: Option<PathBuf>,
    /// Replace an existing keystore file (its key is lost unless you backed it up).
    #[arg(long)]
    force: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ImportArgs {
    #[command(flatten)]
    write: WriteArgs,
    /// Read the hex private key from this file instead of MEDKEY_PRIVATE_KEY.
    #[arg(long)]
    from_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    wallet: WalletArgs,
    /// Also print the private key. Anyone who sees it controls the account and reads its records.
    #[arg(long)]
    reveal_private_key: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// A new keystore's passphrase: asked twice (or MEDKEY_PASSPHRASE), refused if easy to guess.
fn new_passphrase() -> anyhow::Result<zeroize::Zeroizing<String>> {
    let passphrase = wallet::passphrase("New passphrase: ", true)?;
    keystore::check_strength(&passphrase)?;
    Ok(passphrase)
}

pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::New(args) => {
            let path = args.keystore.clone().unwrap_or_else(wallet::default_keystore);
            keystore::refuse_existing(&path, args.force)?;
            let passphrase = new_passphrase()?;
            let signer = PrivateKeySigner::random();
            keystore::write(&path, &signer, &passphrase, args.force)?;
            describe(&Wallet::from_signer(signer), Some(&path), args.json, false);
        }
        KeysCommand::Import(args) => {
            let text = match &args.from_file {
                Some(file) => zeroize::Zeroizing::new(
                    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
                ),
                None => zeroize::Zeroizing::new(
                    std::env::var("MEDKEY_PRIVATE_KEY").context("set MEDKEY_PRIVATE_KEY or pass --from-file")?,
                ),
            };
            let signer = wallet::parse_private_key(&text)?;
            let path = args.write.keystore.clone().unwrap_or_else(wallet::default_keystore);
            keystore::refuse_existing(&path, args.write.force)?;
            let passphrase = new_passphrase()?;
            keystore::write(&path, &signer, &passphrase, args.write.force)?;
            describe(&Wallet::from_signer(signer), Some(&path), args.write.json, false);
        }
        KeysCommand::Show(args) => describe(&args.wallet.unlock()?, None, args.json, args.reveal_private_key),
        KeysCommand::Publish(args) => {
            let session = crate::session::Session::open(&args.connect).await?;
            session.publish_encryption_key().await?;
            let key = alloy::hex::encode_prefixed(session.wallet.encryption_public_key().0);
            if args.json {
                println!("{}", json!({"address": session.address(), "encryption_key": key, "published": true}));
            } else {
                println!("published {key} for {}", session.address());
            }
        }
    }
    Ok(())
}

fn describe(wallet: &Wallet, keystore: Option<&std::path::Path>, as_json: bool, reveal: bool) {
    let encryption = alloy::hex::encode_prefixed(wallet.encryption_public_key().0);
    let private = reveal.then(|| alloy::hex::encode_prefixed(wallet.signer.to_bytes()));
    if as_json {
        let mut out = json!({"address": wallet.address(), "encryption_key": encryption});
        if let Some(path) = keystore {
            out["keystore"] = json!(path.display().to_string());
        }
        if let Some(private) = &private {
            out["private_key"] = json!(private);
        }
        println!("{out}");
        return;
    }
    println!("address         {}", wallet.address());
    println!("encryption key  {encryption} (X25519; providers register it on chain, patients wrap to it)");
    println!("                derived from this account's signature of Medkey's key statement: the same");
    println!("                key a browser or hardware wallet for this account derives in the apps");
    if let Some(path) = keystore {
        println!("keystore        {} (scrypt; keep a backup and the passphrase)", path.display());
    }
    if let Some(private) = private {
        println!("private key     {private}");
    }
}
