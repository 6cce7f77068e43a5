//! The provider directory's storage: applications (a wallet-signed profile waiting for the
//! registrar), the listed profile of each provider with what the chain says of it, and the words
//! behind the registry's reason hashes. What is listed follows the chain ([`listing`]): the
//! application whose hash the registry holds now is listed; a provider whose on-chain profile the
//! vault does not know is not.

mod applications;
mod listing;
mod reasons;
mod search;

use std::sync::Arc;

use alloy::primitives::{Address, B256, FixedBytes};
use sqlx::AnyPool;
use sqlx::any::AnyRow;

pub use applications::SubmitError;
pub use listing::{CatchUpError, ListingFacts};
pub use search::Search;

/// An application as stored.
#[derive(Clone, Debug)]
pub struct Application {
    pub id: [u8; 16],
    pub kind: ApplicationKind,
    pub status: ApplicationStatus,
    pub profile: medkey_protocol::directory::DirectoryProfile,
    pub signature: Vec<u8>,
    pub profile_hash: FixedBytes<31>,
    pub reason: Option<String>,
    pub submitted_at_ms: u64,
    pub decided_at_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplicationKind {
    /// A wallet the registry does not know yet.
    Register,
    /// A registered provider's new profile.
    Update,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Declined,
}

impl ApplicationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Update => "update",
        }
    }
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Declined => "declined",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Declined].into_iter().find(|s| s.as_str() == text)
    }
}

/// A listed provider: its approved application and what the chain says of it.
#[derive(Clone, Debug)]
pub struct Listed {
    pub application: Application,
    pub facts: ListingFacts,
    /// The words of `facts.action`'s reason, when the vault holds them.
    pub action_reason_text: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Directory {
    pool: AnyPool,
    /// Serialises [`Directory::catch_up`] within this process.
    syncing: Arc<tokio::sync::Mutex<()>>,
}

impl Directory {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool, syncing: Arc::default() }
    }
}

/// The application columns, from `provider_applications a`.
const APPLICATION_COLUMNS: &str =
    "a.id, a.kind, a.status, a.profile_json, a.signature, a.profile_hash, a.reason, a.submitted_at_ms, a.decided_at_ms";

fn decode(what: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("a stored application's {what}").into())
}

fn application_from_row(row: &AnyRow) -> Result<Application, sqlx::Error> {
    use sqlx::Row;
    let id: String = row.try_get("id")?;
    let id: [u8; 16] =
        alloy::hex::decode(&id).ok().and_then(|bytes| bytes.try_into().ok()).ok_or_else(|| decode("id"))?;
    let kind: String = row.try_get("kind")?;
    let kind = match kind.as_str() {
        "register" => ApplicationKind::Register,
        "update" => ApplicationKind::Update,
        _ => return Err(decode("kind")),
    };
    let status: String = row.try_get("status")?;
    let profile_json: String = row.try_get("profile_json")?;
    let hash: Vec<u8> = row.try_get("profile_hash")?;
    Ok(Application {
        id,
        kind,
        status: ApplicationStatus::parse(&status).ok_or_else(|| decode("status"))?,
        profile: serde_json::from_str(&profile_json).map_err(|_| decode("profile"))?,
        signature: row.try_get("signature")?,
        profile_hash: FixedBytes::<31>::try_from(hash.as_slice()).map_err(|_| decode("profile hash"))?,
        reason: row.try_get("reason")?,
        submitted_at_ms: row.try_get::<i64, _>("submitted_at_ms")? as u64,
        decided_at_ms: row.try_get::<Option<i64>, _>("decided_at_ms")?.map(|v| v as u64),
    })
}

fn address_from(bytes: &[u8]) -> Option<Address> {
    Address::try_from(bytes).ok()
}

fn hash_from(bytes: &[u8]) -> Option<B256> {
    B256::try_from(bytes).ok()
}
