//! Grants made from this machine. A grant is signed by the patient's own key: by default as
//! EIP-712 typed data that the vault's relayer submits (no gas), or as a transaction. The vault
//! drafts the typed data, but this client checks every field against what the patient asked for
//! and signs the digest it computes itself, so a vault cannot get a different grant signed. Once
//! the chain has the grant, the client wraps the data keys of the covered records for the
//! provider, to the provider's key as registered on chain.

use crate::progress::Progress;
use crate::record_store;
use crate::sealing;
use crate::session::Session;
use alloy::primitives::{Address, B256};
use alloy::signers::SignerSync;
use alloy::sol_types::{SolEvent, SolStruct};
use alloy::transports::http::reqwest::Method;
use anyhow::{Context, bail};
use medkey_protocol::ConsentRegistry::GrantCreated;
use medkey_protocol::RecordId;
use medkey_protocol::api::{GrantDraft, GrantView, KeysBody, RecordContent, RecordView, RelayBody, Relayed, Signable};
use medkey_protocol::bindings::IConsentRegistry::GrantRequest;
use medkey_protocol::{Category, Purpose, consent, eip712};
use serde_json::Value;

/// A grant as the patient asks for it.
pub struct GrantSpec {
    pub provider: Address,
    pub categories: Vec<Category>,
    pub not_before: Option<u32>,
    pub expires_at: u32,
    pub purpose: Purpose,
    pub write: bool,
    pub record_ids: Vec<String>,
    pub direct: bool,
}

/// What a grant did: its id, the transaction, and how many records were shared.
pub struct Granted {
    pub grant_id: B256,
    pub tx_hash: B256,
    pub shared: usize,
}

/// Signs (relayed) or sends (`direct`) the grant, waits for the vault to mirror it, and wraps
/// the covered records' keys for the provider.
pub async fn make_grant(session: &Session, spec: &GrantSpec) -> anyhow::Result<Granted> {
    let provider_key = session.provider_key(spec.provider).await?;
    let request = GrantRequest {
        provider: spec.provider,
        categories: Category::mask(spec.categories.iter().copied()),
        recordsRoot: records_root(&spec.record_ids)?,
        purpose: spec.purpose.index(),
        notBefore: spec.not_before.unwrap_or(0),
        expiresAt: spec.expires_at,
        write: spec.write,
    };
    let (grant_id, tx_hash) = if spec.direct {
        if !spec.record_ids.is_empty() {
            // The vault learns a record set only through the typed-data draft, which registers it.
            draft(session, spec).await?;
        }
        // notBefore 0 is the registry's "at once": live from the block that records it.
        let request = request.clone();
        let receipt = session
            .registry()
            .grant(request)
            .send()
            .await
            .map_err(|err| anyhow::anyhow!("the registry refused the grant: {err}"))?
            .get_receipt()
            .await?;
        let created = receipt
            .inner
            .logs()
            .iter()
            .find_map(|log| GrantCreated::decode_log(&log.inner).ok())
            .context("the transaction created no grant")?;
        (created.grantId, receipt.transaction_hash)
    } else {
        let signable = draft(session, spec).await?;
        let message: eip712::Grant = serde_json::from_value(signable.typed_data.message.clone())
            .context("the vault's typed data is not a Grant")?;
        check_draft(&message, &request, session.address(), spec.not_before)?;
        let relayed = relay(session, &message).await?;
        (relayed.grant_id, relayed.tx_hash)
    };
    eprintln!("grant {grant_id} on chain (tx {tx_hash}); waiting for the vault to see it …");
    wait_for_grant(session, grant_id).await?;
    let readers = [(spec.provider, provider_key)];
    let shared = share_existing(session, &spec.categories, &spec.record_ids, &readers).await?;
    Ok(Granted { grant_id, tx_hash, shared })
}

