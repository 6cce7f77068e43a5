//! Rate limits on login and key release (per address and per client IP), and a lockout after
//! repeated failed logins. In memory (governor's GCRA), per vault process; a shared Redis store
//! for several vault replicas is still to come.
//!
//! The lockout is keyed by (address, IP), not by address alone: anyone can send a bad signature
//! naming someone else's address, and keying on the address alone would let them lock that
//! person out. Brute force is not the risk it is for passwords (a SIWE signature cannot be
//! guessed); the lockout stops floods and noisy clients.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

#[derive(Clone, Copy, Debug)]
pub struct LimitSettings {
    pub login_per_ip_per_minute: u32,
    pub release_per_address_per_minute: u32,
    pub release_per_ip_per_minute: u32,
    /// Failed logins from one IP for one address before it is locked out.
    pub lockout_after: u32,
    pub lockout_window: Duration,
    pub lockout_for: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            login_per_ip_per_minute: 30,
            release_per_address_per_minute: 600,
            release_per_ip_per_minute: 1_200,
            lockout_after: 5,
            lockout_window: Duration::from_secs(15 * 60),
            lockout_for: Duration::from_secs(15 * 60),
        }
    }
}

/// Why a request was turned away, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttled {
    RateLimited { retry_after: Duration },
    LockedOut { retry_after: Duration },
}

#[derive(Clone, Debug)]
pub struct Limits {
    settings: LimitSettings,
    login_by_ip: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    release_by_address: Arc<DefaultKeyedRateLimiter<Address>>,
    release_by_ip: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    failures: Arc<Mutex<HashMap<(Address, IpAddr), Failures>>>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least 1"))
}

fn check<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), Throttled> {
    limiter.check_key(key).map_err(|not_until| Throttled::RateLimited {
        retry_after: not_until.wait_time_from(DefaultClock::default().now()),
    })
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            settings,
            login_by_ip: Arc::new(RateLimiter::dashmap(per_minute(settings.login_per_ip_per_minute))),
            release_by_address: Arc::new(RateLimiter::dashmap(per_minute(settings.release_per_address_per_minute))),
            release_by_ip: Arc::new(RateLimiter::dashmap(per_minute(settings.release_per_ip_per_minute))),
            failures: Arc::default(),
        }
    }

    /// Before a login attempt (nonce or login request) from `ip`.
    pub fn login_attempt(&self, ip: IpAddr) -> Result<(), Throttled> {
        check(&self.login_by_ip, &ip)
    }

    /// Before verifying a login for `address` from `ip`: refused while locked out.
    pub fn login_allowed(&self, address: Address, ip: IpAddr) -> Result<(), Throttled> {
        let failures = self.failures.lock().expect("lock");
        match failures.get(&(address, ip)).and_then(|f| f.locked_until) {
            Some(until) if until > Instant::now() => Err(Throttled::LockedOut { retry_after: until - Instant::now() }),
            _ => Ok(()),
        }
    }

    /// Records the outcome of a login: failures accumulate within the window; success clears them.
    pub fn login_result(&self, address: Address, ip: IpAddr, succeeded: bool) {
        let mut failures = self.failures.lock().expect("lock");
        if succeeded {
            failures.remove(&(address, ip));
            return;
        }
        let now = Instant::now();
        let entry = failures.entry((address, ip)).or_insert(Failures { count: 0, since: now, locked_until: None });
        if now.duration_since(entry.since) > self.settings.lockout_window
            || entry.locked_until.is_some_and(|u| u <= now)
        {
            *entry = Failures { count: 0, since: now, locked_until: None };
        }
        entry.count += 1;
        if entry.count >= self.settings.lockout_after {
            entry.locked_until = Some(now + self.settings.lockout_for);
        }
    }

    /// Before a key release for `provider` from `ip`.
    pub fn release_attempt(&self, provider: Address, ip: IpAddr) -> Result<(), Throttled> {
        check(&self.release_by_address, &provider)?;
        check(&self.release_by_ip, &ip)
    }

    /// Forgets idle keys so memory stays bounded (call periodically).
    pub fn shrink(&self) {
        self.login_by_ip.retain_recent();
        self.release_by_address.retain_recent();
        self.release_by_ip.retain_recent();
        let now = Instant::now();
        let window = self.settings.lockout_window;
        self.failures
            .lock()
            .expect("lock")
            .retain(|_, f| f.locked_until.is_some_and(|u| u > now) || now.duration_since(f.since) <= window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn rate_limits_are_per_key() {
        let limits = Limits::new(LimitSettings { login_per_ip_per_minute: 2, ..Default::default() });
        assert!(limits.login_attempt(ip(1)).is_ok() && limits.login_attempt(ip(1)).is_ok());
        assert!(matches!(limits.login_attempt(ip(1)), Err(Throttled::RateLimited { .. })));
        assert!(limits.login_attempt(ip(2)).is_ok(), "another client is unaffected");
    }

    #[test]
    fn failed_logins_lock_out_that_address_from_that_ip_only() {
        let limits = Limits::new(LimitSettings { lockout_after: 3, ..Default::default() });
        let alice = Address::repeat_byte(1);
        for _ in 0..2 {
            limits.login_result(alice, ip(1), false);
        }
        assert!(limits.login_allowed(alice, ip(1)).is_ok());
        limits.login_result(alice, ip(1), false);
        assert!(matches!(limits.login_allowed(alice, ip(1)), Err(Throttled::LockedOut { .. })));
        assert!(limits.login_allowed(alice, ip(2)).is_ok(), "a flood from one IP cannot lock alice out everywhere");
        assert!(limits.login_allowed(Address::repeat_byte(2), ip(1)).is_ok());
    }

    #[test]
    fn success_clears_failures() {
        let limits = Limits::new(LimitSettings { lockout_after: 2, ..Default::default() });
        let alice = Address::repeat_byte(1);
        limits.login_result(alice, ip(1), false);
        limits.login_result(alice, ip(1), true);
        limits.login_result(alice, ip(1), false);
        assert!(limits.login_allowed(alice, ip(1)).is_ok());
    }
}
