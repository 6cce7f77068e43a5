//! Who may open a SMART Health Link, decided beside the links themselves (as Vaultwarden's
//! `Send` checks its own password). Everything a request for a link's files must pass, each
//! refusal stored with the requester's name and logged before it is answered: the name, the
//! per-link rate limit, the link being active, its passcode (an attempt taken before the check,
//! so parallel guesses cannot exceed the limit; given back when right), single use. An answered
//! request is stored, notified and logged before the files go out.
//!
//! The audit log names a link by [`link_digest`], never by its id (with the key, the id is what
//! opens the files), and names no one for the requester.

use alloy::primitives::{Address, B256};
use sha2::{Digest, Sha256};

use crate::audit_log::{AppendError, AuditEntry, stamped};
use crate::limits::LimitError;
use crate::notify::Event;
use crate::passcodes::PasscodeError;
use crate::share_links::{Link, LinkState, ShareLinks, StoredFile};
use crate::state::VaultState;

/// The longest name a requester may give.
pub const MAX_RECIPIENT_CHARS: usize = 200;

/// Why a link's files were not handed out (each refusal of a real link stored and logged).
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    #[error("recipient names who is asking, in 1 to {MAX_RECIPIENT_CHARS} characters")]
    InvalidRecipient,
    #[error("there is no such link")]
    NoSuchLink,
    #[error("{}", inactive_sentence(*.0))]
    Inactive(LinkState),
    #[error(
        "the passcode is not right; {left} attempt{} left before the link stops working",
        if *left == 1 { "" } else { "s" }
    )]
    WrongPasscode { left: u32 },
    #[error("this link is not a direct one: ask for its manifest (POST)")]
    NotDirect,
    #[error(transparent)]
    Limits(#[from] LimitError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Log(#[from] AppendError),
    #[error(transparent)]
    Passcode(#[from] PasscodeError),
}

/// The code a refusal of an inactive link answers with.
pub fn inactive_code(state: LinkState) -> &'static str {
    match state {
        LinkState::Revoked => "link_revoked",
        LinkState::Expired => "link_expired",
        LinkState::Used => "link_used",
        LinkState::Disabled => "link_disabled",
        LinkState::Active => "no_such_link",
    }
}

fn inactive_sentence(state: LinkState) -> &'static str {
    match state {
        LinkState::Revoked => "the patient stopped sharing this link",
        LinkState::Expired => "this link has expired",
        LinkState::Used => "this link worked once and has been used",
        LinkState::Disabled => "too many wrong passcodes: this link no longer works",
        LinkState::Active => "there is no such link",
    }
}

/// An admitted request: the link, at the time it was admitted.
#[derive(Debug)]
pub struct Admitted {
    pub link: Link,
    pub now: u64,
}

/// What the audit log names a link by: a hash of its id.
pub fn link_digest(id: &str) -> B256 {
    B256::from_slice(&Sha256::new().chain_update(b"medkey/v1/share-link").chain_update(id.as_bytes()).finalize())
}

