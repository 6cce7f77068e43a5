//! Checking a loaded configuration: every problem with its values, each naming its key and
//! where it came from, and the warnings for what is allowed but probably not meant.

use medkey_indexer::Backend;
use medkey_protocol::redact::redact_url;
use medkey_vault::http::{ForwardedHeader, TrustedProxies};
use medkey_vault::notify::{self, NotifierConfig};

use super::loaded::*;
use super::sections::*;

impl Loaded {
    /// Every problem with the values, each naming its key.
    pub(super) fn problems(&self) -> Vec<String> {
        let c = &self.config;
        let mut problems = Vec::new();
        let mut check = |ok: bool, key: &str, what: String| {
            if !ok {
                problems.push(format!("{}: {what}", self.at(key)));
            }
        };
        let chain = &c.chain;
        check(
            url_scheme(&chain.rpc_url).is_some_and(|s| ["http", "https", "ws", "wss"].contains(&s)),
            "chain.rpc_url",
            format!("'{}' is not an http(s):// or ws(s):// URL", redact_url(&chain.rpc_url)),
        );
        if let Some(ws) = &chain.ws_url {
            check(
                url_scheme(ws).is_some_and(|s| s == "ws" || s == "wss"),
                "chain.ws_url",
                format!("'{}' is not a ws(s):// URL", redact_url(ws)),
            );
        }
        check(chain.chain_id > 0, "chain.chain_id", "must be a chain id (1 or more)".into());
        match (chain.registry, chain.deploy_block) {
            (Some(_), None) => check(
                false,
                "chain.deploy_block",
                "is not set but chain.registry is: set the block it was deployed in".into(),
            ),
            (None, Some(_)) => check(false, "chain.registry", "is not set but chain.deploy_block is".into()),
            _ => {}
        }
        check(
            !(chain.finalized && chain.confirmations > 0),
            "chain.confirmations",
            "cannot be combined with chain.finalized = true (finalized blocks need no confirmations)".into(),
        );
        check(chain.poll_interval_ms >= 10, "chain.poll_interval_ms", "must be at least 10".into());
        check(chain.rpc_timeout_ms >= 100, "chain.rpc_timeout_ms", "must be at least 100".into());
        check(chain.max_backoff_ms >= 100, "chain.max_backoff_ms", "must be at least 100".into());
        check(chain.initial_log_range >= 1, "chain.initial_log_range", "must be at least 1".into());
        check(
            chain.max_log_range >= chain.initial_log_range,
            "chain.max_log_range",
            format!("must be at least chain.initial_log_range ({})", chain.initial_log_range),
        );
        check(
            Backend::of_url(&c.database.url).is_ok(),
            "database.url",
            format!("'{}' must start with postgres://, postgresql:// or sqlite:", redact_url(&c.database.url)),
        );
        if let Some(redis) = &c.redis {
            check(
                url_scheme(&redis.url).is_some_and(|s| ["redis", "rediss", "redis+unix", "unix"].contains(&s)),
                "redis.url",
                format!("'{}' is not a redis:// or rediss:// URL", redact_url(&redis.url)),
            );
            check(
                redis.ca_file.is_none() || url_scheme(&redis.url) == Some("rediss"),
                "redis.ca_file",
                "is set but redis.url is not rediss://: a CA certificate only means something over TLS".into(),
            );
            check(
                !redis.prefix.is_empty() && !redis.prefix.contains(char::is_whitespace),
                "redis.prefix",
                "must be a non-empty word (keys are named <prefix>:…)".into(),
            );
        }
        check(c.vault.body_limit_bytes >= 1024, "vault.body_limit_bytes", "must be at least 1024".into());
        if let Err(err) = TrustedProxies::parse(&c.vault.trusted_proxies) {
            check(false, "vault.trusted_proxies", err);
        }
        if let Err(err) = ForwardedHeader::parse(&c.vault.forwarded_header) {
            check(false, "vault.forwarded_header", err);
        }
        for (key, secs) in [
            ("vault.header_timeout_secs", c.vault.header_timeout_secs),
            ("vault.body_timeout_secs", c.vault.body_timeout_secs),
            ("vault.request_timeout_secs", c.vault.request_timeout_secs),
        ] {
            check((1..=3_600).contains(&secs), key, "must be between 1 and 3600 seconds".into());
        }
        check(c.vault.max_connections >= 1, "vault.max_connections", "must be at least 1".into());
        check(
            c.vault.tls_cert_file.is_some() == c.vault.tls_key_file.is_some(),
            if c.vault.tls_cert_file.is_some() { "vault.tls_key_file" } else { "vault.tls_cert_file" },
            "is not set but its pair is: HTTPS needs both the certificate (vault.tls_cert_file) and its key \
             (vault.tls_key_file)"
                .into(),
        );
        check(c.freshness.strict_timeout_ms >= 100, "freshness.strict_timeout_ms", "must be at least 100".into());
        if let Some(origin) = &c.identity.origin {
            let parsed = url::Url::parse(origin).ok();
            check(
                parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.path() == "/"),
                "identity.origin",
                format!("'{origin}' must be the vault's public origin, like https://vault.example.org (no path)"),
            );
        }
        let id = &c.identity;
        check(
            !id.domain.is_empty()
                && !id.domain.contains("://")
                && !id.domain.contains(['/', ' ', '\t', '\n'])
                && !id.domain.starts_with(':'),
            "identity.domain",
            format!(
                "'{}' must be a host name as clients reach the vault (vault.example.org or localhost:8080), no scheme or path",
                id.domain
            ),
        );
        check(
            (1..=15 * 60).contains(&id.access_ttl_secs),
            "identity.access_ttl_secs",
            "must be between 1 and 900 (access tokens live at most 15 minutes)".into(),
        );
        check(
            id.refresh_ttl_secs >= id.access_ttl_secs,
            "identity.refresh_ttl_secs",
            format!("must be at least identity.access_ttl_secs ({})", id.access_ttl_secs),
        );
        check(id.nonce_ttl_secs >= 1, "identity.nonce_ttl_secs", "must be at least 1".into());
        check(c.freshness.max_head_age_secs >= 1, "freshness.max_head_age_secs", "must be at least 1".into());
        check(
            chain.finalized || c.freshness.max_lag_blocks >= chain.confirmations,
            "freshness.max_lag_blocks",
            format!(
                "is {} but chain.confirmations is {}: the mirror always stays that many blocks behind the head, so \
                 the vault would never count as fresh; make it at least {} (the confirmations plus a few)",
                c.freshness.max_lag_blocks,
                chain.confirmations,
                chain.confirmations + 3
            ),
        );
        let limits = &c.limits;
        for (key, value) in [
            ("limits.login_per_ip_per_minute", u64::from(limits.login_per_ip_per_minute)),
            ("limits.release_per_address_per_minute", u64::from(limits.release_per_address_per_minute)),
            ("limits.release_per_ip_per_minute", u64::from(limits.release_per_ip_per_minute)),
            ("limits.patients_per_address_per_hour", u64::from(limits.patients_per_address_per_hour)),
            ("limits.directory_per_ip_per_minute", u64::from(limits.directory_per_ip_per_minute)),
            ("limits.share_link_per_ip_per_minute", u64::from(limits.share_link_per_ip_per_minute)),
            ("limits.share_links_per_address_per_minute", u64::from(limits.share_links_per_address_per_minute)),
            ("limits.share_link_uses_per_link_per_minute", u64::from(limits.share_link_uses_per_link_per_minute)),
            ("limits.lockout_after", u64::from(limits.lockout_after)),
            ("limits.lockout_window_secs", limits.lockout_window_secs),
            ("limits.lockout_for_secs", limits.lockout_for_secs),
        ] {
            check(value >= 1, key, "must be at least 1".into());
        }
        match c.blobs.backend {
            BlobBackend::Local => check(
                c.blobs.dir.as_ref().is_some_and(|dir| !dir.as_os_str().is_empty()),
                "blobs.dir",
                "is not set: it names the directory for attachment ciphertext (blobs.backend is \"local\")".into(),
            ),
            BlobBackend::S3 => {
                check(
                    c.blobs.bucket.as_ref().is_some_and(|b| !b.is_empty()),
                    "blobs.bucket",
                    "is not set: it names the S3 bucket (blobs.backend is \"s3\")".into(),
                );
                check(
                    cfg!(feature = "s3"),
                    "blobs.backend",
                    "\"s3\" needs a medkey built with the s3 feature (on by default; this one was built with \
                     --no-default-features and stores blobs in a local directory only)"
                        .into(),
                );
            }
        }
        check(c.blobs.max_attachment_bytes >= 1, "blobs.max_attachment_bytes", "must be at least 1".into());
        let sends = c.relayer.enabled || c.anchoring.enabled;
        check(
            !sends || url_scheme(&chain.rpc_url).is_some_and(|s| s == "http" || s == "https"),
            "chain.rpc_url",
            "must be http(s):// when relayer or anchoring is enabled (they send transactions over HTTP; put a \
             WebSocket endpoint in chain.ws_url)"
                .into(),
        );
        check(c.relayer.timeout_secs >= 1, "relayer.timeout_secs", "must be at least 1".into());
        check(c.anchoring.every_entries >= 1, "anchoring.every_entries", "must be at least 1".into());
        check(c.anchoring.every_secs >= 1, "anchoring.every_secs", "must be at least 1".into());
        check(c.anchoring.timeout_secs >= 1, "anchoring.timeout_secs", "must be at least 1".into());
        if let Some(metrics) = c.metrics.listen {
            check(
                metrics != c.vault.listen,
                "metrics.listen",
                format!("{metrics} is vault.listen too; give metrics its own port"),
            );
        }
        if let Some(n) = &c.notifications {
            // The URL as the vault checks it (the secret is checked with it in `secrets`).
            let url = NotifierConfig::new(&n.url, &[0; notify::MIN_SECRET_LEN]);
            check(
                !matches!(url, Err(notify::ConfigError::Url)),
                "notifications.url",
                format!("'{}' is not an http:// or https:// URL with a host", redact_url(&n.url)),
            );
            check(n.max_attempts >= 1, "notifications.max_attempts", "must be at least 1".into());
            check(n.first_retry_ms >= 1, "notifications.first_retry_ms", "must be at least 1".into());
            check(
                u128::from(n.max_backoff_secs) * 1_000 >= u128::from(n.first_retry_ms),
                "notifications.max_backoff_secs",
                format!("must be at least notifications.first_retry_ms ({} ms)", n.first_retry_ms),
            );
            check(n.attempt_timeout_secs >= 1, "notifications.attempt_timeout_secs", "must be at least 1".into());
        }
        problems
    }

    pub(super) fn collect_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let c = &self.config;
        for (env, key, enabled) in [
            (RELAYER_KEY_ENV, "relayer.enabled", c.relayer.enabled),
            (OPERATOR_KEY_ENV, "anchoring.enabled", c.anchoring.enabled),
        ] {
            if !enabled && std::env::var_os(env).is_some_and(|v| !v.is_empty()) {
                warnings.push(format!("{env} is set but {key} is false: it is not used"));
            }
        }
        if c.notifications.is_none() && std::env::var_os(WEBHOOK_SECRET_ENV).is_some_and(|v| !v.is_empty()) {
            warnings
                .push(format!("{WEBHOOK_SECRET_ENV} is set but there is no [notifications] section: it is not used"));
        }
        if c.chain.finalized && c.freshness.max_lag_blocks < 64 {
            warnings.push(format!(
                "chain.finalized is true but freshness.max_lag_blocks is {}: the mirror lags the head by the node's \
                 finality depth (about 64-96 blocks on Ethereum), so the vault may never count as fresh",
                c.freshness.max_lag_blocks
            ));
        }
        if c.chain.confirmations == 0 && !c.chain.finalized && c.chain.chain_id != 31337 {
            warnings.push(format!(
                "chain.confirmations is 0 on chain {}: reorgs will be followed block by block; a public chain \
                 usually wants 12 or more (or chain.finalized = true)",
                c.chain.chain_id
            ));
        }
        warnings
    }
}

/// The scheme of `url` (lowercase), if it looks like `scheme://…`.
pub(super) fn url_scheme(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let valid = !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty();
    valid.then_some(scheme)
}
