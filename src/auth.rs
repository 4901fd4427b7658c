//! Password hashing with argon2id, checking a password against a hash, and
//! the bounded pool of threads the server does both on.
//!
//! Why a pool of its own: argon2id is built to be expensive. With the default
//! parameters one hash takes 19 MiB of work memory and tens of milliseconds of
//! CPU. Run on tokio's blocking pool (up to 512 threads), a burst of logons ran
//! hundreds of hashes at once, and glibc kept each thread's 19 MiB after it was
//! done: 2,000 logons left the server at 1.38 GB. The [`PasswordPool`] runs
//! hashes on a fixed number of threads, each of which owns one block buffer
//! and reuses it for every hash, so the memory argon2 holds is
//! `threads × 19 MiB` however many logons there are. Requests wait in a
//! bounded queue; when it is full the caller is told at once
//! ([`PoolError::Busy`]) instead of piling up work a client will have given
//! up on before it is done.
//!
//! The free functions [`hash_password`] and [`verify_password`] hash on the
//! caller's thread with a buffer of their own, for one-off uses (start-up,
//! the admin's first password, tests).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The most work memory a stored hash may ask for (in KiB, argon2's unit).
/// okapi's own hashes use 19 MiB; a hash that asks for far more did not come
/// from okapi, and would let one row of the user table take the server's memory.
const MAX_MEMORY_KIB: usize = 256 * 1024;

/// What a logon checks the password against when the user does not exist:
/// a hash with okapi's own parameters (of a password nobody knows), so that an
/// unknown name costs the same argon2 work as a known one and its time does
/// not tell which names exist.
pub const UNKNOWN_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$b2thcGkgdW5rbm93biB1c2Vy$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Hashes a password into a PHC string (argon2id, default parameters).
pub fn hash_password(password: &str) -> Result<String, String> {
    hash_with(&mut Vec::new(), password)
}

/// True if the password matches the hash. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    verify_with(&mut Vec::new(), password, hash)
}

/// Hashes with `blocks` as argon2's work memory, growing it if needed.
fn hash_with(blocks: &mut Vec<Block>, password: &str) -> Result<String, String> {
    let params = Params::default();
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| e.to_string())?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let memory = work_memory(blocks, params.block_count());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, memory)
        .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Checks with `blocks` as argon2's work memory, growing it if needed.
