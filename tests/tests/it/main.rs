//! Every end-to-end test of the workspace in one binary (reth's layout): one link of the whole
//! workspace instead of one per area. Each module is an area; nextest still runs each test in a
//! process of its own, so no test sees another's state. The cluster test under faults is its own
//! binary (`tests/tests/cluster.rs`): it runs alone, after these.
//!
//! Run one area with `cargo nextest run -p medkey-e2e --test it vault_http::`.

mod admin_cli;
mod audit_cli;
mod backup_restore;
mod cli_help;
mod consent_registry;
mod dev_walkthrough;
mod indexer_cli;
mod indexer_follow;
mod indexer_mirror;
mod indexer_reorg;
mod indexer_restart;
mod module_graph;
mod patient_cli;
mod provider_directory;
mod serve_cli;
mod serve_tls;
mod vault_account;
mod vault_api_contract;
mod vault_attachments;
mod vault_audit;
mod vault_connections;
mod vault_gate;
mod vault_hardening;
mod vault_http;
mod vault_identity;
mod vault_identity_sharing;
mod vault_integrity;
mod vault_key_batch;
mod vault_mfa;
mod vault_openapi;
mod vault_record_batch;
mod vault_records;
mod vault_redis;
mod vault_relay;
mod vault_requests;
mod vault_share_links;
mod vault_webhooks;
