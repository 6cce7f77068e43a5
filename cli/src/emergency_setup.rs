//! The patient's break-glass setup as her devices read it: the categories opted in on chain and
//! the providers she chose (kept in the vault), so every device wraps new records the same way.

use crate::session::Session;
use alloy::primitives::Address;
use medkey_protocol::Category;
use medkey_protocol::api::EmergencyProviders;

/// The patient's break-glass setup: the categories opted in on chain and the providers chosen
/// for them (kept in the vault, so every device of hers wraps new records the same way).
pub struct Emergency {
    categories: Vec<Category>,
    providers: Vec<Address>,
}

impl Emergency {
    pub fn none() -> Self {
        Self { categories: Vec::new(), providers: Vec::new() }
    }

    pub async fn load(session: &Session) -> anyhow::Result<Self> {
        let mask = session.registry().emergencyCategories(session.address()).call().await?;
        if mask == 0 {
            return Ok(Self::none());
        }
        let list: EmergencyProviders = session.get_as("/v1/account/emergency-providers").await?;
        Ok(Self { categories: Category::from_mask(mask), providers: list.providers })
    }

    /// Whom a new record of `category` is wrapped for, beyond the live grants.
    pub fn providers_for(&self, category: Category) -> &[Address] {
        if self.categories.contains(&category) { &self.providers } else { &[] }
    }
}
