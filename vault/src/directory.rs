//! The provider directory's storage: applications (a wallet-signed profile waiting for the
//! registrar), the listed profile of each provider, and the words behind the registry's reason
//! hashes. What is listed follows the chain: [`Directory::reconcile`] lists the application whose
//! hash the registry holds now, and unlists a provider whose on-chain profile the vault does not
//! know.

use std::sync::Arc;

use alloy::primitives::{Address, B256, FixedBytes};
use medkey_indexer::Store;
use medkey_indexer::model::MirroredProvider;
use medkey_protocol::directory::DirectoryProfile;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// An application as stored.
#[derive(Clone, Debug)]
pub struct Application {
    pub id: [u8; 16],
    pub kind: ApplicationKind,
    pub status: ApplicationStatus,
    pub profile: DirectoryProfile,
    pub signature: Vec<u8>,
    pub profile_hash: FixedBytes<31>,
    pub reason: Option<String>,
    pub submitted_at_ms: u64,
    pub decided_at_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplicationKind {
    /// A wallet the registry does not know yet.
    Register,
    /// A registered provider's new profile.
    Update,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Declined,
}

impl ApplicationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Update => "update",
        }
    }
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Declined => "declined",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Declined].into_iter().find(|s| s.as_str() == text)
    }
}

/// A listed provider: its approved application.
pub type Listed = Application;

