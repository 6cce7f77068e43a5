//! The vault's HTTP API as types: every request and response body, shared by the vault's
//! handlers (which build and parse them), the CLI's client and the Rust tests (which read them),
//! and the OpenAPI document (generated from them, and from it the TypeScript client's types).
//!
//! Requests refuse unknown fields; responses carry only what is documented. Addresses are
//! checksummed 0x-hex, hashes 0x-hex, binary payloads base64, times Unix milliseconds unless a
//! field's name says otherwise.

pub mod account;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod connections;
pub mod directory;
pub mod error;
pub mod health;
pub mod provider;
pub mod records;
pub mod requests;
pub mod share_links;
pub mod sharing;

pub use account::*;
pub use admin::*;
pub use audit::*;
pub use auth::*;
pub use connections::*;
pub use directory::*;
pub use error::*;
pub use health::*;
pub use provider::*;
pub use records::*;
pub use requests::*;
pub use share_links::*;
pub use sharing::*;
