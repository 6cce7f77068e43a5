//! What the vault keeps in Redis when one is configured, so that every replica behind a load
//! balancer sees the same state: single-use SIWE nonces, rate-limit buckets (GCRA, on Redis's
//! clock) and failed-login counters with their lockouts. Every key starts with a prefix, so
//! several vaults (or tests) can share one Redis, and every key expires on its own.
//!
//! Errors are [`RedisUnavailable`]; callers refuse the request (503) rather than let it through
//! unchecked.

use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

/// Redis could not be reached, timed out, or answered with an error.
#[derive(Debug, thiserror::Error)]
#[error("Redis is unavailable: {0}")]
pub struct RedisUnavailable(#[from] redis::RedisError);

/// A connection to Redis (reconnecting on its own) and the prefix of every key the vault uses.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the prefix is shown.
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// One attempt to connect or answer takes at most this long, so a dead Redis costs a request
/// about a second before it is refused.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Takes `n` cells from every bucket or from none. KEYS: the buckets' theoretical arrival times
/// (µs on Redis's clock); ARGV: `n`, then per bucket the emission interval `t` and the tolerance
/// `tau` (µs). Returns 0 when taken, else how many µs until all could be. The same decision as
/// governor's GCRA (`check_n`): with `after = max(tat, now) + n t`, allowed when
/// `now >= after - t - tau`, then `tat = after`. For `n = 1` that is `now >= tat - tau`.
static TAKE_CELLS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local n = tonumber(ARGV[1])
local wait = 0
local next = {}
for i, key in ipairs(KEYS) do
  local t = tonumber(ARGV[2 * i])
  local tau = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key)) or now
  local after = math.max(tat, now) + n * t
  if now < after - t - tau then
    wait = math.max(wait, after - t - tau - now)
  else
    next[i] = after
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  local ttl_ms = math.max(1, math.ceil((next[i] - now) / 1000))
  redis.call('SET', key, string.format('%d', next[i]), 'PX', string.format('%d', ttl_ms))
end
return 0
",
    )
});

/// Counts a failure. KEYS: the failure counter, the lock. ARGV: the window (ms), the failures
/// that lock, the lock's length (ms). The window starts at the first failure; reaching the limit
/// sets the lock and starts the count again. Returns the count (0 once locked).
static COUNT_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
if count >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 0
end
return count
",
    )
});

/// A rate-limit bucket: `cells` cells per `period`, all of them available at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub key: String,
    pub cells: u32,
    pub period: Duration,
}

impl Bucket {
    pub fn per_minute(key: String, cells: u32) -> Self {
        Self { key, cells, period: Duration::from_secs(60) }
    }

    pub fn per_hour(key: String, cells: u32) -> Self {
        Self { key, cells, period: Duration::from_secs(3_600) }
    }

    /// The emission interval and the burst tolerance, in µs, as governor's `Quota`.
    fn gcra_micros(&self) -> (u64, u64) {
        let n = u64::from(self.cells.max(1));
        let period = u64::try_from(self.period.as_micros()).unwrap_or(u64::MAX);
        let t = (period / n).max(1);
        (t, t * (n - 1))
    }
}

impl RedisStore {
    /// A store at `url` (`redis://127.0.0.1:6379/`, or `rediss://…` for TLS checked against the
    /// system's roots) whose keys all start with `prefix:`. Connects lazily and reconnects on its
    /// own: a Redis that is down now only makes requests fail (closed) until it is back. Errs on
    /// a malformed URL. Call it inside a Tokio runtime.
    pub fn connect(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        Self::connect_with_ca(url, prefix, None)
    }

