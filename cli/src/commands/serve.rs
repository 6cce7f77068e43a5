//! `medkey serve`: the production shape in one process. The indexer follows an external chain
//! into PostgreSQL (or SQLite) and the vault serves its HTTP API over the same database, with
//! optional Redis, relayer, audit anchoring and signed webhooks, all from one config file
//! (`crate::serve_config`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{Context, bail};
use clap::Args;
use medkey_indexer::{Finality, Indexer, Metrics, Store};
use medkey_vault::StrictCheck;
use medkey_vault::anchoring::{AnchorPolicy, Anchorer};
use medkey_vault::blobs::BlobStore;
use medkey_vault::relay::Relayer;
use prometheus_client::registry::Registry;

use crate::runtime::{self, Services, StopOn, VaultServer};
use crate::serve_config::{self, BlobBackend, Loaded, RegistryTarget, Secrets, redact_url};

/// Run the chain mirror and the vault API in production, configured by a TOML file.
#[derive(Debug, Args)]
#[command(
    after_help = "Every key can be overridden with MEDKEY_<SECTION>__<KEY> (e.g. MEDKEY_VAULT__LISTEN=0.0.0.0:8080).\n\
    Secrets come only from the environment (MEDKEY_VAULT_SECRET, MEDKEY_RELAYER_KEY, MEDKEY_OPERATOR_KEY,\n\
    MEDKEY_AUDIT_KEY, MEDKEY_WEBHOOK_SECRET) or from the files the *_file keys name; see\n\
    config/production.toml.\n\n\
    Examples:\n  \
    medkey serve --config /etc/medkey/medkey.toml\n  \
    medkey serve --config config/production.toml --check   # validate and print the resolved settings"
)]
pub struct ServeArgs {
    /// The configuration file (TOML).
    #[arg(long, value_name = "FILE", env = "MEDKEY_CONFIG")]
    pub config: PathBuf,
    /// Check the configuration and the secrets, print the resolved settings (secrets redacted)
    /// and exit without connecting to anything.
    #[arg(long)]
    pub check: bool,
    /// What this process runs: `all` (the indexer and the vault), `vault` (the API alone, over a
    /// mirror another process keeps: run several behind a load balancer) or `indexer` (the chain
    /// mirror alone; needs no secret).
    #[arg(long, value_enum, default_value_t = Role::All, env = "MEDKEY_ROLE")]
    pub role: Role,
}

/// The parts of Medkey one `medkey serve` process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    All,
    Vault,
    Indexer,
}

impl Role {
    fn runs_indexer(self) -> bool {
        self != Role::Vault
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let loaded = serve_config::load(&args.config)?;
    let registry = loaded.registry()?;
    if args.role == Role::Indexer {
        for warning in &loaded.warnings {
            eprintln!("warning: {warning}");
        }
        if args.check {
            println!(
                "role indexer: chain {} → {}",
                redact_url(&loaded.config.chain.rpc_url),
                redact_url(&loaded.config.database.url)
            );
            println!("\nconfiguration OK: {} (the indexer reads no secret)", args.config.display());
            return Ok(());
        }
        return serve_indexer(&loaded, registry).await;
    }
    let secrets = loaded.secrets()?;
    for warning in loaded.warnings.iter().chain(serve_config::audit_key_mismatch(&registry, &secrets).as_ref()) {
        eprintln!("warning: {warning}");
    }
    if args.check {
        print!("{}", loaded.render(&secrets, &registry));
        println!("\nconfiguration OK: {}", args.config.display());
        return Ok(());
    }
    serve(&loaded, secrets, registry, args.role).await
}

/// The chain, checked to be the configured one, and the mirror's database.
async fn connect(loaded: &Loaded) -> anyhow::Result<(u64, Store)> {
    let c = &loaded.config;
    let rpc = redact_url(&c.chain.rpc_url);
    let chain_id = node_chain_id(&c.chain.rpc_url, Duration::from_millis(c.chain.rpc_timeout_ms))
        .await
        .with_context(|| format!("cannot reach the chain at {rpc} (chain.rpc_url)"))?;
    if chain_id != c.chain.chain_id {
        bail!("the node at {rpc} serves chain {chain_id}, but chain.chain_id is {}", c.chain.chain_id);
    }
    create_sqlite_dir(&c.database.url)?;
    let store = Store::connect(&c.database.url)
        .await
        .with_context(|| format!("opening the database {} (database.url)", redact_url(&c.database.url)))?;
    Ok((chain_id, store))
}

/// Serves `registry` on `metrics.listen`, if set.
async fn serve_metrics(loaded: &Loaded, registry: Registry) -> anyhow::Result<()> {
    let Some(addr) = loaded.config.metrics.listen else { return Ok(()) };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics listener on {addr} (metrics.listen)"))?;
    let router = medkey_indexer::metrics::router(Arc::new(registry));
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::error!(%err, "metrics server stopped");
        }
    });
    Ok(())
}

