//! The Medkey vault. It stores only ciphertext and wrapped keys (see `docs/envelope.md`) and
//! releases a record's wrapped key to a provider only when the chain says so.
//!
//! Built so far: [`gate`], the key-release decision over the indexer's mirror, and [`identity`],
//! SIWE login with JWT access and rotating refresh tokens. The HTTP API, record storage and the
//! audit log are the rest of issue #4.

pub mod access_log;
pub mod consent_fhir;
pub mod db;
pub mod gate;
pub mod http;
pub mod identity;
pub mod limits;
pub mod records;

pub use gate::{Decision, Denial, RecordSets, Release, ReleaseGate, ReleaseRequest, StrictCheck};
