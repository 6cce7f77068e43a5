//! Keeping the listing in line with the chain. A provider is listed with the application whose
//! hash the registry holds now, together with what the chain says of it (status, when its profile
//! was committed to, its latest suspension or reinstatement), so a search reads one table.
//! [`Directory::catch_up`] looks again at every provider with a registry event since the last
//! block it saw (all of them after a reorg moved the mirror back); it runs before each read, and
//! costs nothing when the mirror has not moved.

use alloy::primitives::{Address, B256, FixedBytes};
use medkey_indexer::Store;
use medkey_indexer::model::{MirroredProvider, ProviderHistoryEntry, ProviderStatus};
use sqlx::Row;

use super::{APPLICATION_COLUMNS, Directory, application_from_row};

/// What the chain says of a provider, as the listing keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingFacts {
    pub provider: Address,
    pub status: ProviderStatus,
    pub profile_hash: FixedBytes<31>,
    /// When the registry committed to the current profile (its block's time, ms).
    pub verified_at_ms: Option<u64>,
    /// The latest suspension or reinstatement.
    pub action: Option<RegistryActionFacts>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryActionFacts {
    /// `suspended` or `reinstated`.
    pub kind: String,
    pub reason_hash: B256,
    pub at_ms: Option<u64>,
}

