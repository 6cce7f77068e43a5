//! Reading the listing: a search with filters and pages, and the entries of given addresses.

use alloy::primitives::Address;
use sqlx::Row;

use super::listing::facts_from_row;
use super::{APPLICATION_COLUMNS, Directory, Listed, application_from_row};

/// What a directory search asks for; empty strings mean "any".
#[derive(Clone, Debug, Default)]
pub struct Search {
    /// Each word must be part of the name, the organisation or the city (any case), or the
    /// whole text the NPI.
    pub text: String,
    pub taxonomy: String,
    pub city: String,
    pub country: String,
    pub offset: u64,
    pub limit: u64,
}

/// More words than this in one search are not looked at.
const MAX_WORDS: usize = 6;

/// A listed row: the application, the listing's facts and the reason's words.
const LISTED_SELECT: &str = "d.provider AS listed_provider, d.profile_hash AS listed_hash, d.status AS listed_status, \
    d.verified_at_ms, d.action_kind, d.action_reason, d.action_at_ms, r.reason AS action_reason_text \
    FROM directory d JOIN provider_applications a ON a.id = d.application_id \
    LEFT JOIN registry_reasons r ON r.reason_hash = d.action_reason";

impl Directory {
    /// One page of listed providers matching `search`, by name, and how many match in all.
    pub async fn search(&self, search: &Search) -> Result<(Vec<Listed>, u64), sqlx::Error> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let bind = |value: String, binds: &mut Vec<String>| {
            binds.push(value);
            format!("${}", binds.len())
        };
        let words = search_terms(&search.text);
        let is_npi = |w: &str| w.len() == 10 && w.bytes().all(|b| b.is_ascii_digit());
        for word in words.iter().take(MAX_WORDS) {
            // An NPI is looked up whole, through its index.
            if words.len() == 1 && is_npi(word) {
                conditions.push(format!("d.npi = {}", bind(word.clone(), &mut binds)));
                continue;
            }
            let pattern = bind(format!("%{}%", escape_like(word)), &mut binds);
            let npi = if words.len() == 1 {
                format!(" OR d.npi = {}", bind(word.clone(), &mut binds))
            } else {
                String::new()
            };
            conditions.push(format!("(d.search_lc LIKE {pattern} ESCAPE '\\'{npi})"));
        }
        if !search.taxonomy.is_empty() {
            conditions.push(format!("d.taxonomy = {}", bind(search.taxonomy.clone(), &mut binds)));
        }
        if !search.city.is_empty() {
            conditions.push(format!("d.city_lc = {}", bind(search.city.trim().to_lowercase(), &mut binds)));
        }
        if !search.country.is_empty() {
            conditions.push(format!("d.country = {}", bind(search.country.to_uppercase(), &mut binds)));
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };

        let count_sql = format!("SELECT COUNT(*) FROM directory d {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
        for value in &binds {
            count = count.bind(value.clone());
        }
        let total = count.fetch_one(&self.pool).await?;

        let page_sql = format!(
            "SELECT {APPLICATION_COLUMNS}, {LISTED_SELECT} {filter} ORDER BY d.name_lc, d.provider LIMIT {} OFFSET {}",
            search.limit, search.offset
        );
        let mut page = sqlx::query(sqlx::AssertSqlSafe(page_sql));
        for value in &binds {
            page = page.bind(value.clone());
        }
        let rows = page.fetch_all(&self.pool).await?;
        Ok((rows.iter().map(listed_from_row).collect::<Result<_, _>>()?, total as u64))
    }

    /// The listed providers among `providers` (any order).
    pub async fn listed(&self, providers: &[Address]) -> Result<Vec<Listed>, sqlx::Error> {
        let mut found = Vec::new();
        for chunk in providers.chunks(200) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql =
                format!("SELECT {APPLICATION_COLUMNS}, {LISTED_SELECT} WHERE d.provider IN ({})", marks.join(", "));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for provider in chunk {
                query = query.bind(provider.to_vec());
            }
            for row in query.fetch_all(&self.pool).await? {
                found.push(listed_from_row(&row)?);
            }
        }
        Ok(found)
    }
}

fn listed_from_row(row: &sqlx::any::AnyRow) -> Result<Listed, sqlx::Error> {
    Ok(Listed {
        application: application_from_row(row)?,
        facts: facts_from_row(row)?,
        action_reason_text: row.try_get("action_reason_text")?,
    })
}

/// `%`, `_` and `\\` match themselves in a LIKE pattern with `ESCAPE '\\'`.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The words of `text` a search matches on: runs of letters and digits, lowercased, once each.
pub(super) fn search_terms(text: &str) -> Vec<String> {
    let mut terms: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    terms.sort();
    terms.dedup();
    terms
}

#[cfg(test)]
mod tests {
    use super::search_terms;

    #[test]
    fn words_are_lowercased_split_on_anything_else_and_kept_once() {
        assert_eq!(search_terms("Dr. Ana-María  O'Neil, DR"), ["ana", "dr", "maría", "neil", "o"]);
        assert!(search_terms(" .,- ").is_empty());
    }
}
