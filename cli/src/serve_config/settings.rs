//! What each component is started with, from the checked configuration: the registry to
//! follow, the indexer's, the vault's identity, limits and server settings.

use alloy::primitives::Address;
use anyhow::Context;
use medkey_indexer::{Finality, FreshnessPolicy, IndexerConfig};
use medkey_protocol::Deployment;
use medkey_vault::http::{ForwardedHeader, ServerLimits, TrustedProxies};
use medkey_vault::identity::IdentityConfig;
use medkey_vault::limits::LimitSettings;
use std::time::Duration;

use super::loaded::*;
use super::secrets::*;

impl Loaded {
    /// The registry to mirror: from the file, else `deployments/<chain-id>.json`.
    pub fn registry(&self) -> anyhow::Result<RegistryTarget> {
        let chain = &self.config.chain;
        match (chain.registry, chain.deploy_block) {
            (Some(address), Some(deploy_block)) => Ok(RegistryTarget {
                address,
                deploy_block,
                source: format!("chain.registry ({})", source_of(&self.figment, "chain.registry")),
                published_audit_key: None,
            }),
            _ => {
                let deployment = Deployment::load(&chain.deployments_dir, chain.chain_id)
                    .with_context(|| self.at("chain.deployments_dir"))?;
                Ok(RegistryTarget {
                    address: deployment.address,
                    deploy_block: deployment.deploy_block,
                    source: Deployment::path(&chain.deployments_dir, chain.chain_id).display().to_string(),
                    published_audit_key: deployment.audit_key,
                })
            }
        }
    }

    pub fn indexer_config(&self, registry: &RegistryTarget) -> IndexerConfig {
        let chain = &self.config.chain;
        IndexerConfig {
            rpc_url: chain.rpc_url.clone(),
            ws_url: chain.ws_url.clone(),
            registry: registry.address,
            deploy_block: registry.deploy_block,
            expected_chain_id: Some(chain.chain_id),
            finality: self.finality(),
            max_reorg_depth: chain.max_reorg_depth,
            poll_interval: Duration::from_millis(chain.poll_interval_ms),
            rpc_timeout: Duration::from_millis(chain.rpc_timeout_ms),
            max_backoff: Duration::from_millis(chain.max_backoff_ms),
            initial_log_range: chain.initial_log_range,
            max_log_range: chain.max_log_range,
            exit_when_synced: false,
        }
    }

    pub fn finality(&self) -> Finality {
        match self.config.chain.finalized {
            true => Finality::Finalized,
            false => Finality::Confirmations(self.config.chain.confirmations),
        }
    }

    pub fn identity(&self, secrets: &Secrets) -> IdentityConfig {
        let id = &self.config.identity;
        IdentityConfig {
            domain: id.domain.clone(),
            origin: self.origin(),
            chain_id: self.config.chain.chain_id,
            jwt_secret: secrets.vault_secret.clone(),
            access_ttl: Duration::from_secs(id.access_ttl_secs),
            refresh_ttl: Duration::from_secs(id.refresh_ttl_secs),
            require_provider_mfa: id.require_provider_mfa,
            nonce_ttl: Duration::from_secs(id.nonce_ttl_secs),
        }
    }

    /// `identity.origin`, or `https://<identity.domain>`.
    pub fn origin(&self) -> String {
        let id = &self.config.identity;
        id.origin.clone().unwrap_or_else(|| format!("https://{}", id.domain))
    }

    /// The HTTP server's limits (`vault.*_timeout_secs`, `vault.max_connections`).
    pub fn server_limits(&self) -> ServerLimits {
        let v = &self.config.vault;
        ServerLimits {
            header_timeout: Duration::from_secs(v.header_timeout_secs),
            body_timeout: Duration::from_secs(v.body_timeout_secs),
            request_timeout: Duration::from_secs(v.request_timeout_secs),
            max_connections: v.max_connections,
        }
    }

    /// `vault.trusted_proxies`, checked by [`Self::problems`] already.
    pub fn trusted_proxies(&self) -> TrustedProxies {
        let header = ForwardedHeader::parse(&self.config.vault.forwarded_header).unwrap_or_default();
        TrustedProxies::parse(&self.config.vault.trusted_proxies).unwrap_or_default().reading(header)
    }

    pub fn freshness(&self) -> FreshnessPolicy {
        FreshnessPolicy {
            max_lag_blocks: self.config.freshness.max_lag_blocks,
            max_head_age: Duration::from_secs(self.config.freshness.max_head_age_secs),
        }
    }

    pub fn limits(&self) -> LimitSettings {
        let l = &self.config.limits;
        LimitSettings {
            login_per_ip_per_minute: l.login_per_ip_per_minute,
            release_per_address_per_minute: l.release_per_address_per_minute,
            release_per_ip_per_minute: l.release_per_ip_per_minute,
            patients_per_address_per_hour: l.patients_per_address_per_hour,
            directory_per_ip_per_minute: l.directory_per_ip_per_minute,
            share_link_per_ip_per_minute: l.share_link_per_ip_per_minute,
            share_links_per_address_per_minute: l.share_links_per_address_per_minute,
            share_link_uses_per_link_per_minute: l.share_link_uses_per_link_per_minute,
            lockout_after: l.lockout_after,
            lockout_window: Duration::from_secs(l.lockout_window_secs),
            lockout_for: Duration::from_secs(l.lockout_for_secs),
        }
    }
}

/// Where the registry is and where that came from.
pub struct RegistryTarget {
    pub address: Address,
    pub deploy_block: u64,
    pub source: String,
    /// The audit key the deployment file publishes, if any.
    pub published_audit_key: Option<String>,
}

/// Where the audit key a deployment file publishes differs from this vault's.
pub fn audit_key_mismatch(registry: &RegistryTarget, secrets: &Secrets) -> Option<String> {
    let published = registry.published_audit_key.as_deref()?;
    let ours = secrets.audit_public_key_hex();
    let published = published.trim_start_matches("0x").to_ascii_lowercase();
    (published != ours).then(|| {
        format!(
            "{} publishes audit key {published}, but this vault signs with {ours}: `medkey audit verify` will \
             reject its tree heads until the deployment file publishes this key",
            registry.source
        )
    })
}
