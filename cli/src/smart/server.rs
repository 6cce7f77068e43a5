//! A provider's FHIR server as SMART App Launch describes it (`.well-known/smart-configuration`),
//! refused in words when it cannot give a patient's app what Medkey needs.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The server, with the field names the patient app seals (`smart/smartServer.ts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmartServer {
    /// The FHIR base URL, without a trailing slash.
    pub fhir_base: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// A loopback address (a sandbox, a test) may speak plain HTTP; anything else must be HTTPS.
pub fn is_loopback(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

fn secure(url: &url::Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url))
}

/// Reads and checks a server's SMART configuration.
pub async fn discover(http: &reqwest::Client, fhir_base: &str) -> anyhow::Result<SmartServer> {
    let base = fhir_base.trim().trim_end_matches('/');
    let url = url::Url::parse(base).ok().filter(|u| matches!(u.scheme(), "http" | "https")).with_context(|| {
        format!("{base:?} is not a web address: it starts with https:// and ends with the FHIR path")
    })?;
    if !secure(&url) {
        bail!("{base} does not use https://, so your records would travel unprotected; check the address");
    }
    let answer = http
        .get(format!("{base}/.well-known/smart-configuration"))
        .header("accept", "application/json")
        .send()
        .await
        .with_context(|| format!("could not reach {base}: check the address and your connection"))?;
    if !answer.status().is_success() {
        bail!(
            "{base} does not offer SMART on FHIR sign-in (it answered {}); check it with your provider",
            answer.status()
        );
    }
    let config: Value = answer.json().await.context("its SMART configuration is not JSON")?;
    from_configuration(base, &config)
}

fn from_configuration(base: &str, config: &Value) -> anyhow::Result<SmartServer> {
    let endpoint =
        |name: &str| config[name].as_str().and_then(|s| url::Url::parse(s).ok()).filter(secure).map(|u| u.to_string());
    let (Some(authorization_endpoint), Some(token_endpoint)) =
        (endpoint("authorization_endpoint"), endpoint("token_endpoint"))
    else {
        bail!("that provider's SMART configuration has no (secure) sign-in or token address");
    };
    let strings = |name: &str| -> Vec<String> {
        config[name]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    if !strings("code_challenge_methods_supported").iter().any(|m| m == "S256") {
        bail!(
            "that provider does not offer the protected sign-in a public app needs (PKCE with S256), so Medkey will \
             not connect to it"
        );
    }
    let capabilities = strings("capabilities");
    if !capabilities.is_empty() && !capabilities.iter().any(|c| c == "launch-standalone") {
        bail!("that provider does not let patients sign in from an app of their own");
    }
    let issuer = match config["issuer"].as_str() {
        Some(issuer) => issuer.to_owned(),
        None => url::Url::parse(&authorization_endpoint)?.origin().ascii_serialization(),
    };
    Ok(SmartServer {
        fhir_base: base.to_owned(),
        issuer,
        authorization_endpoint,
        token_endpoint,
        revocation_endpoint: endpoint("revocation_endpoint"),
        scopes_supported: strings("scopes_supported"),
        capabilities,
    })
}

/// The scopes Medkey asks for: a patient launch with a refresh token, and read access to her
/// records, in SMART v2's granular form where the server advertises it, v1's otherwise.
pub fn scopes_for(server: &SmartServer) -> Vec<String> {
    let read =
        if server.scopes_supported.iter().any(|s| s == "patient/*.rs") { "patient/*.rs" } else { "patient/*.read" };
    ["launch/patient", "openid", "fhirUser", "offline_access", read].map(str::to_owned).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> Value {
        json!({
            "issuer": "https://auth.example.org",
            "authorization_endpoint": "https://auth.example.org/authorize",
            "token_endpoint": "https://auth.example.org/token",
            "code_challenge_methods_supported": ["S256"],
            "capabilities": ["launch-standalone"],
            "scopes_supported": ["patient/*.rs"],
        })
    }

    #[test]
    fn reads_a_smart_configuration() {
        let server = from_configuration("https://fhir.example.org/R4", &config()).unwrap();
        assert_eq!(server.token_endpoint, "https://auth.example.org/token");
        assert_eq!(scopes_for(&server).last().unwrap(), "patient/*.rs");
    }

    #[test]
    fn refuses_plain_pkce_a_missing_patient_launch_and_plain_http_in_words() {
        let mut plain = config();
        plain["code_challenge_methods_supported"] = json!(["plain"]);
        let err = from_configuration("https://fhir.example.org/R4", &plain).unwrap_err().to_string();
        assert!(err.contains("PKCE with S256"), "{err}");
        let mut no_launch = config();
        no_launch["capabilities"] = json!(["launch-ehr"]);
        let err = from_configuration("https://fhir.example.org/R4", &no_launch).unwrap_err().to_string();
        assert!(err.contains("sign in from an app"), "{err}");
        let mut http = config();
        http["token_endpoint"] = json!("http://auth.example.org/token");
        let err = from_configuration("https://fhir.example.org/R4", &http).unwrap_err().to_string();
        assert!(err.contains("no (secure) sign-in or token address"), "{err}");
    }
}
