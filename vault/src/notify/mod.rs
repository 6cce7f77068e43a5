//! Signed webhook notifications to one URL the operator configures.
//!
//! What is announced: access requests made, approved and declined (by the vault, when they
//! happen), and grants, emergency (break-glass) grants and revocations (read from the chain
//! mirror: the notifier wakes on every write of an in-process indexer, like
//! [`crate::mirror_view`], and polls otherwise). Each notification is a JSON object
//! `{id, type, occurred_at, patient, provider, grant_id?, request_id?, categories?,
//! block_number?}`: addresses, ids, category names and times, never record content and never an
//! access request's note (free text a provider typed; the patient reads it through the API).
//!
//! Every notification is stored in the `webhook_outbox` table before anything is sent (for an
//! access request, in the same transaction as the request's change), so a restart loses none.
//! A background task POSTs due deliveries with these headers:
//!
//! ```text
//! Medkey-Webhook-Id:        <id>            (the payload's id; the same on every retry)
//! Medkey-Webhook-Timestamp: <unix seconds>  (when this attempt was signed)
//! Medkey-Signature:         v1=<hex HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>
//! ```
//!
//! A 2xx answer within the attempt timeout is delivered; anything else is retried with
//! exponential backoff and jitter (1 s, 2 s, 4 s … capped) up to `max_attempts`, after which the
//! delivery becomes a dead letter: [`dead_letters`] lists them and [`requeue`] sends one again.
//! An operator (a holder of the registry's operator role, signed in) lists and retries them at
//! `GET /v1/admin/webhooks` and `POST /v1/admin/webhooks/{id}/retry`, from the admin console.
//! Delivery is at least once and unordered: receivers drop ids they have seen, order by
//! `occurred_at`, check the signature with [`verify_signature`] and refuse old timestamps.
//!
//! Chain events carry deterministic ids (a hash of chain, type and grant id), so several vault
//! replicas on one database, or a rescan after a reorg, enqueue each event once. A grant that a
//! reorg later removes may already have been announced: run the indexer with confirmations on a
//! public chain.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::transports::http::reqwest;
use hmac::Hmac;
use medkey_indexer::model::BlockRef;
use medkey_indexer::{Store, StoreError};
use medkey_protocol::Category;
use medkey_protocol::clock::now_ms;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
pub const ID_HEADER: &str = "Medkey-Webhook-Id";
pub const TIMESTAMP_HEADER: &str = "Medkey-Webhook-Timestamp";
pub const SIGNATURE_HEADER: &str = "Medkey-Signature";

/// How far below its cursor the notifier looks again when the mirror's block at the cursor has
/// changed (a reorg): the indexer's default reorg cap.
const REORG_WINDOW: u64 = 64;
/// Deliveries attempted at once.
const BATCH: i64 = 16;

type HmacSha256 = Hmac<Sha256>;

mod outbox;
mod signature;

pub use outbox::{Delivery, counts, dead_letters, deliveries, delivery, enqueue, requeue};
pub use signature::{sign, verify_signature};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// A provider asked a patient for access (off chain).
    AccessRequested,
    /// The patient answered a request with a grant of their own (`grant_id`).
    AccessApproved,
    AccessDeclined,
    /// A grant from a patient to a provider appeared on chain.
    GrantCreated,
    /// A provider opened break-glass access to an opted-in patient's records.
    EmergencyAccess,
    /// A grant (emergency ones too) was revoked on chain.
    GrantRevoked,
    /// Someone opened one of the patient's SMART Health Links (its manifest was answered).
    ShareLinkOpened,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessRequested => "access_requested",
            Self::AccessApproved => "access_approved",
            Self::AccessDeclined => "access_declined",
            Self::GrantCreated => "grant_created",
            Self::EmergencyAccess => "emergency_access",
            Self::GrantRevoked => "grant_revoked",
            Self::ShareLinkOpened => "share_link_opened",
        }
    }
}

