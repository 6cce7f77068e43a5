//! Rate limits on login and key release (per address and per client IP), and a lockout after
//! repeated failed logins. In memory (governor's GCRA) per vault process by default; in Redis
//! ([`RedisStore`], the same GCRA on Redis's clock) when several replicas must share them. With
//! Redis, a request the limits cannot be checked for is refused ([`LimitError::Unavailable`]),
//! never let through.
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

use crate::redis_store::{Bucket, RedisStore, RedisUnavailable};

#[derive(Clone, Copy, Debug)]
pub struct LimitSettings {
    pub login_per_ip_per_minute: u32,
    /// Records a provider may have released a minute (a batch counts each record).
    pub release_per_address_per_minute: u32,
    /// Records released to one client address a minute.
    pub release_per_ip_per_minute: u32,
    /// Patients a provider may open records of for the first time in an hour: a clinic opens a
    /// large chart in one call, a provider sweeping through many patients is stopped.
    pub patients_per_address_per_hour: u32,
    /// Directory reads (searches and lookups) from one client IP a minute: the directory is public,
    /// so this is what keeps a scraper or a flood from tying up the database.
    pub directory_per_ip_per_minute: u32,
    /// SMART Health Link manifest and file requests from one client IP a minute: they are public,
    /// and passcodes must not be guessed at speed (each link also counts its own wrong ones).
    pub share_link_per_ip_per_minute: u32,
    /// Share links one account may create a minute: each passcode costs an Argon2 hash (19 MiB).
    pub share_links_per_address_per_minute: u32,
    /// Requests for one link a minute, from anyone: each is stored in her list of the link's uses
    /// with the name the requester typed, so a stranger cannot fill that list.
    pub share_link_uses_per_link_per_minute: u32,
    /// Failed logins from one IP for one address before it is locked out.
    pub lockout_after: u32,
    pub lockout_window: Duration,
    pub lockout_for: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            login_per_ip_per_minute: 30,
            release_per_address_per_minute: 6_000,
            release_per_ip_per_minute: 12_000,
            patients_per_address_per_hour: 200,
            directory_per_ip_per_minute: 300,
            share_link_per_ip_per_minute: 60,
            share_links_per_address_per_minute: 10,
            share_link_uses_per_link_per_minute: 40,
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

impl std::fmt::Display for Throttled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RateLimited { retry_after } => write!(f, "rate limited for {retry_after:?}"),
            Self::LockedOut { retry_after } => write!(f, "locked out for {retry_after:?}"),
        }
    }
}

/// A request the limits turn away: throttled, or (with Redis) not checkable, so refused.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("{0}")]
    Throttled(Throttled),
    /// More records in one request than the per-minute allowance: it could never be served.
    #[error("{records} records in one request is more than the {allowed} a minute allowed")]
    TooMany { records: u32, allowed: u32 },
    #[error(transparent)]
    Unavailable(#[from] RedisUnavailable),
}

impl From<Throttled> for LimitError {
    fn from(throttled: Throttled) -> Self {
        Self::Throttled(throttled)
    }
}

#[derive(Clone, Debug)]
pub struct Limits {
    settings: LimitSettings,
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Memory(Arc<InMemory>),
    Redis(RedisStore),
}

#[derive(Debug)]
struct InMemory {
    login_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    release_by_address: DefaultKeyedRateLimiter<Address>,
    release_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    new_patients_by_address: DefaultKeyedRateLimiter<Address>,
    directory_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    share_link_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    share_link_created_by_address: DefaultKeyedRateLimiter<Address>,
    share_link_uses_by_link: DefaultKeyedRateLimiter<String>,
    /// (provider, patient) pairs that took a new-patient cell, and when: a patient counts once an hour.
    patients_seen: Mutex<HashMap<(Address, Address), Instant>>,
    failures: Mutex<HashMap<(Address, IpAddr), Failures>>,
}

/// How long a (provider, patient) pair counts as seen for the new-patients limit.
const PATIENT_SEEN_FOR: Duration = Duration::from_secs(3_600);

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least 1"))
}

/// Takes `n` cells for `key`, or none.
fn take_n<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K, n: NonZeroU32) -> Result<(), Throttled> {
    match limiter.check_key_n(key, n) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(not_until)) => {
            Err(Throttled::RateLimited { retry_after: not_until.wait_time_from(DefaultClock::default().now()) })
        }
        // Larger than the burst: refused by `release_attempts` before it gets here.
        Err(_) => Err(Throttled::RateLimited { retry_after: Duration::from_secs(60) }),
    }
}

