//! A standalone patient launch from the command line (SMART App Launch 2.x as a public client):
//! a loopback redirect on this machine (RFC 8252, "Loopback Interface Redirection"), PKCE S256,
//! a `state` and a `nonce` checked on the way back, and the ID token's issuer, audience, expiry,
//! nonce and `fhirUser` checked against the patient the token is for. The ID token comes straight
//! from the token endpoint over TLS, so its claims are checked and its signature is not (OpenID
//! Connect Core 3.1.3.7), as the patient app does (oauth4webapi).

use anyhow::{Context, bail};
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

use super::server::{SmartServer, scopes_for};
use super::tokens::{self, Session};

/// How long she has to sign in before the command gives up.
pub const SIGN_IN_MINUTES: u64 = 10;

/// Where she signs in, and how the answer comes back to this process.
pub struct PendingLaunch {
    pub authorize_url: String,
    server: SmartServer,
    client_id: String,
    redirect: String,
    state: CsrfToken,
    nonce: String,
    verifier: oauth2::PkceCodeVerifier,
    answer: oneshot::Receiver<HashMap<String, String>>,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Listens on a loopback port for the provider's answer and builds the sign-in address.
pub async fn start(server: &SmartServer, client_id: &str) -> anyhow::Result<PendingLaunch> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("listening on a loopback port")?;
    let redirect = format!("http://127.0.0.1:{}/callback", listener.local_addr()?.port());
    let (answer_tx, answer) = oneshot::channel();
    let (shutdown, stop) = oneshot::channel::<()>();
    let slot = Arc::new(Mutex::new(Some(answer_tx)));
    let app = axum::Router::new().route("/callback", get(callback)).with_state(slot);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).with_graceful_shutdown(async { drop(stop.await) }).await;
    });

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random().secret().clone();
    let client = tokens::client(server, client_id)?.set_redirect_uri(RedirectUrl::new(redirect.clone())?);
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", nonce.clone())
        .add_extra_param("aud", server.fhir_base.clone());
    for scope in scopes_for(server) {
        request = request.add_scope(Scope::new(scope));
    }
    let (url, state) = request.url();
    Ok(PendingLaunch {
        authorize_url: url.to_string(),
        server: server.clone(),
        client_id: client_id.to_owned(),
        redirect,
        state,
        nonce,
        verifier,
        answer,
        shutdown: Some(shutdown),
    })
}

type Slot = Arc<Mutex<Option<oneshot::Sender<HashMap<String, String>>>>>;

/// The provider sends her browser here; the page tells her to go back to the terminal.
async fn callback(State(slot): State<Slot>, Query(params): Query<HashMap<String, String>>) -> Html<&'static str> {
    if let Some(sender) = slot.lock().expect("not poisoned").take() {
        let _ = sender.send(params);
    }
    Html(
        "<!doctype html><meta charset=utf-8><title>Medkey</title><p>Medkey has the provider's answer. You can close \
         this window and go back to the terminal.</p>",
    )
}

