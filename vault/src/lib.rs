//! The Medkey vault. It stores only ciphertext and wrapped keys (see `docs/envelope.md`) and
//! releases a record's wrapped key to a provider only when the chain says so.
//!
//! - [`gate`] decides a release over [`mirror_view`], the in-memory view of the indexer's mirror;
//! - [`identity`] signs users in (SIWE, JWT access and rotating refresh tokens);
//! - [`records`] keeps ciphertext, wrapped keys and the metadata access control needs;
//! - [`release_reads`] batches the record reads of concurrent key releases;
//! - [`release`] decides and logs every read of a patient's records by a provider;
//! - [`relay`] submits patients' EIP-712 signatures to the registry (gasless sharing);
//! - [`blobs`] and [`attachments`] keep attachment ciphertext (a directory or S3) and its size;
//! - [`anchoring`] puts the audit tree head on chain on a schedule;
//! - [`audit_log`] records every release and denial, group-committed;
//! - [`access_requests`] keeps providers' requests for access and the patients' answers;
//! - [`notify`] sends signed webhook notifications from a stored outbox;
//! - [`share_links`] keeps SMART Health Links; [`share_link_admission`] decides who opens one;
//! - [`passcodes`] hashes and checks share-link passcodes, a bounded number at a time;
//! - [`stranger_refusals`] logs refusals of callers without standing once per window;
//! - [`limits`] throttles logins and key releases, in memory or shared through [`redis_store`];
//! - [`state`] holds all of it for a request; [`trusted_proxies`] says whose forwarding header
//!   names the client;
//! - [`http`] is the axum API over all of it.

pub mod access_requests;
pub mod account_keys;
pub mod anchoring;
pub mod attachments;
pub mod audit_log;
pub mod blobs;
pub mod connections;
pub mod consent_fhir;
pub mod db;
pub mod directory;
pub mod emergency_providers;
pub mod gate;
pub mod http;
pub mod identity;
pub mod identity_sharing;
pub mod limits;
pub mod metrics;
pub mod metrics_sampling;
pub mod mirror_view;
pub mod notify;
pub mod passcodes;
pub mod records;
pub mod redis_store;
pub mod relay;
pub mod release;
pub mod release_reads;
pub mod share_link_admission;
pub mod share_links;
pub mod state;
pub mod stranger_refusals;
pub mod trusted_proxies;

pub use gate::{Decision, Denial, RecordSets, Release, ReleaseGate, ReleaseRequest, StrictCheck};
pub use mirror_view::MirrorView;