fn check<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), Throttled> {
    limiter.check_key(key).map_err(|not_until| Throttled::RateLimited {
        retry_after: not_until.wait_time_from(DefaultClock::default().now()),
    })
}

/// Redis key names (under the store's prefix).
fn login_bucket(ip: IpAddr) -> String {
    format!("limit:login:ip:{ip}")
}
fn directory_bucket(ip: IpAddr) -> String {
    format!("limit:directory:ip:{ip}")
}
fn share_link_bucket(ip: IpAddr) -> String {
    format!("limit:share-link:ip:{ip}")
}
fn share_link_uses_bucket(link: &str) -> String {
    format!("limit:share-link-uses:link:{link}")
}
fn share_link_creation_bucket(address: Address) -> String {
    format!("limit:share-link-create:address:{address}")
}
fn release_address_bucket(address: Address) -> String {
    format!("limit:release:address:{address}")
}
fn release_ip_bucket(ip: IpAddr) -> String {
    format!("limit:release:ip:{ip}")
}
fn new_patients_bucket(provider: Address) -> String {
    format!("limit:patients:address:{provider}")
}
fn patient_seen_key(provider: Address, patient: Address) -> String {
    format!("limit:patients:seen:{provider}:{patient}")
}
fn failures_key(address: Address, ip: IpAddr) -> String {
    format!("lockout:failures:{address}:{ip}")
}
fn locked_key(address: Address, ip: IpAddr) -> String {
    format!("lockout:locked:{address}:{ip}")
}