fn verify_with(blocks: &mut Vec<Block>, password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version {
        Some(v) => Version::try_from(v),
        None => Ok(Version::default()),
    };
    let (Ok(version), Ok(params)) = (version, Params::try_from(&parsed)) else {
        return false;
    };
    if params.block_count() > MAX_MEMORY_KIB {
        tracing::warn!(
            memory_kib = params.block_count(),
            "a stored password hash asks for more work memory than okapi allows; it never matches"
        );
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let memory = work_memory(blocks, params.block_count());
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut out,
        memory,
    );
    // Output's equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

/// The first `count` blocks of `blocks`, which grows to hold them.
fn work_memory(blocks: &mut Vec<Block>, count: usize) -> &mut [Block] {
    if blocks.len() < count {
        blocks.resize(count, Block::default());
    }
    &mut blocks[..count]
}

/// Why the pool did not do the work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// Every thread is hashing and the queue is full; try again in a moment.
    #[error("the server is checking too many passwords at once; try again in a moment")]
    Busy,
    /// The pool's threads are gone (the server is stopping, or one panicked).
    #[error("the password threads have stopped")]
    Stopped,
    /// argon2 refused the input (it never does for okapi's parameters).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

enum Work {
    Verify { password: String, hash: String },
    Hash { password: String },
}

enum Outcome {
    Verified(bool),
    Hashed(Result<String, String>),
}

struct Job {
    work: Work,
    reply: tokio::sync::oneshot::Sender<Outcome>,
}

/// Counts of hashes running now and the most that ever ran at once.
#[derive(Default)]
struct Gauge {
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// A fixed set of threads that hash and check passwords, each reusing one
/// argon2 work buffer, behind a queue with a bound.
pub struct PasswordPool {
    jobs: SyncSender<Job>,
    gauge: Arc<Gauge>,
    threads: usize,
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("threads", &self.threads)
            .field("running", &self.gauge.running.load(Ordering::Relaxed))
            .finish()
    }
}

impl PasswordPool {
    /// Starts `threads` hashing threads (0: one per core, at most 4) with room
    /// for `queue` waiting requests beyond those being hashed.
    ///
    /// The default caps at 4 because each thread keeps its 19 MiB buffer for
    /// good; four threads check well over a hundred passwords a second, more
    /// than a server sees outside an attack.
    pub fn new(threads: usize, queue: usize) -> PasswordPool {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            n => n,
        };
        let (jobs, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        let gauge = Arc::new(Gauge::default());
        for n in 0..threads {
            let (rx, gauge) = (rx.clone(), gauge.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("okapi-argon2-{n}"))
                .spawn(move || work(&rx, &gauge));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        PasswordPool { jobs, gauge, threads }
    }

    /// How many hashing threads there are.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Checks a password against its stored hash.
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, PoolError> {
        let work = Work::Verify {
            password: password.to_string(),
            hash: hash.to_string(),
        };
        match self.submit(work).await? {
            Outcome::Verified(ok) => Ok(ok),
            Outcome::Hashed(_) => Err(PoolError::Stopped),
        }
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: &str) -> Result<String, PoolError> {
        let work = Work::Hash {
            password: password.to_string(),
        };
        match self.submit(work).await? {
            Outcome::Hashed(r) => r.map_err(PoolError::Hash),
            Outcome::Verified(_) => Err(PoolError::Stopped),
        }
    }

    async fn submit(&self, work: Work) -> Result<Outcome, PoolError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        match self.jobs.try_send(Job { work, reply }) {
            Ok(()) => answer.await.map_err(|_| PoolError::Stopped),
            Err(TrySendError::Full(_)) => Err(PoolError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(PoolError::Stopped),
        }
    }

    /// The most hashes that ran at the same moment since the pool started.
    #[doc(hidden)]
    pub fn peak_running(&self) -> usize {
        self.gauge.peak.load(Ordering::SeqCst)
    }
}

/// One hashing thread: takes jobs until the pool is dropped.
fn work(jobs: &Mutex<Receiver<Job>>, gauge: &Gauge) {
    let mut blocks: Vec<Block> = Vec::new();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let now = gauge.running.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.peak.fetch_max(now, Ordering::SeqCst);
        let outcome = match job.work {
            Work::Verify { password, hash } => Outcome::Verified(verify_with(&mut blocks, &password, &hash)),
            Work::Hash { password } => Outcome::Hashed(hash_with(&mut blocks, &password)),
        };
        gauge.running.fetch_sub(1, Ordering::SeqCst);
        // The caller may have gone (its client hung up); nothing to tell then.
        let _ = job.reply.send(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_argon2id() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    /// Hashes made by the argon2 crate's own PHC path (as every hash stored
    /// before the pool existed was) still verify, and the other way round.
    #[test]
    fn hashes_agree_with_the_crates_own_phc_path() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::encode_b64(b"sixteen byte sal").unwrap();
        let old = Argon2::default()
            .hash_password("Grüße 🎉".as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("Grüße 🎉", &old));
        assert!(!verify_password("Grüsse 🎉", &old));
        let new = hash_password("Ελληνικά").unwrap();
        let parsed = PasswordHash::new(&new).unwrap();
        assert!(
            Argon2::default()
                .verify_password("Ελληνικά".as_bytes(), &parsed)
                .is_ok()
        );
    }

    /// The stand-in for unknown users costs what okapi's own hashes cost.
    #[test]
    fn the_unknown_user_hash_has_the_parameters_of_real_ones() {
        let real = PasswordHash::new(&hash_password("x").unwrap())
            .unwrap()
            .params
            .to_string();
        let dummy = PasswordHash::new(UNKNOWN_USER_HASH).unwrap();
        assert_eq!(dummy.params.to_string(), real);
        assert_eq!(dummy.hash.unwrap().len(), Params::DEFAULT_OUTPUT_LEN);
        assert!(!verify_password("", UNKNOWN_USER_HASH));
    }

    #[test]
    fn hashes_asking_for_too_much_memory_never_match() {
        let greedy =
            "$argon2id$v=19$m=4194304,t=1,p=1$c2l4dGVlbiBieXRlIHNhbA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify_password("x", greedy));
    }

    #[tokio::test]
    async fn the_pool_hashes_checks_and_refuses_when_full() {
        let pool = Arc::new(PasswordPool::new(1, 1));
        let h = pool.hash("密码").await.unwrap();
        assert!(pool.verify("密码", &h).await.unwrap());
        assert!(!pool.verify("كلمة", &h).await.unwrap());
        // One running, one waiting, the rest refused at once.
        let mut tries = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (pool, h) = (pool.clone(), h.clone());
            tries.spawn(async move { pool.verify("x", &h).await });
        }
        let results = tries.join_all().await;
        assert!(results.contains(&Err(PoolError::Busy)), "{results:?}");
        assert!(results.contains(&Ok(false)), "{results:?}");
        assert_eq!(pool.peak_running(), 1);
    }
}
