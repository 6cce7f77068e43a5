//! What may be shown of a URL in messages and logs. RPC URLs carry API keys in their path or
//! query, database and Redis URLs carry passwords: one helper for every command's output and the
//! indexer's log lines, so none of them prints a secret.

/// A URL for messages: the password in `user:password@` becomes `***`, and an RPC URL's path and
/// query (where providers put API keys) become `…`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{credentials}@{host}"),
        },
        None => authority.to_owned(),
    };
    let is_rpc = ["http", "https", "ws", "wss"].contains(&scheme);
    let tail = match tail.find('?') {
        _ if is_rpc && tail.len() > 1 => "/…".to_owned(),
        // A query may carry a password (`?password=`, `?sslpassword=`): never shown.
        Some(at) => format!("{}?…", &tail[..at]),
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// `text` with every URL in it (`scheme://…` up to whitespace or a closing quote or bracket)
/// replaced by its [`redact_url`] form: for error chains that quote URLs in lower layers' words.
pub fn scrub_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // Back up over the scheme's letters.
        let start = rest[..at].rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c))).map_or(0, |i| i + 1);
        if start == at {
            out.push_str(&rest[..at + 3]);
            rest = &rest[at + 3..];
            continue;
        }
        let mut end =
            rest[at..].find(|c: char| c.is_whitespace() || "\"'<>()`".contains(c)).map_or(rest.len(), |i| at + i);
        // Punctuation closing a sentence or a clause is the message's, not the URL's.
        while end > at + 3 && rest[..end].ends_with([':', ',', '.', ';', '!', '?']) {
            end -= 1;
        }
        out.push_str(&rest[..start]);
        out.push_str(&redact_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords_and_rpc_paths_only() {
        assert_eq!(redact_url("postgres://medkey:s3cret@db:5432/medkey"), "postgres://medkey:***@db:5432/medkey");
        assert_eq!(redact_url("postgres://medkey@db/medkey"), "postgres://medkey@db/medkey");
        assert_eq!(redact_url("redis://:pw@redis:6379/0"), "redis://:***@redis:6379/0");
        assert_eq!(redact_url("https://mainnet.example/v3/APIKEY"), "https://mainnet.example/…");
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(redact_url("http://127.0.0.1:8545/"), "http://127.0.0.1:8545/");
        assert_eq!(redact_url("sqlite://.medkey/medkey.sqlite"), "sqlite://.medkey/medkey.sqlite");
    }

    #[test]
    fn queries_and_urls_inside_messages_are_redacted() {
        assert_eq!(redact_url("postgres://db/medkey?sslmode=require&password=pw"), "postgres://db/medkey?…");
        assert_eq!(
            scrub_urls(
                "cannot reach the chain at https://node.example/v3/KEY: error sending request for url (https://node.example/v3/KEY)"
            ),
            "cannot reach the chain at https://node.example/…: error sending request for url (https://node.example/…)"
        );
        assert_eq!(scrub_urls("no url here: a://"), "no url here: a://");
        assert_eq!(scrub_urls("'wss://n.example/ws/KEY' is not valid"), "'wss://n.example/…' is not valid");
    }
}