    /// [`RedisStore::connect`], trusting the CA certificate `ca_pem` (PEM) for a `rediss://`
    /// server whose certificate a private CA signed. The host name is checked all the same.
    pub fn connect_with_ca(url: &str, prefix: &str, ca_pem: Option<&[u8]>) -> Result<Self, redis::RedisError> {
        let client = match ca_pem {
            None => redis::Client::open(url)?,
            Some(ca) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates { client_tls: None, root_cert: Some(ca.to_vec()) },
            )?,
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self { connection, prefix: prefix.to_owned() })
    }

    /// `prefix:name`: the full key for `name`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// Whether Redis answers.
    pub async fn ping(&self) -> Result<(), RedisUnavailable> {
        let _: String = redis::cmd("PING").query_async(&mut self.connection.clone()).await?;
        Ok(())
    }

    /// Sets `name` if it does not exist yet, expiring after `ttl`; false if it existed.
    pub async fn put_new(&self, name: &str, ttl: Duration) -> Result<bool, RedisUnavailable> {
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(name))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(set.is_some())
    }

    /// Deletes `name`; true if this call deleted it (so, of concurrent calls, exactly one).
    pub async fn take(&self, name: &str) -> Result<bool, RedisUnavailable> {
        let deleted: u64 = self.connection.clone().del(self.key(name)).await?;
        Ok(deleted == 1)
    }

    /// How long `name` still lives, if it exists (and has an expiry).
    pub async fn remaining(&self, name: &str) -> Result<Option<Duration>, RedisUnavailable> {
        let ms: i64 = self.connection.clone().pttl(self.key(name)).await?;
        Ok(u64::try_from(ms).ok().filter(|&ms| ms > 0).map(Duration::from_millis))
    }

    /// Deletes every one of `names`.
    pub async fn delete(&self, names: &[&str]) -> Result<(), RedisUnavailable> {
        let keys: Vec<String> = names.iter().map(|name| self.key(name)).collect();
        let _: u64 = self.connection.clone().del(keys).await?;
        Ok(())
    }

    /// Takes one cell from each bucket, atomically all or none; `Some(wait)` when any is empty.
    pub async fn take_cells(&self, buckets: &[Bucket]) -> Result<Option<Duration>, RedisUnavailable> {
        self.take_n_cells(buckets, 1).await
    }

    /// Takes `n` cells from each bucket, atomically all or none; `Some(wait)` when any has fewer.
    /// `n` must not exceed any bucket's `cells` (it could never be taken).
    pub async fn take_n_cells(&self, buckets: &[Bucket], n: u32) -> Result<Option<Duration>, RedisUnavailable> {
        let mut invocation = TAKE_CELLS.prepare_invoke();
        invocation.arg(n);
        for bucket in buckets {
            let (t, tau) = bucket.gcra_micros();
            invocation.key(self.key(&bucket.key)).arg(t).arg(tau);
        }
        let wait_micros: u64 = invocation.invoke_async(&mut self.connection.clone()).await?;
        Ok((wait_micros > 0).then(|| Duration::from_micros(wait_micros)))
    }

    /// Counts one failure under `counter` within `window`; at `limit` failures sets `lock` for
    /// `lock_for` and starts counting again. True if this failure set the lock.
    pub async fn count_failure(
        &self,
        counter: &str,
        lock: &str,
        window: Duration,
        limit: u32,
        lock_for: Duration,
    ) -> Result<bool, RedisUnavailable> {
        let count: u64 = COUNT_FAILURE
            .key(self.key(counter))
            .key(self.key(lock))
            .arg(millis(window))
            .arg(limit)
            .arg(millis(lock_for))
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(count == 0)
    }
}

/// A TTL in whole milliseconds, at least 1 (Redis refuses 0).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_governors_per_minute_quota() {
        let bucket = |per_minute| Bucket::per_minute("k".into(), per_minute).gcra_micros();
        assert_eq!(bucket(1), (60_000_000, 0), "one at a time, one a minute");
        assert_eq!(bucket(30), (2_000_000, 58_000_000), "a burst of 30, then one every 2 s");
        assert_eq!(bucket(0), (60_000_000, 0), "zero is treated as one, as in memory");
        assert_eq!(bucket(u32::MAX).0, 1, "never a zero interval");
        assert_eq!(Bucket::per_hour("k".into(), 60).gcra_micros(), (60_000_000, 3_540_000_000), "one a minute");
    }

    #[test]
    fn ttls_are_whole_positive_milliseconds() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1_500)), 1);
        assert_eq!(millis(Duration::from_secs(300)), 300_000);
    }
}
