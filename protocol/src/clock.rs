//! The one clock every Medkey component reads: Unix milliseconds. Grants, sessions, share links
//! and audit entries compare times written by different crates, so they all take them from here.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix milliseconds (0 if the system clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
