//! Turning the registry's logs into the changes the mirror applies.
//!
//! Decoding is total over the events the mirror cares about; role grants and revocations are
//! mirrored, OpenZeppelin's admin-transfer scheduling events are recognised and skipped, and a
//! log the ABI does not know is an error (it means the deployment and the binary disagree about
//! the contract).

use alloy::primitives::{Address, B256, FixedBytes};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEventInterface;
use medkey_protocol::ConsentRegistry::ConsentRegistryEvents as Event;

/// Where a log sits on the chain. `(tx_hash, log_index)` is unique per chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogPosition {
    pub block_number: u64,
    pub block_hash: B256,
    pub tx_hash: B256,
    pub log_index: u64,
    /// Present when the node includes `blockTimestamp` in logs (anvil and reth do).
    pub block_timestamp: Option<u64>,
}

/// One state change the mirror applies, in log order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    GrantCreated(GrantCreated),
    GrantRevoked { grant_id: B256 },
    EmergencyOpened { grant_id: B256, reason_hash: B256 },
    Provider { provider: Address, event: ProviderEvent },
    EmergencyConfigured { patient: Address, categories: u16 },
    NonceIncremented { patient: Address, nonce: u64 },
    Paused { paused: bool, account: Address },
    AuditAnchored { operator: Address, root: B256, size: u64 },
    Role { role: B256, account: Address, granted: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantCreated {
    pub grant_id: B256,
    pub patient: Address,
    pub provider: Address,
    pub categories: u16,
    pub records_root: B256,
    pub purpose: u8,
    pub not_before: u32,
    pub expires_at: u32,
    pub write: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderEvent {
    Registered { encryption_key: B256, profile_hash: FixedBytes<31> },
    ProfileUpdated { profile_hash: FixedBytes<31> },
    Suspended { reason_hash: B256 },
    Reinstated { reason_hash: B256 },
    KeyRotated { encryption_key: B256 },
}

impl ProviderEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Registered { .. } => "registered",
            Self::ProfileUpdated { .. } => "profile_updated",
            Self::Suspended { .. } => "suspended",
            Self::Reinstated { .. } => "reinstated",
            Self::KeyRotated { .. } => "key_rotated",
        }
    }

    /// The hash of the registrar's reason, for a suspension or a reinstatement.
    pub fn reason_hash(&self) -> Option<B256> {
        match self {
            Self::Suspended { reason_hash } | Self::Reinstated { reason_hash } => Some(*reason_hash),
            _ => None,
        }
    }
}

/// A change and the log it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionedChange {
    pub position: LogPosition,
    pub change: Change,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("log is missing its {0} (a pending log cannot be mirrored)")]
    MissingField(&'static str),
    #[error("log {tx_hash}:{log_index} does not match the ConsentRegistry ABI: {source}")]
    UnknownLog { tx_hash: B256, log_index: u64, source: Box<alloy::sol_types::Error> },
}

/// Decodes one log; `Ok(None)` for events the mirror deliberately ignores (admin-transfer rules).
pub fn decode(log: &Log) -> Result<Option<PositionedChange>, DecodeError> {
    let position = LogPosition {
        block_number: log.block_number.ok_or(DecodeError::MissingField("block number"))?,
        block_hash: log.block_hash.ok_or(DecodeError::MissingField("block hash"))?,
        tx_hash: log.transaction_hash.ok_or(DecodeError::MissingField("transaction hash"))?,
        log_index: log.log_index.ok_or(DecodeError::MissingField("log index"))?,
        block_timestamp: log.block_timestamp,
    };
    let event = Event::decode_log(&log.inner).map_err(|source| DecodeError::UnknownLog {
        tx_hash: position.tx_hash,
        log_index: position.log_index,
        source: Box::new(source),
    })?;
    let change = match event.data {
        Event::GrantCreated(e) => Change::GrantCreated(GrantCreated {
            grant_id: e.grantId,
            patient: e.patient,
            provider: e.provider,
            categories: e.categories,
            records_root: e.recordsRoot,
            purpose: e.purpose,
            not_before: e.notBefore,
            expires_at: e.expiresAt,
            write: e.write,
        }),
        Event::GrantRevoked(e) => Change::GrantRevoked { grant_id: e.grantId },
        Event::EmergencyAccessOpened(e) => Change::EmergencyOpened { grant_id: e.grantId, reason_hash: e.reasonHash },
        Event::ProviderRegistered(e) => Change::Provider {
            provider: e.provider,
            event: ProviderEvent::Registered { encryption_key: e.encryptionKey, profile_hash: e.profileHash },
        },
        Event::ProviderProfileUpdated(e) => Change::Provider {
            provider: e.provider,
            event: ProviderEvent::ProfileUpdated { profile_hash: e.profileHash },
        },
        Event::ProviderSuspended(e) => {
            Change::Provider { provider: e.provider, event: ProviderEvent::Suspended { reason_hash: e.reasonHash } }
        }
        Event::ProviderReinstated(e) => {
            Change::Provider { provider: e.provider, event: ProviderEvent::Reinstated { reason_hash: e.reasonHash } }
        }
        Event::ProviderKeyRotated(e) => Change::Provider {
            provider: e.provider,
            event: ProviderEvent::KeyRotated { encryption_key: e.encryptionKey },
        },
        Event::EmergencyAccessConfigured(e) => {
            Change::EmergencyConfigured { patient: e.patient, categories: e.categories }
        }
        Event::NonceIncremented(e) => Change::NonceIncremented { patient: e.patient, nonce: e.nonce },
        Event::Paused(e) => Change::Paused { paused: true, account: e.account },
        Event::Unpaused(e) => Change::Paused { paused: false, account: e.account },
        Event::AuditAnchored(e) => Change::AuditAnchored { operator: e.operator, root: e.root, size: e.size },
        Event::RoleGranted(e) => Change::Role { role: e.role, account: e.account, granted: true },
        Event::RoleRevoked(e) => Change::Role { role: e.role, account: e.account, granted: false },
        _ => return Ok(None),
    };
    Ok(Some(PositionedChange { position, change }))
}