impl Limits {
    /// Limits kept in this process's memory.
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            settings,
            backend: Backend::Memory(Arc::new(InMemory {
                login_by_ip: RateLimiter::dashmap(per_minute(settings.login_per_ip_per_minute)),
                release_by_address: RateLimiter::dashmap(per_minute(settings.release_per_address_per_minute)),
                release_by_ip: RateLimiter::dashmap(per_minute(settings.release_per_ip_per_minute)),
                new_patients_by_address: RateLimiter::dashmap(Quota::per_hour(
                    NonZeroU32::new(settings.patients_per_address_per_hour.max(1)).expect("at least 1"),
                )),
                directory_by_ip: RateLimiter::dashmap(per_minute(settings.directory_per_ip_per_minute)),
                share_link_by_ip: RateLimiter::dashmap(per_minute(settings.share_link_per_ip_per_minute)),
                share_link_created_by_address: RateLimiter::dashmap(per_minute(
                    settings.share_links_per_address_per_minute,
                )),
                share_link_uses_by_link: RateLimiter::dashmap(per_minute(settings.share_link_uses_per_link_per_minute)),
                patients_seen: Mutex::default(),
                failures: Mutex::default(),
            })),
        }
    }

    /// The same limits, kept in Redis from now on and shared by every vault using `store`.
    pub fn with_redis(self, store: RedisStore) -> Self {
        Self { settings: self.settings, backend: Backend::Redis(store) }
    }

    pub fn settings(&self) -> LimitSettings {
        self.settings
    }

    /// Whether the limits live in Redis (shared) rather than in this process.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Redis(_))
    }

    /// Before a login attempt (nonce or login request) from `ip`.
    pub async fn login_attempt(&self, ip: IpAddr) -> Result<(), LimitError> {
        match &self.backend {
            Backend::Memory(memory) => Ok(check(&memory.login_by_ip, &ip)?),
            Backend::Redis(store) => {
                let bucket = Bucket::per_minute(login_bucket(ip), self.settings.login_per_ip_per_minute);
                rate_limited(store.take_cells(&[bucket]).await?)
            }
        }
    }

    /// Before a directory search or lookup from `ip`.
    pub async fn directory_read(&self, ip: IpAddr) -> Result<(), LimitError> {
        match &self.backend {
            Backend::Memory(memory) => Ok(check(&memory.directory_by_ip, &ip)?),
            Backend::Redis(store) => {
                let bucket = Bucket::per_minute(directory_bucket(ip), self.settings.directory_per_ip_per_minute);
                rate_limited(store.take_cells(&[bucket]).await?)
            }
        }
    }

    /// Before a share link's manifest or file request from `ip`.
    pub async fn share_link_read(&self, ip: IpAddr) -> Result<(), LimitError> {
        match &self.backend {
            Backend::Memory(memory) => Ok(check(&memory.share_link_by_ip, &ip)?),
            Backend::Redis(store) => {
                let bucket = Bucket::per_minute(share_link_bucket(ip), self.settings.share_link_per_ip_per_minute);
                rate_limited(store.take_cells(&[bucket]).await?)
            }
        }
    }

    /// Before a request for the existing link `link` is stored among its uses.
    pub async fn share_link_use(&self, link: &str) -> Result<(), LimitError> {
        match &self.backend {
            Backend::Memory(memory) => Ok(check(&memory.share_link_uses_by_link, &link.to_owned())?),
            Backend::Redis(store) => {
                let bucket =
                    Bucket::per_minute(share_link_uses_bucket(link), self.settings.share_link_uses_per_link_per_minute);
                rate_limited(store.take_cells(&[bucket]).await?)
            }
        }
    }

    /// Before `address` creates a share link.
    pub async fn share_link_creation(&self, address: Address) -> Result<(), LimitError> {
        match &self.backend {
            Backend::Memory(memory) => Ok(check(&memory.share_link_created_by_address, &address)?),
            Backend::Redis(store) => {
                let bucket = Bucket::per_minute(
                    share_link_creation_bucket(address),
                    self.settings.share_links_per_address_per_minute,
                );
                rate_limited(store.take_cells(&[bucket]).await?)
            }
        }
    }

    /// Before verifying a login for `address` from `ip`: refused while locked out.
    pub async fn login_allowed(&self, address: Address, ip: IpAddr) -> Result<(), LimitError> {
        let remaining = match &self.backend {
            Backend::Memory(memory) => {
                let failures = memory.failures.lock().expect("lock");
                let now = Instant::now();
                failures.get(&(address, ip)).and_then(|f| f.locked_until).filter(|&u| u > now).map(|u| u - now)
            }
            Backend::Redis(store) => store.remaining(&locked_key(address, ip)).await?,
        };
        match remaining {
            Some(retry_after) => Err(Throttled::LockedOut { retry_after }.into()),
            None => Ok(()),
        }
    }

    /// Records the outcome of a login: failures accumulate within the window; success clears them.
    pub async fn login_result(&self, address: Address, ip: IpAddr, succeeded: bool) -> Result<(), LimitError> {
        let memory = match &self.backend {
            Backend::Memory(memory) => memory,
            Backend::Redis(store) if succeeded => {
                return Ok(store.delete(&[&failures_key(address, ip), &locked_key(address, ip)]).await?);
            }
            Backend::Redis(store) => {
                let s = &self.settings;
                let (counter, lock) = (failures_key(address, ip), locked_key(address, ip));
                store.count_failure(&counter, &lock, s.lockout_window, s.lockout_after, s.lockout_for).await?;
                return Ok(());
            }
        };
        let mut failures = memory.failures.lock().expect("lock");
        if succeeded {
            failures.remove(&(address, ip));
            return Ok(());
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
        Ok(())
    }

    /// Before a key release for `provider` from `ip`.
    pub async fn release_attempt(&self, provider: Address, ip: IpAddr) -> Result<(), LimitError> {
        self.release_attempts(provider, ip, 1).await
    }

    /// Before releasing `records` keys at once (a batch) for `provider` from `ip`: each record
    /// takes a cell, all or none.
    pub async fn release_attempts(&self, provider: Address, ip: IpAddr, records: u32) -> Result<(), LimitError> {
        let s = &self.settings;
        let allowed = s.release_per_address_per_minute.min(s.release_per_ip_per_minute).max(1);
        if records > allowed {
            return Err(LimitError::TooMany { records, allowed });
        }
        let Some(n) = NonZeroU32::new(records) else { return Ok(()) };
        match &self.backend {
            // In memory the two are taken one after the other (as governor offers no joint take):
            // cells a refused request took from the address stay taken.
            Backend::Memory(memory) => {
                take_n(&memory.release_by_address, &provider, n)?;
                Ok(take_n(&memory.release_by_ip, &ip, n)?)
            }
            Backend::Redis(store) => {
                let buckets = [
                    Bucket::per_minute(release_address_bucket(provider), s.release_per_address_per_minute),
                    Bucket::per_minute(release_ip_bucket(ip), s.release_per_ip_per_minute),
                ];
                rate_limited(store.take_n_cells(&buckets, records).await?)
            }
        }
    }

    /// Before releasing anything of `patient`'s to `provider`: a patient the provider has not
    /// opened records of in the last hour takes a cell of its new-patients allowance.
    pub async fn patient_opened(&self, provider: Address, patient: Address) -> Result<(), LimitError> {
        match &self.backend {
            Backend::Memory(memory) => {
                let now = Instant::now();
                let mut seen = memory.patients_seen.lock().expect("lock");
                if seen.get(&(provider, patient)).is_some_and(|at| now.duration_since(*at) < PATIENT_SEEN_FOR) {
                    return Ok(());
                }
                check(&memory.new_patients_by_address, &provider)?;
                seen.insert((provider, patient), now);
                Ok(())
            }
            Backend::Redis(store) => {
                let seen = patient_seen_key(provider, patient);
                if !store.put_new(&seen, PATIENT_SEEN_FOR).await? {
                    return Ok(());
                }
                let bucket =
                    Bucket::per_hour(new_patients_bucket(provider), self.settings.patients_per_address_per_hour);
                let wait = store.take_cells(&[bucket]).await?;
                if wait.is_some() {
                    // Not opened after all: the next attempt must count again.
                    store.delete(&[&seen]).await?;
                }
                rate_limited(wait)
            }
        }
    }

    /// Forgets idle keys so memory stays bounded (call periodically). Redis keys expire on
    /// their own.
    pub fn shrink(&self) {
        let Backend::Memory(memory) = &self.backend else { return };
        memory.login_by_ip.retain_recent();
        memory.release_by_address.retain_recent();
        memory.release_by_ip.retain_recent();
        memory.new_patients_by_address.retain_recent();
        memory.directory_by_ip.retain_recent();
        memory.share_link_by_ip.retain_recent();
        let now = Instant::now();
        memory.patients_seen.lock().expect("lock").retain(|_, at| now.duration_since(*at) < PATIENT_SEEN_FOR);
        let window = self.settings.lockout_window;
        memory
            .failures
            .lock()
            .expect("lock")
            .retain(|_, f| f.locked_until.is_some_and(|u| u > now) || now.duration_since(f.since) <= window);
    }
}

