//! What every Medkey component shares: the ConsentRegistry contract bindings (generated from
//! `abi/ConsentRegistry.json`), the consent vocabulary (record categories and purposes of use),
//! and the per-network deployment files in `deployments/`.

pub mod account_key;
pub mod account_secret;
pub mod api;
pub mod audit;
pub mod bindings;
pub mod clock;
pub mod consent;
pub mod deployment;
pub mod directory;
pub mod eip712;
pub mod envelope;
pub mod fhir;
pub mod fhir_category;
pub mod record_id;
pub mod redact;
pub mod wallet_key;

pub use bindings::ConsentRegistry;
pub use consent::{Category, Purpose};
pub use deployment::Deployment;
pub use record_id::{InvalidRecordId, RecordId};