/// What a directory search asks for; empty strings mean "any".
#[derive(Clone, Debug, Default)]
pub struct Search {
    /// Matched against name, organisation and city (substring, any case) and NPI (exact).
    pub text: String,
    pub taxonomy: String,
    pub city: String,
    pub country: String,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CatchUpError {
    #[error(transparent)]
    Mirror(#[from] medkey_indexer::StoreError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("an application from this wallet is already waiting for the registrar")]
    AlreadyPending,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Clone, Debug)]
pub struct Directory {
    pool: AnyPool,
    /// The mirror block up to which listings were brought in line with the chain.
    reconciled: Arc<tokio::sync::Mutex<Option<u64>>>,
}

const APPLICATION_COLUMNS: &str =
    "a.id, a.kind, a.status, a.profile_json, a.signature, a.profile_hash, a.reason, a.submitted_at_ms, a.decided_at_ms";

impl Directory {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool, reconciled: Arc::default() }
    }

    /// Reconciles every provider with a registry event since the last call (all of them after a
    /// reorg moved the mirror back), so that approvals the registrar sent on chain are listed, and
    /// suspensions and profile changes show, without anyone telling the vault. Cheap when the
    /// mirror has not moved; one caller at a time.
    pub async fn catch_up(&self, mirror: &Store, chain_id: u64, now_ms: u64) -> Result<(), CatchUpError> {
        let Some(checkpoint) = mirror.checkpoint(chain_id).await? else { return Ok(()) };
        let at = checkpoint.block.number;
        let mut reconciled = self.reconciled.lock().await;
        let changed = match *reconciled {
            Some(done) if done == at => return Ok(()),
            Some(done) if done < at => mirror.providers_changed_after(chain_id, done).await?,
            _ => mirror.providers(chain_id).await?,
        };
        for provider in &changed {
            self.reconcile(provider, now_ms).await?;
        }
        *reconciled = Some(at);
        Ok(())
    }

    /// Stores a new pending application; refused while another from the same wallet waits
    /// (the unique index decides, so two submissions at once cannot both wait).
    pub async fn submit(&self, application: &Application) -> Result<(), SubmitError> {
        let profile_json = serde_json::to_string(&application.profile).expect("a profile serializes");
        let inserted = sqlx::query(
            "INSERT INTO provider_applications (id, provider, kind, status, profile_json, signature, profile_hash, npi, \
             submitted_at_ms) VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8)",
        )
        .bind(alloy::hex::encode(application.id))
        .bind(application.profile.provider.to_vec())
        .bind(application.kind.as_str())
        .bind(profile_json)
        .bind(application.signature.clone())
        .bind(application.profile_hash.to_vec())
        .bind(application.profile.npi.clone())
        .bind(application.submitted_at_ms as i64)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Err(SubmitError::AlreadyPending),
            Err(err) => Err(err.into()),
        }
    }

    /// A wallet's applications, newest first.
    pub async fn applications_of(&self, provider: Address) -> Result<Vec<Application>, sqlx::Error> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM provider_applications a WHERE a.provider = $1 \
             ORDER BY a.submitted_at_ms DESC, a.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(provider.to_vec()).fetch_all(&self.pool).await?;
        rows.iter().map(application_from_row).collect()
    }

    /// Applications in `status`, oldest first (the registrar's queue).
    pub async fn applications(&self, status: ApplicationStatus, limit: u64) -> Result<Vec<Application>, sqlx::Error> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM provider_applications a WHERE a.status = $1 \
             ORDER BY a.submitted_at_ms, a.id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status.as_str())
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(application_from_row).collect()
    }

    pub async fn application(&self, id: [u8; 16]) -> Result<Option<Application>, sqlx::Error> {
        let sql = format!("SELECT {APPLICATION_COLUMNS} FROM provider_applications a WHERE a.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(alloy::hex::encode(id)).fetch_optional(&self.pool).await?;
        row.as_ref().map(application_from_row).transpose()
    }

    /// Declines a pending application; false if it was not pending (decided meanwhile).
    pub async fn decline(&self, id: [u8; 16], reason: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE provider_applications SET status = 'declined', reason = $1, decided_at_ms = $2 \
             WHERE id = $3 AND status = 'pending'",
        )
        .bind(reason.to_owned())
        .bind(now_ms as i64)
        .bind(alloy::hex::encode(id))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Brings the listing of `provider` in line with what the registry holds for it now: lists
    /// the application whose hash is on chain (marking it approved), or unlists the provider when
    /// the vault holds no profile with that hash. True when something changed.
    pub async fn reconcile(&self, provider: &MirroredProvider, now_ms: u64) -> Result<bool, sqlx::Error> {
        let address = provider.address.to_vec();
        let hash = provider.profile_hash.to_vec();
        let listed: Option<Vec<u8>> = sqlx::query_scalar("SELECT profile_hash FROM directory WHERE provider = $1")
            .bind(address.clone())
            .fetch_optional(&self.pool)
            .await?;
        if listed.as_ref() == Some(&hash) {
            return Ok(false);
        }
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM provider_applications a WHERE a.provider = $1 AND a.profile_hash = $2 \
             AND a.status <> 'declined' ORDER BY a.submitted_at_ms DESC LIMIT 1"
        );
        let found = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(address.clone())
            .bind(hash.clone())
            .fetch_optional(&self.pool)
            .await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM directory WHERE provider = $1").bind(address.clone()).execute(&mut *tx).await?;
        if let Some(row) = found {
            let application = application_from_row(&row)?;
            let p = &application.profile;
            sqlx::query(
                "UPDATE provider_applications SET status = 'approved', decided_at_ms = COALESCE(decided_at_ms, $1) \
                 WHERE id = $2",
            )
            .bind(now_ms as i64)
            .bind(alloy::hex::encode(application.id))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO directory (provider, application_id, profile_hash, name_lc, organization_lc, npi, taxonomy, \
                 city_lc, country, listed_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(address)
            .bind(alloy::hex::encode(application.id))
            .bind(hash)
            .bind(p.display_name.to_lowercase())
            .bind(p.organization.to_lowercase())
            .bind(p.npi.clone())
            .bind(p.taxonomy.clone())
            .bind(p.city.to_lowercase())
            .bind(p.country.clone())
            .bind(now_ms as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// One page of listed providers matching `search`, by name, and how many match in all.
    pub async fn search(&self, search: &Search) -> Result<(Vec<Listed>, u64), sqlx::Error> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let next = |value: String, binds: &mut Vec<String>| {
            binds.push(value);
            format!("${}", binds.len())
        };
        let text = search.text.trim().to_lowercase();
        if !text.is_empty() {
            let pattern = format!("%{}%", escape_like(&text));
            let a = next(pattern.clone(), &mut binds);
            let b = next(pattern.clone(), &mut binds);
            let c = next(pattern, &mut binds);
            let d = next(text.clone(), &mut binds);
            conditions.push(format!(
                "(d.name_lc LIKE {a} ESCAPE '\\' OR d.organization_lc LIKE {b} ESCAPE '\\' \
                 OR d.city_lc LIKE {c} ESCAPE '\\' OR d.npi = {d})"
            ));
        }
        if !search.taxonomy.is_empty() {
            conditions.push(format!("d.taxonomy = {}", next(search.taxonomy.clone(), &mut binds)));
        }
        if !search.city.is_empty() {
            conditions.push(format!("d.city_lc = {}", next(search.city.trim().to_lowercase(), &mut binds)));
        }
        if !search.country.is_empty() {
            conditions.push(format!("d.country = {}", next(search.country.to_uppercase(), &mut binds)));
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };

        let count_sql = format!("SELECT COUNT(*) FROM directory d {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
        for value in &binds {
            count = count.bind(value.clone());
        }
        let total = count.fetch_one(&self.pool).await?;

        let page_sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM directory d JOIN provider_applications a ON a.id = d.application_id \
             {filter} ORDER BY d.name_lc, d.provider LIMIT {} OFFSET {}",
            search.limit, search.offset
        );
        let mut page = sqlx::query(sqlx::AssertSqlSafe(page_sql));
        for value in &binds {
            page = page.bind(value.clone());
        }
        let rows = page.fetch_all(&self.pool).await?;
        Ok((rows.iter().map(application_from_row).collect::<Result<_, _>>()?, total as u64))
    }

    /// The listed profiles among `providers` (any order).
    pub async fn listed(&self, providers: &[Address]) -> Result<Vec<Listed>, sqlx::Error> {
        let mut found = Vec::new();
        for chunk in providers.chunks(200) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {APPLICATION_COLUMNS} FROM directory d JOIN provider_applications a ON a.id = d.application_id \
                 WHERE d.provider IN ({})",
                marks.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for provider in chunk {
                query = query.bind(provider.to_vec());
            }
            for row in query.fetch_all(&self.pool).await? {
                found.push(application_from_row(&row)?);
            }
        }
        Ok(found)
    }

    /// Listed providers other than `except` with this NPI.
    pub async fn npi_listed_for(&self, npi: &str, except: Address) -> Result<Vec<Address>, sqlx::Error> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT provider FROM directory WHERE npi = $1 AND provider <> $2")
            .bind(npi.to_owned())
            .bind(except.to_vec())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().filter_map(|bytes| Address::try_from(bytes.as_slice()).ok()).collect())
    }

    /// Keeps the words of a reason; the same words twice are one row.
    pub async fn add_reason(&self, reason: &str, by: Address, now_ms: u64) -> Result<B256, sqlx::Error> {
        let hash = alloy::primitives::keccak256(reason.as_bytes());
        sqlx::query(
            "INSERT INTO registry_reasons (reason_hash, reason, added_by, added_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (reason_hash) DO NOTHING",
        )
        .bind(hash.to_vec())
        .bind(reason.to_owned())
        .bind(by.to_vec())
        .bind(now_ms as i64)
        .execute(&self.pool)
        .await?;
        Ok(hash)
    }

    pub async fn reason(&self, hash: B256) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT reason FROM registry_reasons WHERE reason_hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await
    }
}

