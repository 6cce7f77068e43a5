//! What `medkey serve --check` prints: every key of the configuration with its resolved value
//! and where it came from, rendered from the configuration itself (so a new key shows without
//! anyone listing it here), URLs with their passwords and paths hidden, and secrets only by
//! where they came from.

use serde_json::Value;

use medkey_protocol::redact::redact_url;
use serde::Deserialize;
use std::fmt::Write as _;

use super::loaded::*;
use super::secrets::*;
use super::settings::*;

impl Loaded {
    /// The resolved settings, one `key = value  # source` line each (valid TOML, unset keys as
    /// comments), then the secrets by source only: what `medkey serve --check` prints.
    pub fn render(&self, secrets: &Secrets, registry: &RegistryTarget) -> String {
        let json = serde_json::to_string(&self.config).expect("the configuration serialises to JSON");
        let Ordered(sections) = serde_json::from_str::<Ordered<Option<Ordered<Value>>>>(&json)
            .expect("a serialised configuration reads back");
        let mut out = format!("# medkey serve --config {}\n", self.path.display());
        for (section, members) in sections {
            let _ = writeln!(out, "\n[{section}]");
            let Some(Ordered(members)) = members else {
                let _ = writeln!(out, "{:<56} # not set", "# (the whole section)");
                continue;
            };
            for (key, value) in members {
                let full = format!("{section}.{key}");
                let (line, source) = match (&value, self.derived(&full)) {
                    (Value::Null, Some((value, why))) => (format!("{key} = {}", toml_value(&key, &value)), why),
                    (Value::Null, None) => (format!("# {key}"), "not set".to_owned()),
                    (value, _) => (format!("{key} = {}", toml_value(&key, value)), source_of(&self.figment, &full)),
                };
                let _ = writeln!(out, "{line:<56} # {source}");
            }
        }
        let _ = writeln!(out, "\n# resolved");
        let _ = writeln!(
            out,
            "# registry          {} from block {} ({})",
            registry.address, registry.deploy_block, registry.source
        );
        let _ = writeln!(
            out,
            "# vault secret      {} bytes, from {} (not shown)",
            secrets.vault_secret.len(),
            secrets.vault_secret_from
        );
        for (name, key) in [("relayer", &secrets.relayer), ("anchoring", &secrets.operator)] {
            let _ = match key {
                Some((signer, from)) => {
                    writeln!(out, "# {name:<17} account {}, key from {from} (not shown)", signer.address())
                }
                None => writeln!(out, "# {name:<17} off"),
            };
        }
        let _ =
            writeln!(out, "# audit key         {} ({})", secrets.audit_public_key_hex(), secrets.audit_key_source());
        let _ = match &secrets.notifier {
            Some((config, from)) => writeln!(
                out,
                "# webhooks          {}, signed with a secret from {from} (not shown)",
                redact_url(config.url.as_str())
            ),
            None => writeln!(out, "# webhooks          off"),
        };
        out
    }
}

impl Loaded {
    /// A value left unset whose effective value is computed from others, and how.
    fn derived(&self, key: &str) -> Option<(Value, String)> {
        match key {
            "identity.origin" => Some((Value::String(self.origin()), "default: https://<identity.domain>".to_owned())),
            _ => None,
        }
    }
}

/// A value as TOML writes it; a URL with its password and path hidden.
fn toml_value(key: &str, value: &Value) -> String {
    match value {
        Value::String(text) if key.ends_with("url") => format!("{:?}", redact_url(text)),
        Value::String(text) => format!("{text:?}"),
        Value::Array(items) => {
            format!("[{}]", items.iter().map(|item| toml_value("", item)).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}

/// A JSON object's members in the order they were written: the configuration's own field order
/// (serde_json's `Value` would sort them).
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Members<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Ordered(members))
            }
        }
        deserializer.deserialize_map(Members(std::marker::PhantomData))
    }
}
