//! The browser apps, served by the vault itself from a directory of built files (`web/apps/*/dist`):
//! the page and the API then share one origin, so the Content-Security-Policy can allow the
//! page to talk to nothing but this vault (and, on a local dev chain, the chain's RPC).
//!
//! Paths the API owns (`/v1/…`, `/.well-known/…`, `/healthz`, `/readyz`, `/openapi.json`) never
//! reach the app: an unknown one is the API's JSON 404. Any other path is a file of the app, or
//! its `index.html` (client-side routes).

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use super::ApiError;

/// Where the app's files are, and what its page may connect to besides the vault.
#[derive(Clone, Debug)]
pub struct WebApp {
    dir: PathBuf,
    /// Other apps under a path of their own (`/provider`, `/admin`), each its own built files.
    mounts: Vec<(String, PathBuf)>,
    csp: HeaderValue,
    config: String,
}

/// What the app needs to know about the deployment it serves, at `/app-config.json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AppConfig {
    pub chain_id: u64,
    /// The ConsentRegistry's address.
    pub registry: alloy::primitives::Address,
    /// The operator's Ed25519 key that signs the audit log's heads (hex).
    pub audit_key: String,
    /// A local development chain's RPC: the app then offers its built-in dev wallet.
    pub dev_rpc_url: Option<String>,
    /// The providers' patient-access APIs the operator lists (SMART on FHIR): the app offers them
    /// under "Connect a provider", and the page may connect to their origins and to no other
    /// (docs/threat-model.md, "Provider connections").
    pub smart_endpoints: Vec<SmartEndpoint>,
    /// The app's client id at those providers (a public client).
    pub smart_client_id: String,
}

/// One provider's patient-access FHIR API, as the app lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SmartEndpoint {
    /// The FHIR base URL (no trailing slash).
    pub address: String,
    /// What the patient reads: the brand's name from a SMART Brands Bundle, else the host.
    pub name: String,
}

impl SmartEndpoint {
    /// An endpoint named by its host (configured as a bare URL).
    pub fn from_address(address: &str) -> Self {
        let address = address.trim_end_matches('/');
        let name = url::Url::parse(address).ok().and_then(|u| {
            let host = u.host_str()?;
            Some(u.port().map_or_else(|| host.to_owned(), |port| format!("{host}:{port}")))
        });
        Self { address: address.to_owned(), name: name.unwrap_or_else(|| address.to_owned()) }
    }
}