/// `--role indexer`: the chain mirror alone, for vault replicas (`--role vault`) to read.
async fn serve_indexer(loaded: &Loaded, registry: RegistryTarget) -> anyhow::Result<()> {
    let c = &loaded.config;
    let (chain_id, store) = connect(loaded).await?;
    let mut metrics_registry = Registry::default();
    let metrics = Metrics::register(&mut metrics_registry);
    serve_metrics(loaded, metrics_registry).await?;
    let indexer = Indexer::connect(loaded.indexer_config(&registry), store.clone(), metrics)
        .await
        .context("starting the indexer")?;
    println!("Medkey's indexer is running (--role indexer)");
    println!("  chain            {chain_id} at {}", redact_url(&c.chain.rpc_url));
    println!("  ConsentRegistry  {} from block {} ({})", registry.address, registry.deploy_block, registry.source);
    println!("  chain mirror     {}", redact_url(&c.database.url));
    match c.metrics.listen {
        Some(addr) => println!("  metrics          http://{addr}/metrics"),
        None => println!("  metrics          off"),
    }
    println!("Stop with Ctrl-C or SIGTERM.");
    let services = Services { store, indexer: Some(indexer), vault: None };
    services.run(StopOn::SignalOrExit).await?;
    eprintln!("medkey serve stopped");
    Ok(())
}

