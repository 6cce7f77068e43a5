//! Connecting to a provider's patient-access FHIR API (SMART App Launch) from the command line:
//! discovery, a standalone patient launch through a loopback redirect (RFC 8252), the pull, and
//! the connection kept sealed in the vault. The same rules as the patient app's
//! (`web/packages/client/src/smart/`, `docs/threat-model.md`, "Provider connections"), and the
//! same sealed connection, so either can sync what the other connected.

pub mod connection;
pub mod launch;
pub mod pull;
pub mod server;
pub mod tokens;
