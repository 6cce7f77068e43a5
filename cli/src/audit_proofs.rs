//! Checking what a vault says about its audit log: signed tree heads, inclusion and consistency
//! proofs, and the operator's key, so `medkey audit`, `medkey audit log` and `medkey admin anchor`
//! believe an entry only once it is proven under a head the operator signed.

use crate::vault_client::VaultClient;
use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use ed25519_dalek::VerifyingKey;
use medkey_protocol::api::ProvenEntries;
use medkey_protocol::audit::{AuditEntry, Consistency, Inclusion, Root, SignedTreeHead};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};

/// Every entry the signed-in account may see (narrowed by `query`, e.g. `&actor=0x…`), page by
/// page; each page's head is checked against `head` and each entry against its page's head.
pub async fn all_proven_entries(
    vault: &VaultClient,
    token: &str,
    operator: &VerifyingKey,
    head: &SignedTreeHead,
    query: &str,
) -> anyhow::Result<Vec<(u64, AuditEntry)>> {
    let mut all: Vec<(u64, AuditEntry)> = Vec::new();
    let mut from = 0;
    loop {
        let path = format!("/v1/audit/entries?from={from}&limit={PAGE}{query}");
        let body: ProvenEntries = vault.call(Method::GET, &path, Some(token), None::<&()>).await?;
        let proven = body.tree_head.clone();
        proven.verify(operator).map_err(|e| anyhow::anyhow!("FAIL  entries' tree head signature: {e}"))?;
        if proven.size != head.size || proven.root != head.root {
            check_extends(vault, operator, head, &proven, "the head verified above").await?;
        }
        let page = proven_entries(&proven, &body)?;
        let full = page.len() == PAGE as usize;
        if let Some((last, _)) = page.last() {
            from = last + 1;
        }
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

/// The entries of a `/v1/audit/entries` page, each checked to be in `head` by its proof.
pub fn proven_entries(head: &SignedTreeHead, body: &ProvenEntries) -> anyhow::Result<Vec<(u64, AuditEntry)>> {
    let root = head.root_hash();
    let mut proven = Vec::new();
    for item in &body.entries {
        let (index, entry) = (item.leaf_index, item.entry.clone());
        let proof = Inclusion::from_bytes(proof_bytes(&item.proof)?);
        if root.verify_inclusion(&entry.leaf(), index, &proof).is_err() {
            bail!(
                "FAIL  entry {index} ({} by {} at {}) is not in the signed tree",
                entry.kind,
                entry.actor,
                entry.at_ms
            );
        }
        proven.push((index, entry));
    }
    Ok(proven)
}

/// A proof's hashes (hex strings, as the vault sends them) as the bytes ct-merkle reads.
pub fn proof_bytes(hashes: &[String]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(hashes.len() * 32);
    for hash in hashes {
        out.extend(alloy::hex::decode(hash).context("a proof hash is not hex")?);
    }
    Ok(out)
}

pub fn parse_key(hex: &str) -> anyhow::Result<VerifyingKey> {
    let bytes: [u8; 32] =
        alloy::hex::decode(hex)?.try_into().map_err(|_| anyhow::anyhow!("an Ed25519 key is 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).context("not an Ed25519 public key")
}

/// Entries per `/v1/audit/entries` request (the vault's maximum).
pub const PAGE: u32 = 1_000;

/// Checks that `new` extends `old`: equal at equal size, else by the vault's consistency proof.
pub async fn check_extends(
    vault: &VaultClient,
    operator: &VerifyingKey,
    old: &SignedTreeHead,
    new: &SignedTreeHead,
    what: &str,
) -> anyhow::Result<()> {
    if old.size > new.size {
        bail!("FAIL  consistency with {what}: the log shrank from {} to {} entries", old.size, new.size);
    }
    if old.size == new.size {
        if old.root != new.root {
            bail!("FAIL  consistency with {what}: two different roots at size {} (a forked log)", old.size);
        }
        pass(&format!("same head as {what}"));
        return Ok(());
    }
    let body = vault.consistency(old.size).await?;
    let proven = body.tree_head;
    proven.verify(operator).map_err(|e| anyhow::anyhow!("FAIL  consistency head signature: {e}"))?;
    let proof = Consistency::try_from_bytes(proof_bytes(&body.proof)?).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let old_root = Root::new(old.root.0.into(), old.size);
    if proven.root_hash().verify_consistency(&old_root, &proof).is_err() {
        bail!("FAIL  consistency with {what} (size {}): the log was rewritten or forked since", old.size);
    }
    // The proof was made for the head the vault held at that moment; it must extend ours too.
    if proven.size != new.size
        && Box::pin(check_extends(vault, operator, new, &proven, "the head verified above")).await.is_err()
    {
        bail!("FAIL  consistency: the vault's heads disagree with each other");
    }
    pass(&format!("extends {what} (size {})", old.size));
    Ok(())
}

/// One line per check; the first failure ends the run.
pub fn pass(what: &str) {
    if JSON_LINES.load(Ordering::Relaxed) {
        println!("{}", json!({"ok": true, "check": what}));
    } else {
        println!("ok    {what}");
    }
}

/// Set once per process by `audit verify --json`; `pass` is called from deep in the checks
/// (consistency proofs recurse), so a flag is simpler than threading a reporter through them.
pub static JSON_LINES: AtomicBool = AtomicBool::new(false);