/// One notification: its JSON is the delivered body, as is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// 32 hex digits; the `Medkey-Webhook-Id` header, the same on every retry.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// RFC 3339. For chain events, when the vault saw the block (`block_number` says which).
    pub occurred_at: String,
    pub patient: Address,
    /// The provider concerned (zero for a share link: whoever holds it).
    pub provider: Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<B256>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<Category>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u64>,
    /// A share link's hash (as the audit log names it), never the link itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_link: Option<B256>,
}

impl Event {
    /// An access request's change, with a fresh random id.
    pub fn request(
        kind: EventType,
        at_ms: u64,
        patient: Address,
        provider: Address,
        request_id: &[u8; 16],
        categories: u16,
        grant_id: Option<B256>,
    ) -> Self {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).expect("the OS random number generator works");
        Self {
            id: alloy::hex::encode(id),
            kind,
            occurred_at: rfc3339(at_ms),
            patient,
            provider,
            grant_id,
            request_id: Some(alloy::hex::encode(request_id)),
            categories: Some(Category::from_mask(categories)),
            block_number: None,
            share_link: None,
        }
    }

    /// A share link's manifest was answered, with a fresh random id.
    pub fn share_link(at_ms: u64, patient: Address, link: &B256) -> Self {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).expect("the OS random number generator works");
        Self {
            id: alloy::hex::encode(id),
            kind: EventType::ShareLinkOpened,
            occurred_at: rfc3339(at_ms),
            patient,
            provider: Address::ZERO,
            grant_id: None,
            request_id: None,
            categories: None,
            block_number: None,
            share_link: Some(*link),
        }
    }

    /// A grant or revocation seen in the mirror. The id depends only on (chain, type, grant), so
    /// the event is enqueued once however often it is seen.
    fn chain(kind: EventType, chain_id: u64, grant: &ChainGrant, block_number: u64, at_ms: u64) -> Self {
        let digest = Sha256::new()
            .chain_update(b"medkey/v1/webhook")
            .chain_update(chain_id.to_be_bytes())
            .chain_update(kind.as_str().as_bytes())
            .chain_update(grant.grant_id)
            .finalize();
        Self {
            id: alloy::hex::encode(&digest[..16]),
            kind,
            occurred_at: rfc3339(at_ms),
            patient: grant.patient,
            provider: grant.provider,
            grant_id: Some(grant.grant_id),
            request_id: None,
            categories: Some(Category::from_mask(grant.categories)),
            block_number: Some(block_number),
            share_link: None,
        }
    }
}

pub fn rfc3339(at_ms: u64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the webhook URL must be an http:// or https:// URL")]
    Url,
    #[error("the webhook secret must be at least {MIN_SECRET_LEN} bytes")]
    ShortSecret,
}

/// Where and how notifications are sent.
#[derive(Clone)]
pub struct NotifierConfig {
    pub url: reqwest::Url,
    secret: Arc<Zeroizing<Vec<u8>>>,
    /// Attempts before a delivery becomes a dead letter (default 8).
    pub max_attempts: u32,
    /// The wait after the first failure, doubled after each further one (default 1 s).
    pub first_retry: Duration,
    /// The longest wait between attempts (default 5 min).
    pub max_backoff: Duration,
    /// Each attempt's limit, connection included (default 10 s).
    pub attempt_timeout: Duration,
    /// How often the outbox and the mirror are checked when nothing wakes the notifier (1 s).
    pub poll: Duration,
}

impl fmt::Debug for NotifierConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifierConfig")
            .field("url", &self.url.as_str())
            .field("secret", &"<redacted>")
            .field("max_attempts", &self.max_attempts)
            .field("first_retry", &self.first_retry)
            .field("max_backoff", &self.max_backoff)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("poll", &self.poll)
            .finish()
    }
}