async fn serve(loaded: &Loaded, mut secrets: Secrets, registry: RegistryTarget, role: Role) -> anyhow::Result<()> {
    let c = &loaded.config;
    let rpc = redact_url(&c.chain.rpc_url);
    let database = redact_url(&c.database.url);
    let (chain_id, store) = connect(loaded).await?;
    // A vault replica exports the vault's metrics only; the indexer's are its own process's.
    let mut metrics_registry = Registry::default();
    let indexer = match role.runs_indexer() {
        true => {
            let metrics = Metrics::register(&mut metrics_registry);
            let config = loaded.indexer_config(&registry);
            Some(Indexer::connect(config, store.clone(), metrics).await.context("starting the indexer")?)
        }
        false => None,
    };

    let blobs = match c.blobs.backend {
        BlobBackend::Local => {
            let dir = c.blobs.dir.as_deref().context("blobs.dir is not set")?;
            BlobStore::local(dir)
                .with_context(|| format!("opening the blob directory {} (blobs.dir)", dir.display()))?
        }
        BlobBackend::S3 => s3_blobs(c.blobs.bucket.as_deref().unwrap_or_default())?,
    };
    let audit_key = secrets.audit_signing_key();
    let audit_public = alloy::hex::encode(audit_key.verifying_key().as_bytes());
    let mut state =
        runtime::vault_state(&store, chain_id, loaded.identity(&secrets), loaded.freshness(), loaded.limits())
            .await?
            .with_blobs(blobs, c.blobs.max_attachment_bytes)
            .with_audit_key(audit_key)
            .with_trusted_proxies(loaded.trusted_proxies());
    if c.freshness.strict {
        let timeout = Duration::from_millis(c.freshness.strict_timeout_ms);
        let check = StrictCheck::new(&c.chain.rpc_url, registry.address, timeout)
            .map_err(|err| anyhow::anyhow!(err))
            .context("starting strict mode (freshness.strict)")?;
        state = state.with_strict(check);
    }
    if let Some(redis) = &c.redis {
        let ca = match &redis.ca_file {
            Some(path) => Some(
                std::fs::read(path)
                    .with_context(|| format!("reading the CA certificate {} (redis.ca_file)", path.display()))?,
            ),
            None => None,
        };
        state = state
            .with_redis_ca(&redis.url, &redis.prefix, ca.as_deref())
            .await
            .with_context(|| format!("connecting to Redis at {} (redis.url)", redact_url(&redis.url)))?;
    }
    let tls = match (&c.vault.tls_cert_file, &c.vault.tls_key_file) {
        (Some(cert), Some(key)) => Some(
            medkey_vault::http::server_tls(cert, key)
                .map_err(|why| anyhow::anyhow!("vault.tls_cert_file / vault.tls_key_file: {why}"))?,
        ),
        _ => None,
    };
    let relayer_account = match &secrets.relayer {
        Some((key, _)) => {
            let timeout = Duration::from_secs(c.relayer.timeout_secs);
            let relayer = Relayer::new(&c.chain.rpc_url, key.clone(), registry.address, chain_id, timeout)
                .map_err(|err| anyhow::anyhow!(err))
                .context("starting the relayer")?;
            state = state.with_relayer(relayer);
            Some(key.address())
        }
        None => None,
    };
    let anchoring = match &secrets.operator {
        Some((key, _)) => {
            let timeout = Duration::from_secs(c.anchoring.timeout_secs);
            let anchorer = Anchorer::new(&c.chain.rpc_url, key.clone(), registry.address, state.audit.clone(), timeout)
                .map_err(|err| anyhow::anyhow!(err))
                .context("starting the anchorer")?;
            let policy = AnchorPolicy {
                every_entries: c.anchoring.every_entries,
                every: Duration::from_secs(c.anchoring.every_secs),
            };
            Some((anchorer, policy, key.address()))
        }
        None => None,
    };
    state.metrics.register(&mut metrics_registry);
    serve_metrics(loaded, metrics_registry).await?;
    check_open_file_limit(c.vault.max_connections);
    let listener = tokio::net::TcpListener::bind(c.vault.listen)
        .await
        .with_context(|| format!("binding the vault on {} (vault.listen)", c.vault.listen))?;
    // Last, once the port is ours: the notifier starts sending as soon as it is on.
    let webhooks = match secrets.notifier.take() {
        Some((config, from)) => {
            let line = format!(
                "{} (signed with the secret from {from}; up to {} attempts)",
                redact_url(config.url.as_str()),
                config.max_attempts
            );
            state = state.with_notifier(config).await.context("starting webhook notifications ([notifications])")?;
            Some(line)
        }
        None => None,
    };

    match role {
        Role::All => println!("Medkey is serving"),
        _ => println!("Medkey is serving (--role vault: the indexer runs in another process)"),
    }
    let heads = match (&c.chain.ws_url, c.chain.rpc_url.starts_with("ws")) {
        (Some(_), _) | (None, true) => "new heads over WebSocket".to_owned(),
        (None, false) => format!("polling every {} ms", c.chain.poll_interval_ms),
    };
    println!("  chain            {chain_id} at {rpc} ({heads})");
    println!("  ConsentRegistry  {} from block {} ({})", registry.address, registry.deploy_block, registry.source);
    let finality = match loaded.finality() {
        Finality::Finalized => "finalized blocks only".to_owned(),
        Finality::Confirmations(n) => format!("{n} confirmations"),
    };
    match role.runs_indexer() {
        true => println!("  chain mirror     {database} (indexer following, {finality})"),
        false => println!("  chain mirror     {database} (kept by a separate indexer)"),
    }
    println!(
        "  vault            {}://{} (SIWE domain {}, origin {})",
        if tls.is_some() { "https" } else { "http" },
        c.vault.listen,
        c.identity.domain,
        loaded.origin()
    );
    let limits = loaded.server_limits();
    println!(
        "  connections      at most {}; headers within {} s, body pauses under {} s, answers within {} s",
        limits.max_connections,
        limits.header_timeout.as_secs(),
        limits.body_timeout.as_secs(),
        limits.request_timeout.as_secs()
    );
    match c.vault.trusted_proxies.as_slice() {
        [] => println!("  client address   the connection's peer (no trusted proxies)"),
        proxies => println!(
            "  client address   from the {} header set by {} (no other header is read)",
            c.vault.forwarded_header,
            proxies.join(", ")
        ),
    }
    match c.freshness.strict {
        true => println!("  key releases     strict: each confirmed with canAccess on chain"),
        false => println!("  key releases     decided on the chain mirror (freshness.strict = false)"),
    }
    match &c.redis {
        Some(redis) => println!("  Redis            {} (keys {}:…)", redact_url(&redis.url), redis.prefix),
        None => println!("  Redis            off (nonces in the database, rate limits in this process)"),
    }
    match (&c.blobs.backend, &c.blobs.dir, &c.blobs.bucket) {
        (BlobBackend::Local, Some(dir), _) => println!("  attachments      {} (ciphertext only)", dir.display()),
        (_, _, bucket) => println!("  attachments      s3://{} (ciphertext only)", bucket.as_deref().unwrap_or("")),
    }
    match relayer_account {
        Some(account) => println!("  relayer          {account} pays for gasless grants (POST /v1/relay)"),
        None => println!("  relayer          off (relayer.enabled = false)"),
    }
    match &anchoring {
        Some((_, policy, account)) => println!(
            "  audit log        anchored on chain by {account} every {} entries or {} s",
            policy.every_entries,
            policy.every.as_secs()
        ),
        None => println!("  audit log        not anchored on chain (anchoring.enabled = false)"),
    }
    println!("  audit key        {audit_public} (Ed25519, {})", secrets.audit_key_source());
    println!("                   publish it: medkey deploy --audit-key {audit_public}");
    match c.metrics.listen {
        Some(addr) => println!("  metrics          http://{addr}/metrics"),
        None => println!("  metrics          off"),
    }
    match webhooks {
        Some(line) => println!("  webhooks         {line}"),
        None => println!("  webhooks         off (no [notifications] section)"),
    }
    let web_app = match &c.vault.web_root {
        Some(dir) => {
            let config = medkey_vault::http::AppConfig {
                chain_id,
                registry: registry.address,
                audit_key: audit_public.clone(),
                dev_rpc_url: None,
                smart_endpoints: crate::smart_brands::listed(&c.vault.smart_endpoints, c.vault.smart_brands.as_deref())
                    .context("vault.smart_brands")?,
                smart_client_id: c.vault.smart_client_id.clone(),
            };
            let mut app = medkey_vault::http::WebApp::new(dir, &config)
                .map_err(|why| anyhow::anyhow!("vault.web_root: {why}"))?;
            println!("  patient app      served at / from {}", dir.display());
            for (key, name, prefix, mounted) in [
                ("provider_web_root", "provider app", "/provider", &c.vault.provider_web_root),
                ("admin_web_root", "admin console", "/admin", &c.vault.admin_web_root),
            ] {
                if let Some(mounted) = mounted {
                    app = app.with_mount(prefix, mounted).map_err(|why| anyhow::anyhow!("vault.{key}: {why}"))?;
                    println!("  {name:<16} served at {prefix}/ from {}", mounted.display());
                }
            }
            Some(app)
        }
        None => {
            println!("  patient app      not served (vault.web_root unset)");
            None
        }
    };
    println!("Stop with Ctrl-C or SIGTERM.");
    drop(secrets);

    let services = Services {
        store,
        indexer,
        vault: Some(VaultServer {
            state,
            listener,
            tls,
            body_limit: c.vault.body_limit_bytes,
            server_limits: loaded.server_limits(),
            anchoring: anchoring.map(|(anchorer, policy, _)| (anchorer, policy)),
            web_app,
            sample_metrics: c.metrics.listen.is_some(),
        }),
    };
    services.run(StopOn::SignalOrExit).await?;
    eprintln!("medkey serve stopped");
    Ok(())
}

