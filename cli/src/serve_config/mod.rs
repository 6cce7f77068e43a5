//! `medkey serve`'s configuration: a TOML file, then `MEDKEY_<SECTION>__<KEY>` environment
//! variables over it (figment). Every section refuses unknown keys, and everything is checked up
//! front, so a typo or a bad value stops the start with a message naming the key and where it
//! came from.
//!
//! Secrets are never part of the configuration. The vault secret, the relayer's and the
//! operator's keys, the audit signing key and the webhook secret come from their own environment
//! variables ([`VAULT_SECRET_ENV`], …) or from the files the `*_file` keys name, and are never
//! printed.

mod checks;
mod loaded;
mod render;
mod secrets;
mod sections;
mod settings;

pub use loaded::*;
pub use medkey_protocol::redact::redact_url;
pub use secrets::*;
pub use sections::*;
pub use settings::*;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::checks::url_scheme;
    use super::secrets::decode_hex;
    use super::sections::{defaults, notifier_defaults};
    use super::*;

    #[test]
    fn env_names_follow_the_section_and_key() {
        assert_eq!(env_name("vault.listen"), "MEDKEY_VAULT__LISTEN");
        assert_eq!(env_name("chain.rpc_url"), "MEDKEY_CHAIN__RPC_URL");
    }

    #[test]
    fn hex_errors_do_not_repeat_the_input() {
        let err = decode_hex("0xnot-a-secret-zz", "MEDKEY_X").unwrap_err().to_string();
        assert!(err.contains("MEDKEY_X is not hex") && !err.contains("not-a-secret"), "{err}");
        assert_eq!(decode_hex(" 0xAB01\n", "x").unwrap().as_slice(), [0xab, 0x01]);
    }

    #[test]
    fn webhook_defaults_are_the_vaults() {
        let vault = notifier_defaults();
        assert_eq!(defaults::webhook_max_attempts(), 8);
        assert_eq!(Duration::from_millis(defaults::webhook_first_retry_ms()), vault.first_retry);
        assert_eq!(Duration::from_secs(defaults::webhook_max_backoff_secs()), vault.max_backoff);
        assert_eq!(Duration::from_secs(defaults::webhook_attempt_timeout_secs()), vault.attempt_timeout);
    }

    #[test]
    fn url_schemes() {
        assert_eq!(url_scheme("wss://x"), Some("wss"));
        assert_eq!(url_scheme("nope"), None);
        assert_eq!(url_scheme("http://"), None);
    }
}
