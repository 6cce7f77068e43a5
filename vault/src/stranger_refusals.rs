//! Refusals of callers with no standing at all: a wallet no registry role is held by, one that is
//! not a registered provider. Such a refusal needs no record and says nothing about any patient,
//! so it goes to the operator's log (no patient on the entry), and only once per caller, kind of
//! refusal and window: a client looping on a closed door costs one entry a window, not one per
//! call (each entry is a leaf the operator anchors on chain and pays for). The memory is bounded:
//! when it is full of unexpired callers, further refusals are still refused but not logged until
//! room frees up (the Prometheus error counter still counts every one).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy::primitives::Address;

/// How long a logged refusal stands for that caller's later ones of the same kind.
pub const WINDOW: Duration = Duration::from_secs(10 * 60);
/// Callers remembered at once.
const CAPACITY: usize = 50_000;

#[derive(Debug, Default)]
pub struct StrangerRefusals {
    logged: Mutex<HashMap<(Address, &'static str), Instant>>,
}

impl StrangerRefusals {
    /// Whether this refusal of `caller` (`code`) is the first of its window, and so is logged.
    pub fn first_in_window(&self, caller: Address, code: &'static str) -> bool {
        self.first_at(caller, code, Instant::now())
    }

    fn first_at(&self, caller: Address, code: &'static str, now: Instant) -> bool {
        let mut logged = self.logged.lock().expect("refusal memory");
        if let Some(at) = logged.get(&(caller, code))
            && now.duration_since(*at) < WINDOW
        {
            return false;
        }
        if logged.len() >= CAPACITY {
            logged.retain(|_, at| now.duration_since(*at) < WINDOW);
            if logged.len() >= CAPACITY {
                return false;
            }
        }
        logged.insert((caller, code), now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_caller_kind_and_window() {
        let memory = StrangerRefusals::default();
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let start = Instant::now();
        assert!(memory.first_at(a, "no_registry_role", start));
        assert!(!memory.first_at(a, "no_registry_role", start + Duration::from_secs(1)));
        assert!(memory.first_at(a, "provider_not_registered", start));
        assert!(memory.first_at(b, "no_registry_role", start));
        assert!(memory.first_at(a, "no_registry_role", start + WINDOW));
    }
}