/// A manifest request for link `id`: admitted (and, once the caller has the files, to be marked
/// [`opened`]) or refused. The caller has taken the per-IP rate limit already.
pub async fn admit(
    state: &VaultState,
    id: &str,
    recipient: &str,
    passcode: Option<&str>,
) -> Result<Admitted, AdmissionError> {
    let recipient = checked_recipient(recipient)?;
    let links = store(state);
    let now = medkey_protocol::clock::now_ms();
    let link = links.get(id).await?.ok_or(AdmissionError::NoSuchLink)?;
    state.limits.share_link_use(&link.id).await?;
    let state_now = link.state(now);
    if state_now != LinkState::Active {
        refused(state, &link, recipient, state_now.as_str(), now).await?;
        return Err(AdmissionError::Inactive(state_now));
    }
    if let Some(hash) = &link.passcode_hash {
        // One passcode check of a link at a time in this process: a right passcode waits for the
        // guesses before it to settle instead of finding their attempts taken (`link_disabled`
        // for a link that stays active).
        let _turn = crate::passcodes::turn(&link.id).await;
        let Some(left) = links.take_attempt(&link.id).await? else {
            refused(state, &link, recipient, LinkState::Disabled.as_str(), now).await?;
            return Err(AdmissionError::Inactive(LinkState::Disabled));
        };
        if crate::passcodes::verify(hash.clone(), passcode.unwrap_or_default().to_owned()).await? {
            links.refund_attempt(&link.id).await?;
        } else {
            refused(state, &link, recipient, "wrong_passcode", now).await?;
            return Err(AdmissionError::WrongPasscode { left });
        }
    }
    if link.single_use && !links.mark_used(&link.id, now).await? {
        refused(state, &link, recipient, LinkState::Used.as_str(), now).await?;
        return Err(AdmissionError::Inactive(LinkState::Used));
    }
    Ok(Admitted { link, now })
}

/// A direct-file request (flag `U`) for link `id`: its one file. Only a link without a passcode
/// and with one file is direct; a refused direct request is in her list of uses like any other.
pub async fn admit_direct(state: &VaultState, id: &str, recipient: &str) -> Result<StoredFile, AdmissionError> {
    let links = store(state);
    if let Some(link) = links.get(id).await?
        && (link.passcode_hash.is_some() || links.files(&link.id).await?.len() != 1)
    {
        let recipient = checked_recipient(recipient)?;
        state.limits.share_link_use(&link.id).await?;
        refused(state, &link, recipient, "not_direct", medkey_protocol::clock::now_ms()).await?;
        return Err(AdmissionError::NotDirect);
    }
    let admitted = admit(state, id, recipient, None).await?;
    let file = links.files(&admitted.link.id).await?.into_iter().next().ok_or(AdmissionError::NoSuchLink)?;
    opened(state, &admitted, recipient).await?;
    Ok(file)
}

/// An answered request: stored with the name given, notified and logged before the files go out.
pub async fn opened(state: &VaultState, admitted: &Admitted, recipient: &str) -> Result<(), AdmissionError> {
    let (link, now) = (&admitted.link, admitted.now);
    let event = state.notifier.as_ref().map(|_| Event::share_link(now, link.owner, &link_digest(&link.id)));
    store(state).record_access(&link.id, now, recipient.trim(), "ok", event.as_ref()).await?;
    if let Some(notifier) = &state.notifier {
        notifier.wake();
    }
    state.audit.append(&audit(link, "share_link_opened", "ok")).await?;
    Ok(())
}

/// The name a requester gives: 1 to [`MAX_RECIPIENT_CHARS`] characters of plain text, trimmed.
fn checked_recipient(recipient: &str) -> Result<&str, AdmissionError> {
    let recipient = recipient.trim();
    if recipient.is_empty()
        || recipient.chars().count() > MAX_RECIPIENT_CHARS
        || recipient.chars().any(char::is_control)
    {
        return Err(AdmissionError::InvalidRecipient);
    }
    Ok(recipient)
}

/// A refused request: stored with the requester's name and logged, before the answer.
async fn refused(
    state: &VaultState,
    link: &Link,
    recipient: &str,
    outcome: &str,
    now: u64,
) -> Result<(), AdmissionError> {
    store(state).record_access(&link.id, now, recipient, outcome, None).await?;
    state.audit.append(&audit(link, "share_link_refused", outcome)).await?;
    Ok(())
}

fn audit(link: &Link, kind: &str, outcome: &str) -> AuditEntry {
    AuditEntry {
        patient: Some(link.owner),
        grant_id: Some(link_digest(&link.id)),
        outcome: outcome.into(),
        // Anyone holding the link asks; the log names no one for them.
        ..stamped(kind, Address::ZERO)
    }
}

fn store(state: &VaultState) -> ShareLinks {
    ShareLinks::new(state.mirror.pool().clone())
}
