//! SMART Health Links as the vault keeps them: each link's owner, label, flags, passcode hash and
//! limits, its JWE files, the tickets its manifests hand out, and every manifest request. The
//! vault never holds a link's key, so nothing here can read a file.
//!
//! Races: a passcode attempt is taken (atomically) before the passcode is checked and given back
//! when it was right, so however many requests arrive at once, no more wrong passcodes are tried
//! than the link allows; a single-use link is marked used by one conditional update, so two
//! requests at once cannot both get its files.

use alloy::primitives::Address;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};

use crate::notify::{self, Event};

/// Wrong passcodes allowed before a link is disabled.
pub const PASSCODE_ATTEMPTS: u32 = 10;
/// How long a manifest's file locations work.
pub const TICKET_MS: u64 = 3_600_000;

/// A link's state, in the order its checks apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Active,
    Revoked,
    Expired,
    Used,
    /// Its passcode attempts ran out.
    Disabled,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Used => "used",
            Self::Disabled => "disabled",
        }
    }
}

/// A new link, as the patient's client declares it (passcode already hashed).
#[derive(Clone, Debug)]
pub struct NewLink {
    pub id: String,
    pub owner: Address,
    pub manifest_url: String,
    pub label: String,
    pub purpose: String,
    pub passcode_hash: Option<String>,
    pub single_use: bool,
    pub long_lived: bool,
    /// Category mask a long-lived link follows.
    pub categories: u16,
    pub expires_at_ms: Option<u64>,
    pub files: Vec<NewFile>,
}

#[derive(Clone, Debug)]
pub struct NewFile {
    pub content_type: String,
    pub jwe: String,
}

#[derive(Clone, Debug)]
pub struct Link {
    pub id: String,
    pub owner: Address,
    pub manifest_url: String,
    pub label: String,
    pub purpose: String,
    pub passcode_hash: Option<String>,
    pub attempts_left: u32,
    pub single_use: bool,
    pub long_lived: bool,
    pub categories: u16,
    pub created_at_ms: u64,
    pub expires_at_ms: Option<u64>,
    pub revoked_at_ms: Option<u64>,
    pub used_at_ms: Option<u64>,
}

impl Link {
    pub fn state(&self, now_ms: u64) -> LinkState {
        if self.revoked_at_ms.is_some() {
            LinkState::Revoked
        } else if self.expires_at_ms.is_some_and(|at| at <= now_ms) {
            LinkState::Expired
        } else if self.used_at_ms.is_some() {
            LinkState::Used
        } else if self.passcode_hash.is_some() && self.attempts_left == 0 {
            LinkState::Disabled
        } else {
            LinkState::Active
        }
    }
}

#[derive(Clone, Debug)]
pub struct StoredFile {
    pub position: u32,
    pub content_type: String,
    pub jwe: String,
    pub updated_at_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub at_ms: u64,
    pub recipient: String,
    pub outcome: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ShareLinkError {
    #[error("a link with this id exists already")]
    Exists,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Clone, Debug)]
pub struct ShareLinks {
    pool: AnyPool,
}

const LINK_COLUMNS: &str = "id, owner, manifest_url, label, purpose, passcode_hash, attempts_left, single_use, \
     long_lived, categories, created_at_ms, expires_at_ms, revoked_at_ms, used_at_ms";