/// `%`, `_` and `\` match themselves in a LIKE pattern with `ESCAPE '\'`.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn application_from_row(row: &AnyRow) -> Result<Application, sqlx::Error> {
    let decode = |what: &str| sqlx::Error::Decode(format!("a stored application's {what}").into());
    let id: String = row.try_get("id")?;
    let id: [u8; 16] =
        alloy::hex::decode(&id).ok().and_then(|bytes| bytes.try_into().ok()).ok_or_else(|| decode("id"))?;
    let kind: String = row.try_get("kind")?;
    let kind = match kind.as_str() {
        "register" => ApplicationKind::Register,
        "update" => ApplicationKind::Update,
        _ => return Err(decode("kind")),
    };
    let status: String = row.try_get("status")?;
    let profile_json: String = row.try_get("profile_json")?;
    let hash: Vec<u8> = row.try_get("profile_hash")?;
    Ok(Application {
        id,
        kind,
        status: ApplicationStatus::parse(&status).ok_or_else(|| decode("status"))?,
        profile: serde_json::from_str(&profile_json).map_err(|_| decode("profile"))?,
        signature: row.try_get("signature")?,
        profile_hash: FixedBytes::<31>::try_from(hash.as_slice()).map_err(|_| decode("profile hash"))?,
        reason: row.try_get("reason")?,
        submitted_at_ms: row.try_get::<i64, _>("submitted_at_ms")? as u64,
        decided_at_ms: row.try_get::<Option<i64>, _>("decided_at_ms")?.map(|v| v as u64),
    })
}
