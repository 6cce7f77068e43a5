//! A provider connection as the command line keeps it: the same sealed JSON the patient app
//! writes (`web/packages/client/src/smart/connection.ts`; `docs/envelope.md`, "Provider
//! connection"), kept by the vault as an opaque blob (`/v1/connections`) and replaced only at the
//! revision read, so a refresh token the provider rotated is never lost to another device.

use alloy::transports::http::reqwest::Method;
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use medkey_protocol::api::{ConnectionBody, ConnectionKept, ConnectionList};
use medkey_protocol::envelope::connection::ConnectionKey;
use serde::{Deserialize, Serialize};

use super::server::SmartServer;
use super::tokens::Session as SmartSession;
use crate::session::Session;
use crate::vault_client::VaultError;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderConnection {
    pub id: String,
    pub server: SmartServer,
    pub client_id: String,
    pub patient: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    pub connected_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// "ok", or "reconnect" once the provider refused the refresh token.
    pub status: String,
}

/// One kept connection, opened here, with the revision it was read at.
pub struct Kept {
    pub connection: ProviderConnection,
    pub revision: u64,
}

impl ProviderConnection {
    pub fn from_session(session: &SmartSession, id: String, now: &str) -> Self {
        Self {
            id,
            server: session.server.clone(),
            client_id: session.client_id.clone(),
            patient: session.patient.clone(),
            refresh_token: session.refresh_token.clone(),
            scope: session.scope.clone(),
            connected_at: now.to_owned(),
            synced_at: None,
            cursor: None,
            status: "ok".into(),
        }
    }

    /// A session with no access token yet: the first request refreshes.
    pub fn session(&self) -> SmartSession {
        SmartSession {
            server: self.server.clone(),
            client_id: self.client_id.clone(),
            patient: self.patient.clone(),
            access_token: String::new(),
            expires_at: std::time::Instant::now(),
            refresh_token: self.refresh_token.clone(),
            scope: self.scope.clone(),
        }
    }

    /// The provider refused the refresh token (or there is none): she must sign in again.
    pub fn needs_reconnect(&self) -> bool {
        self.status == "reconnect" || self.refresh_token.is_none()
    }

    pub fn host(&self) -> String {
        url::Url::parse(&self.server.fhir_base)
            .ok()
            .and_then(|u| u.host_str().map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}"))))
            .unwrap_or_else(|| self.server.fhir_base.clone())
    }
}

/// A new connection id: 16 random bytes as 32 hex digits.
pub fn new_id() -> anyhow::Result<String> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(alloy::hex::encode(id))
}

fn id_bytes(id: &str) -> anyhow::Result<[u8; 16]> {
    alloy::hex::decode(id).ok().and_then(|b| b.try_into().ok()).context("a connection id is 32 hex digits")
}

fn key(session: &Session) -> ConnectionKey {
    ConnectionKey::derive(&session.wallet.encryption)
}

/// Her connections, opened; one that does not open is named and skipped.
pub async fn list(session: &Session) -> anyhow::Result<Vec<Kept>> {
    let listed: ConnectionList = session.get_as("/v1/connections").await?;
    let key = key(session);
    let mut kept = Vec::new();
    for item in listed.connections {
        let opened = id_bytes(&item.id).and_then(|id| {
            let sealed = STANDARD.decode(&item.sealed)?;
            let json = key.open(&id, session.address(), &sealed).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(serde_json::from_slice::<ProviderConnection>(&json)?)
        });
        match opened {
            Ok(connection) if connection.id == item.id => kept.push(Kept { connection, revision: item.revision }),
            _ => eprintln!("warning: connection {} does not open with your key; remove it and connect again", item.id),
        }
    }
    Ok(kept)
}

/// Keeps `connection` (new when `revision` is None, else replacing that revision). When another
/// device replaced it first, the newest copy is read and `learnt` applied to it, once.
pub async fn keep(
    session: &Session,
    connection: &ProviderConnection,
    revision: Option<u64>,
    learnt: impl Fn(&mut ProviderConnection),
) -> anyhow::Result<Kept> {
    match put(session, connection, revision).await {
        Ok(revision) => Ok(Kept { connection: connection.clone(), revision }),
        Err(err) if revision.is_some() && changed(&err) => {
            let newest = list(session)
                .await?
                .into_iter()
                .find(|k| k.connection.id == connection.id)
                .context("the connection was removed on another device meanwhile")?;
            let mut merged = newest.connection;
            learnt(&mut merged);
            let revision = put(session, &merged, Some(newest.revision)).await?;
            Ok(Kept { connection: merged, revision })
        }
        Err(err) => Err(err),
    }
}

fn changed(err: &anyhow::Error) -> bool {
    err.downcast_ref::<VaultError>().is_some_and(|e| e.code == "connection_changed")
}

async fn put(session: &Session, connection: &ProviderConnection, revision: Option<u64>) -> anyhow::Result<u64> {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(connection)?);
    let sealed = key(session).seal(&id_bytes(&connection.id)?, session.address(), &json)?;
    let body = ConnectionBody { sealed: STANDARD.encode(sealed), revision };
    let kept: ConnectionKept = session.call(Method::PUT, &format!("/v1/connections/{}", connection.id), &body).await?;
    Ok(kept.revision)
}

pub async fn delete(session: &Session, id: &str) -> anyhow::Result<()> {
    session.send("DELETE", &format!("/v1/connections/{id}"), None).await?;
    Ok(())
}
