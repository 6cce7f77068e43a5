//! Share-link passcodes, hashed and checked with Argon2id (the crate's defaults, OWASP's minimum:
//! 19 MiB and 2 passes each). Each hash holds 19 MiB for its whole run, so a stranger who starts
//! hundreds at once could take the process's memory and every blocking thread: at most one hash
//! per core runs at a time in this process, the rest wait their turn (holding only their request).
//! How many links an account may create a minute is bounded in [`crate::limits`]. Checks of one
//! link's passcode take turns ([`turn`]), so a right passcode is never refused for attempts that
//! guesses running beside it hold for a moment.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

/// Why a hash could not be made or checked (never the passcode itself).
#[derive(Debug, thiserror::Error)]
pub enum PasscodeError {
    #[error("passcode hashing failed: {0}")]
    Hashing(String),
}

/// The permits for running Argon2 at once: the machine's cores, at least 1.
fn running() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Runs one Argon2 computation when a permit is free, off the async workers.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, PasscodeError> {
    let _permit = running().acquire().await.map_err(|err| PasscodeError::Hashing(err.to_string()))?;
    tokio::task::spawn_blocking(work).await.map_err(|err| PasscodeError::Hashing(err.to_string()))
}

/// The PHC string of `passcode` under a fresh random salt.
pub async fn hash(passcode: String) -> Result<String, PasscodeError> {
    use argon2::PasswordHasher;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|err| PasscodeError::Hashing(err.to_string()))?;
    bounded(move || {
        let salt = argon2::password_hash::SaltString::encode_b64(&salt)?;
        argon2::Argon2::default().hash_password(passcode.as_bytes(), &salt).map(|hash| hash.to_string())
    })
    .await?
    .map_err(|err| PasscodeError::Hashing(err.to_string()))
}

/// Whether `given` is the passcode hashed in `hash` (compared in constant time by the crate).
pub async fn verify(hash: String, given: String) -> Result<bool, PasscodeError> {
    use argon2::PasswordVerifier;
    bounded(move || {
        let parsed = argon2::PasswordHash::new(&hash).map_err(|err| err.to_string())?;
        Ok::<bool, String>(argon2::Argon2::default().verify_password(given.as_bytes(), &parsed).is_ok())
    })
    .await?
    .map_err(PasscodeError::Hashing)
}

/// A turn at checking `link_id`'s passcode: one check of a link at a time in this process (64
/// locks shared by hash of the id, so memory stays fixed whatever ids strangers send).
pub async fn turn(link_id: &str) -> tokio::sync::MutexGuard<'static, ()> {
    use std::hash::{BuildHasher, Hasher};
    static TURNS: OnceLock<(std::collections::hash_map::RandomState, Vec<tokio::sync::Mutex<()>>)> = OnceLock::new();
    let (hasher, locks) = TURNS.get_or_init(|| (Default::default(), (0..64).map(|_| Default::default()).collect()));
    let mut h = hasher.build_hasher();
    h.write(link_id.as_bytes());
    locks[(h.finish() % locks.len() as u64) as usize].lock().await
}

/// How many hashes run now (for the tests and the metrics).
pub fn running_now() -> usize {
    let permits = std::thread::available_parallelism().map_or(2, |n| n.get());
    permits - running().available_permits()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_one_hash_per_core_runs_at_once() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hashes: Vec<_> = (0..cores * 4).map(|i| tokio::spawn(hash(format!("passcode-{i}")))).collect();
        let mut most = 0;
        while hashes.iter().any(|h| !h.is_finished()) {
            most = most.max(running_now());
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        assert!(most >= 1 && most <= cores, "{most} hashes ran at once on {cores} cores");
        let first = hashes.into_iter().next().unwrap().await.unwrap().unwrap();
        assert!(verify(first.clone(), "passcode-0".into()).await.unwrap());
        assert!(!verify(first, "passcode-1".into()).await.unwrap());
    }
}