impl NotifierConfig {
    /// Notifications to `url`, signed with `secret` (at least 32 bytes), with the defaults above.
    pub fn new(url: &str, secret: &[u8]) -> Result<Self, ConfigError> {
        let url = reqwest::Url::parse(url).map_err(|_| ConfigError::Url)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::Url);
        }
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::ShortSecret);
        }
        Ok(Self {
            url,
            secret: Arc::new(Zeroizing::new(secret.to_vec())),
            max_attempts: 8,
            first_retry: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            attempt_timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
        })
    }

    /// The wait after `failures` failed attempts: `first_retry · 2^(failures-1)`, capped, then
    /// scaled by a random factor in [0.8, 1.2) so that receivers coming back are not stampeded.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let base = self.first_retry.saturating_mul(1 << exponent).min(self.max_backoff);
        let mut random = [0u8; 2];
        getrandom::fill(&mut random).expect("the OS random number generator works");
        let permille = 800 + u32::from(u16::from_le_bytes(random)) % 400;
        base * permille / 1_000
    }

    /// How long a claimed attempt keeps other senders (another replica, or this vault after a
    /// crash) off its delivery.
    fn lease(&self) -> Duration {
        (self.attempt_timeout * 2).max(Duration::from_secs(1))
    }
}

/// The running notifier: a background task that turns mirror events into deliveries and sends
/// due deliveries. Clones share it; it stops on [`Notifier::shutdown`] or when the last clone
/// is dropped.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: NotifierConfig,
    pool: AnyPool,
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Notifier {
    /// Starts notifying about the vault's database behind `store` (the vault's migrations must
    /// have run) on the current Tokio runtime. Chain events are announced from the mirror's
    /// current block on, the first time notifications are turned on for this database (from the
    /// registry's deployment if the mirror has not started yet); later starts resume where the
    /// last one stopped.
    pub async fn start(store: Store, chain_id: u64, config: NotifierConfig) -> Result<Self, StoreError> {
        if let Some(checkpoint) = store.checkpoint(chain_id).await? {
            init_cursor(store.pool(), chain_id, checkpoint.block.number, &checkpoint.block).await?;
        }
        let http = reqwest::Client::builder()
            .timeout(config.attempt_timeout)
            .connect_timeout(config.attempt_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("medkey-vault/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| StoreError::Inconsistent(format!("webhook HTTP client: {err}")))?;
        let (stop, stopped) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let worker = Worker {
            config: config.clone(),
            pool: store.pool().clone(),
            store: store.clone(),
            chain_id,
            http,
            wake: wake.clone(),
            last_block: None,
        };
        let task = tokio::spawn(worker.run(stopped));
        let inner = Inner { config, pool: store.pool().clone(), wake, stop, task: Mutex::new(Some(task)) };
        Ok(Self { inner: Arc::new(inner) })
    }

    pub fn config(&self) -> &NotifierConfig {
        &self.inner.config
    }

    /// Tells the task that new deliveries are stored (they would be found at the next poll).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Stops the task after the attempts in flight and waits for it. Undelivered notifications
    /// stay in the outbox for the next start (of this vault or another on the same database).
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        let task = self.inner.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// See [`dead_letters`].
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<Delivery>, sqlx::Error> {
        dead_letters(&self.inner.pool, limit).await
    }

    /// See [`requeue`]; the retry starts at once.
    pub async fn requeue(&self, id: &str) -> Result<bool, sqlx::Error> {
        let requeued = requeue(&self.inner.pool, id, now_ms()).await?;
        self.wake();
        Ok(requeued)
    }
}

struct Worker {
    config: NotifierConfig,
    pool: AnyPool,
    store: Store,
    chain_id: u64,
    http: reqwest::Client,
    wake: Arc<Notify>,
    /// The mirror block of the last scan, to skip scans while the mirror stands still.
    last_block: Option<BlockRef>,
}

impl Worker {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        let mut writes = self.store.subscribe_writes();
        loop {
            if *stopped.borrow() {
                return;
            }
            if let Err(err) = self.scan_chain().await {
                tracing::warn!(%err, "webhooks: cannot read new grants and revocations from the mirror");
            }
            if let Err(err) = self.deliver_due().await {
                tracing::warn!(%err, "webhooks: cannot read or update the outbox");
            }
            tokio::select! {
                // Also when every `Notifier` is gone (the sender dropped).
                _ = stopped.changed() => {}
                () = self.wake.notified() => {}
                _ = writes.changed() => {}
                () = tokio::time::sleep(self.config.poll) => {}
            }
            if stopped.has_changed().is_err() {
                return;
            }
        }
    }

    /// Turns grants and revocations the mirror committed since the cursor into deliveries, in
    /// one transaction with the cursor's move.
    async fn scan_chain(&mut self) -> Result<(), StoreError> {
        let Some(checkpoint) = self.store.checkpoint(self.chain_id).await? else { return Ok(()) };
        let block = checkpoint.block;
        if self.last_block == Some(block) {
            return Ok(());
        }
        // A mirror that started after the notifier: announce it all, from the deploy block.
        init_cursor(&self.pool, self.chain_id, checkpoint.deploy_block.saturating_sub(1), &block).await?;
        let cursor =
            sqlx::query("SELECT start_block, block_number, block_hash FROM webhook_chain_cursor WHERE chain_id = $1")
                .bind(self.chain_id as i64)
                .fetch_one(&self.pool)
                .await?;
        let start = cursor.try_get::<i64, _>("start_block")? as u64;
        let at = cursor.try_get::<i64, _>("block_number")? as u64;
        let hash: Vec<u8> = cursor.try_get("block_hash")?;
        if at == block.number && hash == block.hash.as_slice() {
            self.last_block = Some(block);
            return Ok(());
        }
        // The block under the cursor is no longer the mirror's (a reorg, or history the mirror
        // has forgotten): look again below it; deterministic ids drop what was already queued.
        let unchanged = self.store.block_hash(self.chain_id, at).await?.is_some_and(|h| h.as_slice() == hash);
        let from = if unchanged { at } else { at.saturating_sub(REORG_WINDOW) }.max(start);
        let to = block.number;
        let now = now_ms();
        let mut events = Vec::new();
        if to > from {
            let created = sqlx::query(
                "SELECT grant_id, patient, provider, categories, emergency, block_number, log_index FROM grants \
                 WHERE chain_id = $1 AND block_number > $2 AND block_number <= $3",
            )
            .bind(self.chain_id as i64)
            .bind(from as i64)
            .bind(to as i64)
            .fetch_all(&self.pool)
            .await?;
            for row in &created {
                let grant = ChainGrant::from_row(row)?;
                let kind = if row.try_get::<i64, _>("emergency")? != 0 {
                    EventType::EmergencyAccess
                } else {
                    EventType::GrantCreated
                };
                let (number, index) = position(row, "block_number", "log_index")?;
                events.push(((number, index), Event::chain(kind, self.chain_id, &grant, number, now)));
            }
            let revoked = sqlx::query(
                "SELECT grant_id, patient, provider, categories, revoked_block, revoked_log_index FROM grants \
                 WHERE chain_id = $1 AND revoked_block > $2 AND revoked_block <= $3",
            )
            .bind(self.chain_id as i64)
            .bind(from as i64)
            .bind(to as i64)
            .fetch_all(&self.pool)
            .await?;
            for row in &revoked {
                let grant = ChainGrant::from_row(row)?;
                let (number, index) = position(row, "revoked_block", "revoked_log_index")?;
                events
                    .push(((number, index), Event::chain(EventType::GrantRevoked, self.chain_id, &grant, number, now)));
            }
        }
        events.sort_by_key(|(at, _)| *at);
        let mut tx = self.pool.begin().await?;
        let mut queued = 0;
        for (_, event) in &events {
            queued += usize::from(enqueue(&mut tx, event, now).await?);
        }
        sqlx::query("UPDATE webhook_chain_cursor SET block_number = $1, block_hash = $2 WHERE chain_id = $3")
            .bind(to as i64)
            .bind(block.hash.to_vec())
            .bind(self.chain_id as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.last_block = Some(block);
        if queued > 0 {
            tracing::debug!(queued, from, to, "webhooks: chain events queued");
        }
        Ok(())
    }

    /// Sends every due delivery, a batch at a time.
    async fn deliver_due(&self) -> Result<(), sqlx::Error> {
        loop {
            let now = now_ms();
            let rows = sqlx::query(
                "SELECT seq, delivery_id, payload, attempts, next_attempt_at_ms FROM webhook_outbox \
                 WHERE status = 'pending' AND next_attempt_at_ms <= $1 ORDER BY next_attempt_at_ms, seq LIMIT $2",
            )
            .bind(now as i64)
            .bind(BATCH)
            .fetch_all(&self.pool)
            .await?;
            let full = rows.len() as i64 == BATCH;
            let mut claimed = Vec::with_capacity(rows.len());
            for row in &rows {
                let seq: i64 = row.try_get("seq")?;
                let due: i64 = row.try_get("next_attempt_at_ms")?;
                // Claimed by moving its due time past the attempt (a lease): another sender, or
                // this vault after a crash, takes it up only once the lease has run out.
                let lease_end = now + self.config.lease().as_millis() as u64;
                let taken = sqlx::query(
                    "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at_ms = $1 \
                     WHERE seq = $2 AND status = 'pending' AND next_attempt_at_ms = $3",
                )
                .bind(lease_end as i64)
                .bind(seq)
                .bind(due)
                .execute(&self.pool)
                .await?;
                if taken.rows_affected() == 1 {
                    let attempts = u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX - 1) + 1;
                    claimed.push((
                        seq,
                        row.try_get::<String, _>("delivery_id")?,
                        row.try_get::<String, _>("payload")?,
                        attempts,
                    ));
                }
            }
            let results =
                futures_util::future::join_all(claimed.iter().map(|(_, id, payload, _)| self.attempt(id, payload)))
                    .await;
            for ((seq, id, _, attempts), result) in claimed.iter().zip(results) {
                self.record(*seq, id, *attempts, result).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    async fn attempt(&self, id: &str, payload: &str) -> Result<(), String> {
        let timestamp = (now_ms() / 1_000).to_string();
        let signature = sign(&self.config.secret, id, &timestamp, payload.as_bytes());
        let request = self
            .http
            .post(self.config.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, id)
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signature)
            .body(payload.to_owned());
        // The client's own timeout covers the whole exchange; this one is a backstop.
        match tokio::time::timeout(self.config.attempt_timeout + Duration::from_secs(1), request.send()).await {
            Err(_) => Err("timed out".into()),
            Ok(Err(err)) => Err(err.without_url().to_string()),
            Ok(Ok(response)) if response.status().is_success() => Ok(()),
            Ok(Ok(response)) => Err(format!("HTTP {}", response.status().as_u16())),
        }
    }

    async fn record(&self, seq: i64, id: &str, attempts: u32, result: Result<(), String>) -> Result<(), sqlx::Error> {
        let now = now_ms();
        match result {
            Ok(()) => {
                sqlx::query(
                    "UPDATE webhook_outbox SET status = 'delivered', finished_at_ms = $1, last_error = NULL \
                     WHERE seq = $2",
                )
                .bind(now as i64)
                .bind(seq)
                .execute(&self.pool)
                .await?;
            }
            Err(error) if attempts >= self.config.max_attempts => {
                tracing::warn!(id, attempts, %error, "webhooks: delivery failed for the last time: dead letter");
                sqlx::query(
                    "UPDATE webhook_outbox SET status = 'dead', finished_at_ms = $1, last_error = $2 WHERE seq = $3",
                )
                .bind(now as i64)
                .bind(error)
                .bind(seq)
                .execute(&self.pool)
                .await?;
            }
            Err(error) => {
                let next = now + self.config.backoff(attempts).as_millis() as u64;
                tracing::debug!(id, attempts, %error, "webhooks: delivery failed; will retry");
                sqlx::query("UPDATE webhook_outbox SET next_attempt_at_ms = $1, last_error = $2 WHERE seq = $3")
                    .bind(next as i64)
                    .bind(error)
                    .bind(seq)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }
}

/// The cursor starts at `start` (nothing at or below it is announced) unless one exists.
async fn init_cursor(pool: &AnyPool, chain_id: u64, start: u64, block: &BlockRef) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_chain_cursor (chain_id, start_block, block_number, block_hash) VALUES ($1, $2, $2, $3) \
         ON CONFLICT (chain_id) DO NOTHING",
    )
    .bind(chain_id as i64)
    .bind(start.min(block.number) as i64)
    .bind(block.hash.to_vec())
    .execute(pool)
    .await?;
    Ok(())
}

/// The columns of a mirrored grant a notification names.
struct ChainGrant {
    grant_id: B256,
    patient: Address,
    provider: Address,
    categories: u16,
}

impl ChainGrant {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let bytes = |c: &'static str| row.try_get::<Vec<u8>, _>(c);
        let malformed = |column| StoreError::Malformed { column };
        Ok(Self {
            grant_id: B256::try_from(bytes("grant_id")?.as_slice()).map_err(|_| malformed("grant_id"))?,
            patient: Address::try_from(bytes("patient")?.as_slice()).map_err(|_| malformed("patient"))?,
            provider: Address::try_from(bytes("provider")?.as_slice()).map_err(|_| malformed("provider"))?,
            categories: u16::try_from(row.try_get::<i64, _>("categories")?).map_err(|_| malformed("categories"))?,
        })
    }
}

fn position(row: &AnyRow, block: &str, index: &str) -> Result<(u64, u64), sqlx::Error> {
    Ok((row.try_get::<i64, _>(block)? as u64, row.try_get::<Option<i64>, _>(index)?.unwrap_or(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn signatures_verify_and_nothing_else_does() {
        let header = sign(SECRET, "abc", "1700000000", b"{\"a\":1}");
        assert!(header.starts_with("v1=") && header.len() == 3 + 64, "{header}");
        assert!(verify_signature(SECRET, "abc", "1700000000", b"{\"a\":1}", &header));
        assert!(verify_signature(SECRET, "abc", "1700000000", b"{\"a\":1}", &format!("v1=00, {header}")));
        assert!(!verify_signature(SECRET, "abd", "1700000000", b"{\"a\":1}", &header));
        assert!(!verify_signature(SECRET, "abc", "1700000001", b"{\"a\":1}", &header));
        assert!(!verify_signature(SECRET, "abc", "1700000000", b"{\"a\":2}", &header));
        assert!(!verify_signature(b"another secret of thirty-two bytes!", "abc", "1700000000", b"{\"a\":1}", &header));
        assert!(!verify_signature(SECRET, "abc", "1700000000", b"{\"a\":1}", &header[..40]));
        assert!(!verify_signature(SECRET, "abc", "1700000000", b"{\"a\":1}", ""));
        assert!(!verify_signature(SECRET, "abc", "1700000000", b"{\"a\":1}", &header.replace("v1=", "v0=")));
    }

    #[test]
    fn config_refuses_short_secrets_and_odd_urls() {
        assert!(matches!(
            NotifierConfig::new("https://example.org/hook", &SECRET[..31]),
            Err(ConfigError::ShortSecret)
        ));
        assert!(matches!(NotifierConfig::new("ftp://example.org/hook", SECRET), Err(ConfigError::Url)));
        assert!(matches!(NotifierConfig::new("not a url", SECRET), Err(ConfigError::Url)));
        let config = NotifierConfig::new("https://example.org/hook", SECRET).unwrap();
        assert!(!format!("{config:?}").contains("0123456789"), "the secret is never printed");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let config = NotifierConfig::new("https://example.org/hook", SECRET).unwrap();
        for (failures, base) in [(1, 1_000), (2, 2_000), (3, 4_000), (9, 256_000), (12, 300_000), (40, 300_000)] {
            let wait = config.backoff(failures).as_millis() as u64;
            assert!(wait >= base * 8 / 10 && wait < base * 12 / 10, "{failures}: {wait} vs {base}");
        }
    }
}