fn rate_limited(wait: Option<Duration>) -> Result<(), LimitError> {
    match wait {
        Some(retry_after) => Err(Throttled::RateLimited { retry_after }.into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[tokio::test]
    async fn rate_limits_are_per_key() {
        let limits = Limits::new(LimitSettings { login_per_ip_per_minute: 2, ..Default::default() });
        assert!(limits.login_attempt(ip(1)).await.is_ok() && limits.login_attempt(ip(1)).await.is_ok());
        assert!(matches!(limits.login_attempt(ip(1)).await, Err(LimitError::Throttled(Throttled::RateLimited { .. }))));
        assert!(limits.login_attempt(ip(2)).await.is_ok(), "another client is unaffected");
    }

    #[tokio::test]
    async fn failed_logins_lock_out_that_address_from_that_ip_only() {
        let limits = Limits::new(LimitSettings { lockout_after: 3, ..Default::default() });
        let alice = Address::repeat_byte(1);
        for _ in 0..2 {
            limits.login_result(alice, ip(1), false).await.unwrap();
        }
        assert!(limits.login_allowed(alice, ip(1)).await.is_ok());
        limits.login_result(alice, ip(1), false).await.unwrap();
        assert!(matches!(
            limits.login_allowed(alice, ip(1)).await,
            Err(LimitError::Throttled(Throttled::LockedOut { .. }))
        ));
        assert!(
            limits.login_allowed(alice, ip(2)).await.is_ok(),
            "a flood from one IP cannot lock alice out everywhere"
        );
        assert!(limits.login_allowed(Address::repeat_byte(2), ip(1)).await.is_ok());
    }

    #[tokio::test]
    async fn success_clears_failures() {
        let limits = Limits::new(LimitSettings { lockout_after: 2, ..Default::default() });
        let alice = Address::repeat_byte(1);
        limits.login_result(alice, ip(1), false).await.unwrap();
        limits.login_result(alice, ip(1), true).await.unwrap();
        limits.login_result(alice, ip(1), false).await.unwrap();
        assert!(limits.login_allowed(alice, ip(1)).await.is_ok());
    }
}