/// Raises the soft open-file limit to the hard one, and warns when `vault.max_connections` (plus
/// the database pool, the listener and files) could still run into it: then sockets past the
/// limit fail to be accepted instead of waiting for a slot.
fn check_open_file_limit(max_connections: usize) {
    const OTHER_FILES: u64 = 128;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if (max_connections as u64).saturating_add(OTHER_FILES) > limit => eprintln!(
            "warning: vault.max_connections ({max_connections}) is close to the open-file limit ({limit}): \
             raise it (ulimit -n, LimitNOFILE=) or lower vault.max_connections"
        ),
        Ok(_) => {}
        Err(err) => eprintln!("warning: cannot read the open-file limit: {err}"),
    }
}

/// SQLite creates its file if missing, but not the directory it goes in.
fn create_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Ok(());
    };
    let file = rest.split('?').next().unwrap_or_default();
    if file.is_empty() || file.starts_with(":memory:") {
        return Ok(());
    }
    match std::path::Path::new(file).parent().filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the directory {} for the database (database.url)", dir.display())),
        None => Ok(()),
    }
}

/// The chain id the node at `rpc_url` serves (HTTP or WebSocket).
async fn node_chain_id(rpc_url: &str, timeout: Duration) -> anyhow::Result<u64> {
    let call = async {
        let provider = ProviderBuilder::new().connect(rpc_url).await?;
        Ok::<_, anyhow::Error>(provider.get_chain_id().await?)
    };
    tokio::time::timeout(timeout, call).await.map_err(|_| anyhow::anyhow!("no answer within {timeout:?}"))?
}

#[cfg(feature = "s3")]
fn s3_blobs(bucket: &str) -> anyhow::Result<BlobStore> {
    BlobStore::s3(bucket).with_context(|| format!("opening the S3 bucket {bucket} (blobs.bucket; AWS_* variables)"))
}

#[cfg(not(feature = "s3"))]
fn s3_blobs(_bucket: &str) -> anyhow::Result<BlobStore> {
    bail!(
        "blobs.backend = \"s3\" needs a medkey built with the s3 feature (on by default; this one was built without it)"
    )
}