#[derive(Deserialize)]
struct IdClaims {
    iss: String,
    aud: Audience,
    exp: u64,
    nonce: Option<String>,
    #[serde(rename = "fhirUser")]
    fhir_user: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl PendingLaunch {
    /// Waits for her to sign in (at most [`SIGN_IN_MINUTES`]), then exchanges the code and checks
    /// every answer before anything is read.
    pub async fn finish(mut self) -> anyhow::Result<Session> {
        let waited = tokio::time::timeout(std::time::Duration::from_secs(SIGN_IN_MINUTES * 60), &mut self.answer).await;
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        let params = match waited {
            Ok(Ok(params)) => params,
            Ok(Err(_)) => bail!("the sign-in was interrupted; connect again"),
            Err(_) => bail!("you did not finish signing in within {SIGN_IN_MINUTES} minutes; connect again when ready"),
        };
        self.complete(&params).await
    }

    async fn complete(&self, params: &HashMap<String, String>) -> anyhow::Result<Session> {
        // The state first: an answer that is not for this request is not looked at further.
        let state_ok = params.get("state").is_some_and(|s| {
            use subtle::ConstantTimeEq;
            bool::from(s.as_bytes().ct_eq(self.state.secret().as_bytes()))
        });
        if !state_ok {
            bail!("the answer that came back was not for this request, so it was ignored; connect again");
        }
        if let Some(error) = params.get("error") {
            let why = params.get("error_description").unwrap_or(error);
            bail!("the provider did not let Medkey in: {why}");
        }
        let code = params.get("code").context("the provider's answer has no authorization code")?;
        let http = tokens::oauth_http(&self.server)?;
        let verifier = oauth2::PkceCodeVerifier::new(self.verifier.secret().clone());
        let answer = tokens::client(&self.server, &self.client_id)?
            .set_redirect_uri(RedirectUrl::new(self.redirect.clone())?)
            .exchange_code(AuthorizationCode::new(code.clone()))
            .set_pkce_verifier(verifier)
            .request_async(&|request| tokens::send(&http, request))
            .await
            .map_err(|err| anyhow::anyhow!("the provider did not exchange the sign-in for a token: {err}"))?;
        let fields = answer.extra_fields();
        let patient = fields.patient.clone().context("the provider did not say whose records these are")?;
        let id_token = fields.id_token.as_deref().context("the provider sent no ID token")?;
        check_id_token(&self.server.issuer, &self.client_id, &self.nonce, id_token, &patient)?;
        Ok(tokens::session_from(&self.server, &self.client_id, &answer, patient))
    }
}

/// The ID token's claims against this sign-in: issuer, audience, expiry, nonce, and `fhirUser`
/// naming the patient the token is for.
fn check_id_token(issuer: &str, client_id: &str, nonce: &str, id_token: &str, patient: &str) -> anyhow::Result<()> {
    let claims = jsonwebtoken::dangerous::insecure_decode::<IdClaims>(id_token)
        .context("the provider's ID token is not a JWT")?
        .claims;
    let untrusted =
        |why: &str| anyhow::anyhow!("the provider's answer could not be trusted, so nothing was used: {why}");
    if claims.iss != issuer {
        return Err(untrusted("the ID token is from another issuer"));
    }
    let for_us = match &claims.aud {
        Audience::One(aud) => aud == client_id,
        Audience::Many(auds) => auds.iter().any(|a| a == client_id),
    };
    if !for_us {
        return Err(untrusted("the ID token is for another app"));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    if claims.exp + 60 < now {
        return Err(untrusted("the ID token has expired"));
    }
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(untrusted("the ID token was not made for this sign-in (nonce)"));
    }
    // The signed-in person must be the patient the token is for (not, say, a relative's record).
    let named = claims.fhir_user.as_deref().and_then(|u| u.rsplit_once("Patient/")).map(|(_, id)| id);
    if named != Some(patient) {
        bail!(
            "the account that signed in is not the patient this access is for, so Medkey will not read these records"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn token(claims: &Value) -> String {
        let key = jsonwebtoken::EncodingKey::from_secret(b"test only");
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &key).unwrap()
    }

    fn claims() -> Value {
        let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 300;
        json!({"iss": "https://auth.example.org", "aud": "medkey-cli", "exp": exp, "nonce": "n-1",
               "fhirUser": "https://fhir.example.org/R4/Patient/355"})
    }

    fn check(claims: &Value, patient: &str) -> Result<(), String> {
        check_id_token("https://auth.example.org", "medkey-cli", "n-1", &token(claims), patient)
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn ignores_an_answer_without_this_launchs_state() {
        let server = SmartServer {
            fhir_base: "https://fhir.example.org/R4".into(),
            issuer: "https://auth.example.org".into(),
            authorization_endpoint: "https://auth.example.org/authorize".into(),
            token_endpoint: "https://auth.example.org/token".into(),
            revocation_endpoint: None,
            scopes_supported: vec![],
            capabilities: vec![],
        };
        let pending = start(&server, "medkey-cli").await.unwrap();
        let url = url::Url::parse(&pending.authorize_url).unwrap();
        let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(param("aud").as_deref(), Some("https://fhir.example.org/R4"));
        assert!(param("redirect_uri").unwrap().starts_with("http://127.0.0.1:"));
        for state in [None, Some("forged")] {
            let mut params = HashMap::from([("code".to_owned(), "c".to_owned())]);
            if let Some(state) = state {
                params.insert("state".into(), state.into());
            }
            let err = pending.complete(&params).await.unwrap_err().to_string();
            assert!(err.contains("not for this request"), "{err}");
        }
    }

    #[test]
    fn accepts_an_id_token_that_adds_up() {
        assert_eq!(check(&claims(), "355"), Ok(()));
        let mut many = claims();
        many["aud"] = json!(["other", "medkey-cli"]);
        assert_eq!(check(&many, "355"), Ok(()));
    }

    #[test]
    fn refuses_another_issuer_audience_nonce_or_patient_in_words() {
        for (field, value, words) in [
            ("iss", json!("https://evil.example"), "another issuer"),
            ("aud", json!("someone-else"), "another app"),
            ("nonce", json!("replayed"), "nonce"),
            ("exp", json!(1_000), "expired"),
        ] {
            let mut bad = claims();
            bad[field] = value;
            let err = check(&bad, "355").unwrap_err();
            assert!(err.contains(words), "{field}: {err}");
        }
        assert!(check(&claims(), "85").unwrap_err().contains("not the patient this access is for"));
        assert!(check_id_token("i", "c", "n", "not a jwt", "1").is_err());
    }
}
