//! `medkey`: the patient's wallet, the provider's client and the contract admin's tool.

mod audit_proofs;
mod commands;
mod dates;
mod deployments;
mod directory_check;
mod emergency_setup;
mod export_layout;
mod fhir_bundle_writer;
mod fhir_file;
mod fhir_validation;
mod grants;
mod keystore;
mod plain_errors;
mod private_files;
mod progress;
mod record_store;
mod registry;
mod runtime;
mod sealing;
mod serve_config;
mod session;
mod session_cache;
mod share_link_file;
mod signals;
mod smart;
mod smart_brands;
mod table;
mod tools;
mod vault_client;
mod wallet;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: under load `medkey serve` spent a tenth of its time in
/// glibc's allocator (`perf`, BENCHMARKS.md, issue #15).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// alloy's WebSocket layer logs its own reconnects at ERROR; the indexer already reports every
/// failed call it retries, so those lines would only be noise (e.g. when Ctrl-C stops anvil).
/// The indexer's sync loop reports its start and, every 5 s while it indexes, its progress
/// (block, lag, events/s): the progress output of a long backfill.
const DEFAULT_LOG: &str = "warn,medkey_indexer::sync=info,alloy_pubsub=off,alloy_transport_ws=off";

fn init_logging() {
    let filter = EnvFilter::try_from_env("MEDKEY_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match std::env::var(LOG_FORMAT_ENV).as_deref() {
        Ok("json") => builder.json().with_current_span(false).init(),
        Ok("text") | Err(_) => builder
            // Colour only for a person at a terminal: a log written to a file stays plain text.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        Ok(other) => {
            builder.with_ansi(false).init();
            tracing::warn!("{LOG_FORMAT_ENV}={other:?} is neither \"text\" nor \"json\"; logging text");
        }
    }
}

/// Exit codes: 0 success, 1 a command failed (the message says why), 2 bad usage.
/// `MEDKEY_LOG_FORMAT=json`: log lines as JSON objects (one per line) for a log collector.
const LOG_FORMAT_ENV: &str = "MEDKEY_LOG_FORMAT";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_logging();
    // One TLS provider for every client that takes the process default (Redis over rediss://).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = commands::Cli::parse();
    match cli.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // Lower layers quote URLs in their errors; RPC URLs carry API keys.
            let raw = medkey_protocol::redact::scrub_urls(&format!("{err:#}"));
            match plain_errors::explain(&raw).or_else(|| plain_errors::explain(&raw.to_lowercase())) {
                Some(plain) => eprintln!("error: {plain}\n(details: {raw})"),
                None => eprintln!("error: {raw}"),
            }
            std::process::ExitCode::FAILURE
        }
    }
}