fn records_root(ids: &[String]) -> anyhow::Result<B256> {
    if ids.is_empty() {
        return Ok(B256::ZERO);
    }
    let ids: Vec<RecordId> = ids
        .iter()
        .map(|id| alloy::hex::decode(id).map(|b| b.try_into().expect("32 hex digits")))
        .collect::<Result<_, _>>()?;
    Ok(consent::records_root(&ids))
}

async fn draft(session: &Session, spec: &GrantSpec) -> anyhow::Result<Signable> {
    let body = GrantDraft {
        provider: spec.provider.to_string(),
        categories: spec.categories.clone(),
        purpose: spec.purpose,
        not_before: spec.not_before,
        expires_at: spec.expires_at,
        write: spec.write,
        records: (!spec.record_ids.is_empty()).then(|| spec.record_ids.clone()),
        valid_for_s: None,
    };
    session.call(Method::POST, "/v1/grants/typed-data", &body).await
}

/// The vault drafted `message`; it must be exactly the grant the patient asked for.
fn check_draft(
    message: &eip712::Grant,
    asked: &GrantRequest,
    me: Address,
    not_before: Option<u32>,
) -> anyhow::Result<()> {
    let same = message.patient == me
        && message.provider == asked.provider
        && message.categories == asked.categories
        && message.recordsRoot == asked.recordsRoot
        && message.purpose == asked.purpose
        && message.expiresAt == asked.expiresAt
        && message.write == asked.write
        && not_before.is_none_or(|nb| message.notBefore == nb);
    if !same {
        bail!("the vault drafted a different grant than the one asked for; nothing was signed");
    }
    Ok(())
}

/// Signs `message` with the digest computed here and hands it to the vault's relayer.
pub async fn relay<S: SolStruct + serde::Serialize>(session: &Session, message: &S) -> anyhow::Result<Relayed> {
    let domain = eip712::domain(session.chain_id, session.deployment.address);
    let signature = session.wallet.signer.sign_hash_sync(&message.eip712_signing_hash(&domain))?;
    let body = RelayBody {
        typed_data: eip712::typed_data(message, session.chain_id, session.deployment.address),
        signature: alloy::hex::encode_prefixed(signature.as_bytes()),
    };
    session.call(Method::POST, "/v1/relay", &body).await
}

/// The vault releases keys only once its mirror holds the grant.
async fn wait_for_grant(session: &Session, grant_id: B256) -> anyhow::Result<GrantView> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let grants = record_store::grant_views(session, "/v1/grants").await?;
        if let Some(found) = grants.into_iter().find(|g| g.grant.grant_id == grant_id) {
            return Ok(found);
        }
        if std::time::Instant::now() > deadline {
            bail!("the vault has not seen grant {grant_id} after 60 s (is its indexer following the chain?)");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Wraps the current data key of each of the patient's records in `categories` (only the `only`
/// ids, when named) for `readers`, whose keys the caller read from the chain; returns how many.
pub async fn share_existing(
    session: &Session,
    categories: &[Category],
    only: &[String],
    readers: &[(Address, medkey_protocol::envelope::EncryptionPublicKey)],
) -> anyhow::Result<usize> {
    let mine: Vec<RecordView> = session.get_as("/v1/records").await?;
    let covered: Vec<&RecordView> = mine
        .iter()
        .filter(|r| !r.erased && categories.contains(&r.category))
        .filter(|r| only.is_empty() || only.contains(&r.record_id))
        .collect();
    let mut progress = Progress::new(covered.len() as u64, "sharing");
    for record in &covered {
        let id = record_store::id_of(record);
        let fetched: RecordContent = session.get_as(&format!("/v1/records/{id}")).await?;
        let (binding, key, _) = sealing::open(&fetched, &session.wallet.encryption)?;
        let wrapped_keys = sealing::wrapped_keys(&key, &binding, readers)?;
        let path = format!("/v1/records/{id}/versions/{}/keys", binding.version);
        session.call::<Value>(Method::POST, &path, &KeysBody { wrapped_keys }).await?;
        progress.item(&format!("{id} ({})", binding.resource_type));
    }
    Ok(covered.len())
}