impl ShareLinks {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub async fn create(&self, new: &NewLink, now_ms: u64) -> Result<Link, ShareLinkError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO share_links (id, owner, manifest_url, label, purpose, passcode_hash, attempts_left, \
             single_use, long_lived, categories, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&new.id)
        .bind(new.owner.to_vec())
        .bind(&new.manifest_url)
        .bind(&new.label)
        .bind(&new.purpose)
        .bind(new.passcode_hash.clone())
        .bind(i64::from(PASSCODE_ATTEMPTS))
        .bind(i64::from(new.single_use))
        .bind(i64::from(new.long_lived))
        .bind(i64::from(new.categories))
        .bind(now_ms as i64)
        .bind(new.expires_at_ms.map(|at| at as i64))
        .execute(&mut *tx)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => ShareLinkError::Exists,
            _ => err.into(),
        })?;
        insert_files(&mut tx, &new.id, &new.files, now_ms).await?;
        tx.commit().await?;
        Ok(self.get(&new.id).await?.expect("just stored"))
    }

    pub async fn get(&self, id: &str) -> Result<Option<Link>, sqlx::Error> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {LINK_COLUMNS} FROM share_links WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(link_from_row).transpose()
    }

    /// The owner's links, newest first, each with its file count and its accesses (oldest first).
    pub async fn list(&self, owner: Address) -> Result<Vec<(Link, u32, Vec<Access>)>, sqlx::Error> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM share_links WHERE owner = $1 ORDER BY created_at_ms DESC, id"
        )))
        .bind(owner.to_vec())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let link = link_from_row(row)?;
            let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM share_link_files WHERE link_id = $1")
                .bind(&link.id)
                .fetch_one(&self.pool)
                .await?;
            let accesses = sqlx::query(
                "SELECT at_ms, recipient, outcome FROM share_link_accesses WHERE link_id = $1 ORDER BY seq",
            )
            .bind(&link.id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(Access {
                    at_ms: row.try_get::<i64, _>("at_ms")? as u64,
                    recipient: row.try_get("recipient")?,
                    outcome: row.try_get("outcome")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
            out.push((link, files as u32, accesses));
        }
        Ok(out)
    }

    /// Revokes the owner's link at once (and the tickets its manifests handed out). False: no
    /// such link of hers, or revoked already.
    pub async fn revoke(&self, owner: Address, id: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE share_links SET revoked_at_ms = $1 WHERE id = $2 AND owner = $3 AND revoked_at_ms IS NULL",
        )
        .bind(now_ms as i64)
        .bind(id)
        .bind(owner.to_vec())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM share_link_tickets WHERE link_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(revoked.rows_affected() == 1)
    }

    /// Replaces the files of the owner's live, long-lived link. False: no such link.
    /// Replaces a long-lived link's files while it is neither revoked nor expired; false otherwise.
    pub async fn replace_files(
        &self,
        owner: Address,
        id: &str,
        files: &[NewFile],
        now_ms: u64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // Taking the link's row first orders this against a revocation running at the same time.
        let live = sqlx::query(
            "UPDATE share_links SET label = label WHERE id = $1 AND owner = $2 AND long_lived = 1 \
             AND revoked_at_ms IS NULL AND (expires_at_ms IS NULL OR expires_at_ms > $3)",
        )
        .bind(id)
        .bind(owner.to_vec())
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await?;
        if live.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM share_link_files WHERE link_id = $1").bind(id).execute(&mut *tx).await?;
        insert_files(&mut tx, id, files, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Takes one passcode attempt; the attempts left after it, or `None` when none were left.
    pub async fn take_attempt(&self, id: &str) -> Result<Option<u32>, sqlx::Error> {
        let left: Option<i64> = sqlx::query_scalar(
            "UPDATE share_links SET attempts_left = attempts_left - 1 WHERE id = $1 AND attempts_left > 0 \
             RETURNING attempts_left",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(left.map(|n| n as u32))
    }

    /// Gives back the attempt of a right passcode.
    pub async fn refund_attempt(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE share_links SET attempts_left = attempts_left + 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a single-use link used; false if another request did first.
    pub async fn mark_used(&self, id: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
        let marked = sqlx::query("UPDATE share_links SET used_at_ms = $1 WHERE id = $2 AND used_at_ms IS NULL")
            .bind(now_ms as i64)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(marked.rows_affected() == 1)
    }

    pub async fn files(&self, id: &str) -> Result<Vec<StoredFile>, sqlx::Error> {
        sqlx::query(
            "SELECT position, content_type, jwe, updated_at_ms FROM share_link_files WHERE link_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(file_from_row)
        .collect()
    }

    /// A random ticket for the link's files, good for [`TICKET_MS`]; expired ones are dropped.
    pub async fn issue_ticket(&self, id: &str, now_ms: u64) -> Result<String, sqlx::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|err| sqlx::Error::Protocol(format!("no OS randomness: {err}")))?;
        let ticket = base64url(&bytes);
        sqlx::query("DELETE FROM share_link_tickets WHERE expires_at_ms <= $1")
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO share_link_tickets (ticket, link_id, expires_at_ms) VALUES ($1, $2, $3)")
            .bind(&ticket)
            .bind(id)
            .bind((now_ms + TICKET_MS) as i64)
            .execute(&self.pool)
            .await?;
        Ok(ticket)
    }

    /// The file at `position` of link `id`, if `ticket` is a live ticket of that link.
    pub async fn ticket_file(
        &self,
        id: &str,
        position: u32,
        ticket: &str,
        now_ms: u64,
    ) -> Result<Option<StoredFile>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT f.position, f.content_type, f.jwe, f.updated_at_ms FROM share_link_tickets t \
             JOIN share_link_files f ON f.link_id = t.link_id \
             WHERE t.ticket = $1 AND t.link_id = $2 AND t.expires_at_ms > $3 AND f.position = $4",
        )
        .bind(ticket)
        .bind(id)
        .bind(now_ms as i64)
        .bind(i64::from(position))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(file_from_row).transpose()
    }

    /// Records a manifest request (and, when it was answered, the owner's webhook event).
    pub async fn record_access(
        &self,
        id: &str,
        at_ms: u64,
        recipient: &str,
        outcome: &str,
        event: Option<&Event>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO share_link_accesses (link_id, at_ms, recipient, outcome) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(at_ms as i64)
            .bind(recipient)
            .bind(outcome)
            .execute(&mut *tx)
            .await?;
        if let Some(event) = event {
            notify::enqueue(&mut tx, event, at_ms).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_files(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    files: &[NewFile],
    now_ms: u64,
) -> Result<(), sqlx::Error> {
    for (position, file) in files.iter().enumerate() {
        sqlx::query(
            "INSERT INTO share_link_files (link_id, position, content_type, jwe, updated_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(position as i64)
        .bind(&file.content_type)
        .bind(&file.jwe)
        .bind(now_ms as i64)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn link_from_row(row: &AnyRow) -> Result<Link, sqlx::Error> {
    let owner: Vec<u8> = row.try_get("owner")?;
    let optional_ms =
        |name: &str| -> Result<Option<u64>, sqlx::Error> { Ok(row.try_get::<Option<i64>, _>(name)?.map(|v| v as u64)) };
    Ok(Link {
        id: row.try_get("id")?,
        owner: Address::try_from(owner.as_slice()).map_err(|_| sqlx::Error::Decode("malformed owner".into()))?,
        manifest_url: row.try_get("manifest_url")?,
        label: row.try_get("label")?,
        purpose: row.try_get("purpose")?,
        passcode_hash: row.try_get("passcode_hash")?,
        attempts_left: row.try_get::<i64, _>("attempts_left")? as u32,
        single_use: row.try_get::<i64, _>("single_use")? != 0,
        long_lived: row.try_get::<i64, _>("long_lived")? != 0,
        categories: row.try_get::<i64, _>("categories")? as u16,
        created_at_ms: row.try_get::<i64, _>("created_at_ms")? as u64,
        expires_at_ms: optional_ms("expires_at_ms")?,
        revoked_at_ms: optional_ms("revoked_at_ms")?,
        used_at_ms: optional_ms("used_at_ms")?,
    })
}

fn file_from_row(row: &AnyRow) -> Result<StoredFile, sqlx::Error> {
    Ok(StoredFile {
        position: row.try_get::<i64, _>("position")? as u32,
        content_type: row.try_get("content_type")?,
        jwe: row.try_get("jwe")?,
        updated_at_ms: row.try_get::<i64, _>("updated_at_ms")? as u64,
    })
}

/// Base64url without padding (the specification's encoding for ids and keys).
pub fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
