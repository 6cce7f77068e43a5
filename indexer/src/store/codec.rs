//! Conversions between chain types and column values. Addresses and hashes are stored as raw
//! bytes, integers as signed 64-bit (every chain quantity we store fits).

use alloy::primitives::{Address, B256, FixedBytes};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, StoreError};

pub fn int(value: u64) -> i64 {
    // Block numbers, log indexes, nonces and audit sizes stay far below 2^63.
    i64::try_from(value).expect("chain quantity fits in i64")
}

pub fn bytes(value: impl AsRef<[u8]>) -> Vec<u8> {
    value.as_ref().to_vec()
}

pub fn get_u64(row: &AnyRow, column: &'static str) -> Result<u64, StoreError> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| StoreError::Malformed { column })
}

pub fn get_opt_u64(row: &AnyRow, column: &'static str) -> Result<Option<u64>, StoreError> {
    let value: Option<i64> = row.try_get(column)?;
    value.map(|v| u64::try_from(v).map_err(|_| StoreError::Malformed { column })).transpose()
}

pub fn get_b256(row: &AnyRow, column: &'static str) -> Result<B256, StoreError> {
    let value: Vec<u8> = row.try_get(column)?;
    B256::try_from(value.as_slice()).map_err(|_| StoreError::Malformed { column })
}

pub fn get_opt_b256(row: &AnyRow, column: &'static str) -> Result<Option<B256>, StoreError> {
    let value: Option<Vec<u8>> = row.try_get(column)?;
    value.map(|v| B256::try_from(v.as_slice()).map_err(|_| StoreError::Malformed { column })).transpose()
}

/// A profile commitment (31 bytes); NULL or malformed reads as none.
pub fn get_opt_profile_hash(row: &AnyRow, column: &'static str) -> Result<Option<FixedBytes<31>>, StoreError> {
    let value: Option<Vec<u8>> = row.try_get(column)?;
    value.map(|v| FixedBytes::<31>::try_from(v.as_slice()).map_err(|_| StoreError::Malformed { column })).transpose()
}

pub fn get_address(row: &AnyRow, column: &'static str) -> Result<Address, StoreError> {
    let value: Vec<u8> = row.try_get(column)?;
    Address::try_from(value.as_slice()).map_err(|_| StoreError::Malformed { column })
}

/// `($1, $2, …), ($k, …)` for a multi-row INSERT. SQLite gets anonymous `?` instead: binding
/// looks every named parameter up with `sqlite3_bind_parameter_name`, a linear scan, which made a
/// 19,000-parameter statement quadratic (SQLite backfill was 10× slower than PostgreSQL).
pub fn value_rows(rows: usize, columns: usize, backend: Backend) -> String {
    let mut sql = String::with_capacity(rows * columns * 6);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(row * columns + column + 1).to_string());
                }
                Backend::Sqlite => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    #[test]
    fn value_rows_numbers_placeholders_row_major() {
        use super::{Backend, value_rows};
        assert_eq!(value_rows(2, 3, Backend::Postgres), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(value_rows(2, 2, Backend::Sqlite), "(?, ?), (?, ?)");
    }
}