/// The origin the page may connect to for a listed FHIR endpoint: https, or http on loopback (a
/// sandbox). Anything else is refused at start, with the reason.
pub fn smart_endpoint_origin(endpoint: &str) -> Result<String, String> {
    let url = url::Url::parse(endpoint).map_err(|why| format!("SMART endpoint {endpoint:?} is not a URL: {why}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(format!("SMART endpoint {endpoint:?} must be https (plain http only on loopback)")),
    }
    Ok(url.origin().ascii_serialization())
}

impl WebApp {
    /// Serves `dir` (which must hold an `index.html`) and `config`; the page may fetch from this
    /// vault and, on a dev chain, its RPC (for the built-in dev wallet), nothing else.
    pub fn new(dir: &Path, config: &AppConfig) -> Result<Self, String> {
        if !dir.join("index.html").is_file() {
            return Err(format!("{} has no index.html (build the app: make web)", dir.display()));
        }
        let mut connect =
            std::iter::once("'self'".to_owned()).chain(config.dev_rpc_url.iter().cloned()).collect::<Vec<_>>();
        for endpoint in &config.smart_endpoints {
            let origin = smart_endpoint_origin(&endpoint.address)?;
            if !connect.contains(&origin) {
                connect.push(origin);
            }
        }
        // No inline script or style, no third-party origin, no framing, no plugins.
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
             font-src 'self'; connect-src {}; frame-src blob:; worker-src 'self' blob:; \
             manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            connect.join(" ")
        );
        let csp = HeaderValue::from_str(&csp).map_err(|_| "an RPC origin is not a valid header value".to_owned())?;
        let config = serde_json::to_string(config).map_err(|err| err.to_string())?;
        Ok(Self { dir: dir.to_owned(), mounts: Vec::new(), csp, config })
    }

    /// Also serves the app built in `dir` under `prefix` (e.g. `/provider`), built with that base.
    pub fn with_mount(mut self, prefix: &str, dir: &Path) -> Result<Self, String> {
        if !dir.join("index.html").is_file() {
            return Err(format!("{} has no index.html (build the apps: make web)", dir.display()));
        }
        self.mounts.push((prefix.trim_end_matches('/').to_owned(), dir.to_owned()));
        Ok(self)
    }

    fn owned_by_api(path: &str) -> bool {
        path.starts_with("/v1/")
            || path == "/v1"
            || path.starts_with("/.well-known/")
            || matches!(path, "/healthz" | "/readyz" | "/openapi.json")
    }

    /// The router's fallback: the app's file for `request`, with the security headers.
    pub async fn serve(&self, request: Request) -> Response {
        if Self::owned_by_api(request.uri().path()) {
            return ApiError::not_found("no such endpoint").into_response();
        }
        if request.uri().path() == "/app-config.json" {
            let mut response = ([(header::CONTENT_TYPE, "application/json")], self.config.clone()).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return response;
        }
        let path = request.uri().path().to_owned();
        let mounted = self.mounts.iter().find(|(prefix, _)| path == *prefix || path.starts_with(&format!("{prefix}/")));
        let mut request = request;
        let dir = match mounted {
            Some((prefix, dir)) => {
                // The mounted app's own paths, relative to its directory.
                let rest = path[prefix.len()..].to_owned();
                let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
                let rest = if rest.is_empty() { "/".to_owned() } else { rest };
                *request.uri_mut() = format!("{rest}{query}").parse().unwrap_or_else(|_| "/".parse().expect("a path"));
                dir
            }
            None => &self.dir,
        };
        let index = dir.join("index.html");
        let files = ServeDir::new(dir).fallback(ServeFile::new(index));
        let mut response = match files.oneshot(request).await {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
        );
        headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
        // The page itself is never cached, so a new build is picked up at once; hashed assets may be.
        if response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html")) {
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoints: &[&str]) -> AppConfig {
        AppConfig {
            chain_id: 31337,
            registry: alloy::primitives::Address::ZERO,
            audit_key: String::new(),
            dev_rpc_url: None,
            smart_endpoints: endpoints.iter().map(|e| SmartEndpoint::from_address(e)).collect(),
            smart_client_id: "medkey".into(),
        }
    }

    fn csp_for(endpoints: &[&str]) -> Result<String, String> {
        // A directory per call: the tests run at once.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("medkey-web-app-test-{}-{call}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<div id=root></div>").unwrap();
        let app = WebApp::new(&dir, &config(endpoints));
        std::fs::remove_dir_all(&dir).unwrap();
        app.map(|app| app.csp.to_str().unwrap().to_owned())
    }

    #[test]
    fn the_page_may_connect_to_the_listed_fhir_origins_and_no_others() {
        let csp = csp_for(&["https://fhir.ehr.example/api/FHIR/R4", "http://127.0.0.1:4000/fhir"]).unwrap();
        assert!(csp.contains("connect-src 'self' https://fhir.ehr.example http://127.0.0.1:4000;"), "{csp}");
        assert!(csp_for(&[]).unwrap().contains("connect-src 'self';"));
    }

    #[test]
    fn a_listed_endpoint_must_be_https_except_on_loopback() {
        let refused = csp_for(&["http://fhir.ehr.example/R4"]).unwrap_err();
        assert!(refused.contains("must be https"), "{refused}");
        assert!(csp_for(&["not a url"]).unwrap_err().contains("is not a URL"));
        assert_eq!(smart_endpoint_origin("http://localhost:9/fhir").unwrap(), "http://localhost:9");
    }
}
