//! The verified provider directory: a provider's public profile (business information, never
//! patient data), the NPI and specialty checks, and the EIP-712 message the provider signs. The
//! registry commits to the signed profile on chain (`Provider.profileHash`), so every client can
//! tell a profile the registrar approved from one a vault edited.

pub mod npi;
pub mod profile;
pub mod taxonomy;

pub use profile::{DirectoryProfile, ProfileError, ProviderProfile};