impl ListingFacts {
    /// From the mirror's current state of the provider and its history.
    pub fn new(state: &MirroredProvider, history: &[ProviderHistoryEntry]) -> Self {
        let ms = |secs: Option<u64>| secs.map(|s| s * 1000);
        let verified_at_ms = history
            .iter()
            .rev()
            .find(|e| {
                matches!(e.kind.as_str(), "registered" | "profile_updated") && e.profile_hash == state.profile_hash
            })
            .and_then(|e| ms(e.block_timestamp));
        let action = history.iter().rev().find_map(|e| {
            e.reason_hash.map(|reason_hash| RegistryActionFacts {
                kind: e.kind.clone(),
                reason_hash,
                at_ms: ms(e.block_timestamp),
            })
        });
        Self { provider: state.address, status: state.status, profile_hash: state.profile_hash, verified_at_ms, action }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatchUpError {
    #[error(transparent)]
    Mirror(#[from] medkey_indexer::StoreError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Directory {
    /// Brings the listing in line with the mirror at block `at` (the vault's view of the
    /// checkpoint; `None` before the mirror started). One caller at a time in this process;
    /// other replicas sharing the database may repeat work, never undo it.
    pub async fn catch_up(
        &self,
        mirror: &Store,
        chain_id: u64,
        at: Option<u64>,
        now_ms: u64,
    ) -> Result<(), CatchUpError> {
        let Some(at) = at else { return Ok(()) };
        let _one_at_a_time = self.syncing.lock().await;
        let done: Option<i64> = sqlx::query_scalar("SELECT block_number FROM directory_sync WHERE chain_id = $1")
            .bind(chain_id as i64)
            .fetch_optional(&self.pool)
            .await?;
        let changed = match done.map(|d| d as u64) {
            Some(done) if done == at => return Ok(()),
            Some(done) if done < at => mirror.providers_changed_after(chain_id, done).await?,
            _ => mirror.providers(chain_id).await?,
        };
        for state in &changed {
            let history = mirror.provider_history(chain_id, state.address).await?;
            self.reconcile(&ListingFacts::new(state, &history), now_ms).await?;
        }
        sqlx::query(
            "INSERT INTO directory_sync (chain_id, block_number) VALUES ($1, $2) \
             ON CONFLICT (chain_id) DO UPDATE SET block_number = excluded.block_number",
        )
        .bind(chain_id as i64)
        .bind(at as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Reconciles one provider from the mirror now (after an application or a confirmation).
    pub async fn refresh(
        &self,
        mirror: &Store,
        chain_id: u64,
        provider: Address,
        now_ms: u64,
    ) -> Result<(), CatchUpError> {
        if let Some(state) = mirror.provider(chain_id, provider).await? {
            let history = mirror.provider_history(chain_id, provider).await?;
            self.reconcile(&ListingFacts::new(&state, &history), now_ms).await?;
        }
        Ok(())
    }

    /// Lists the application whose hash the registry holds (marking it approved) with `facts`,
    /// or unlists the provider when the vault holds no profile with that hash; a provider whose
    /// profile did not change gets its facts updated. True when the listed profile changed.
    pub async fn reconcile(&self, facts: &ListingFacts, now_ms: u64) -> Result<bool, sqlx::Error> {
        let address = facts.provider.to_vec();
        let hash = facts.profile_hash.to_vec();
        let listed: Option<Vec<u8>> = sqlx::query_scalar("SELECT profile_hash FROM directory WHERE provider = $1")
            .bind(address.clone())
            .fetch_optional(&self.pool)
            .await?;
        if listed.as_ref() == Some(&hash) {
            sqlx::query(
                "UPDATE directory SET status = $1, verified_at_ms = $2, action_kind = $3, action_reason = $4, \
                 action_at_ms = $5 WHERE provider = $6",
            )
            .bind(facts.status.as_str())
            .bind(facts.verified_at_ms.map(|v| v as i64))
            .bind(facts.action.as_ref().map(|a| a.kind.clone()))
            .bind(facts.action.as_ref().map(|a| a.reason_hash.to_vec()))
            .bind(facts.action.as_ref().and_then(|a| a.at_ms).map(|v| v as i64))
            .bind(address)
            .execute(&self.pool)
            .await?;
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
        let Some(row) = found else {
            sqlx::query("DELETE FROM directory WHERE provider = $1").bind(address).execute(&self.pool).await?;
            return Ok(listed.is_some());
        };
        let application = application_from_row(&row)?;
        let p = &application.profile;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE provider_applications SET status = 'approved', decided_at_ms = COALESCE(decided_at_ms, $1) \
             WHERE id = $2",
        )
        .bind(now_ms as i64)
        .bind(alloy::hex::encode(application.id))
        .execute(&mut *tx)
        .await?;
        // An upsert, not a delete and an insert: two replicas listing the same provider at once
        // both succeed, and the row ends as the chain says.
        sqlx::query(
            "INSERT INTO directory (provider, application_id, profile_hash, status, verified_at_ms, action_kind, \
             action_reason, action_at_ms, name_lc, organization_lc, npi, taxonomy, city_lc, search_lc, country, \
             listed_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (provider) DO UPDATE SET application_id = excluded.application_id, \
             profile_hash = excluded.profile_hash, status = excluded.status, verified_at_ms = excluded.verified_at_ms, \
             action_kind = excluded.action_kind, action_reason = excluded.action_reason, \
             action_at_ms = excluded.action_at_ms, name_lc = excluded.name_lc, \
             organization_lc = excluded.organization_lc, npi = excluded.npi, taxonomy = excluded.taxonomy, \
             city_lc = excluded.city_lc, search_lc = excluded.search_lc, country = excluded.country, \
             listed_at_ms = excluded.listed_at_ms",
        )
        .bind(address)
        .bind(alloy::hex::encode(application.id))
        .bind(hash)
        .bind(facts.status.as_str())
        .bind(facts.verified_at_ms.map(|v| v as i64))
        .bind(facts.action.as_ref().map(|a| a.kind.clone()))
        .bind(facts.action.as_ref().map(|a| a.reason_hash.to_vec()))
        .bind(facts.action.as_ref().and_then(|a| a.at_ms).map(|v| v as i64))
        .bind(p.display_name.to_lowercase())
        .bind(p.organization.to_lowercase())
        .bind(p.npi.clone())
        .bind(p.taxonomy.clone())
        .bind(p.city.to_lowercase())
        // One column to match words against, joined by a character no word contains.
        .bind([p.display_name.as_str(), &p.organization, &p.city].join("\u{1}").to_lowercase())
        .bind(p.country.clone())
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The listing's facts, read back with a listed row.
pub(super) fn facts_from_row(row: &sqlx::any::AnyRow) -> Result<ListingFacts, sqlx::Error> {
    let provider: Vec<u8> = row.try_get("listed_provider")?;
    let hash: Vec<u8> = row.try_get("listed_hash")?;
    let status: String = row.try_get("listed_status")?;
    let action_kind: Option<String> = row.try_get("action_kind")?;
    let action_reason: Option<Vec<u8>> = row.try_get("action_reason")?;
    let action = match (action_kind, action_reason.as_deref().and_then(super::hash_from)) {
        (Some(kind), Some(reason_hash)) => Some(RegistryActionFacts {
            kind,
            reason_hash,
            at_ms: row.try_get::<Option<i64>, _>("action_at_ms")?.map(|v| v as u64),
        }),
        _ => None,
    };
    Ok(ListingFacts {
        provider: super::address_from(&provider).ok_or_else(|| super::decode("provider"))?,
        status: ProviderStatus::parse(&status).ok_or_else(|| super::decode("status"))?,
        profile_hash: FixedBytes::<31>::try_from(hash.as_slice()).map_err(|_| super::decode("listed hash"))?,
        verified_at_ms: row.try_get::<Option<i64>, _>("verified_at_ms")?.map(|v| v as u64),
        action,
    })
}
