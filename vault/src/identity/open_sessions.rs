//! Session families recently confirmed open, so a client's burst of requests does not read the
//! refresh-token table once per request. A logout or a detected token theft in this process
//! closes the family here before the database is updated, so it takes effect at once; one in
//! another vault instance sharing the database is seen here within [`RECHECK_AFTER`].

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub const RECHECK_AFTER: Duration = Duration::from_secs(1);

/// Past this many remembered families a set starts over (a bound, not an eviction policy).
const MAX_REMEMBERED: usize = 100_000;

#[derive(Debug, Default)]
pub(super) struct OpenSessions {
    inner: Mutex<Families>,
}

#[derive(Debug, Default)]
struct Families {
    confirmed: HashMap<Vec<u8>, Instant>,
    closed: HashSet<Vec<u8>>,
}

/// What the cache knows about a family without asking the database.
pub(super) enum Known {
    Open,
    Closed,
    Unknown,
}

impl OpenSessions {
    pub(super) fn lookup(&self, family: &[u8]) -> Known {
        let families = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if families.closed.contains(family) {
            Known::Closed
        } else if families.confirmed.get(family).is_some_and(|at| at.elapsed() < RECHECK_AFTER) {
            Known::Open
        } else {
            Known::Unknown
        }
    }

    /// Remembers that the database said open, unless the family was closed meanwhile.
    pub(super) fn confirm(&self, family: &[u8]) {
        let mut families = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if families.closed.contains(family) {
            return;
        }
        if families.confirmed.len() >= MAX_REMEMBERED {
            families.confirmed.clear();
        }
        families.confirmed.insert(family.to_vec(), Instant::now());
    }

    pub(super) fn close(&self, family: &[u8]) {
        let mut families = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        families.confirmed.remove(family);
        if families.closed.len() >= MAX_REMEMBERED {
            // Forgetting a closed family is safe: the database still says it is closed.
            families.closed.clear();
        }
        families.closed.insert(family.to_vec());
    }
}
