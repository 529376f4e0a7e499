//! The second cache level, behind the process cache: tokens shared by every process of the
//! user on this host (the file backend) or of a whole fleet (the Redis backend), so short-lived
//! processes (scripts, cron jobs, the CLI, pre-forked workers) and many hosts mint one token
//! per key per lifetime instead of one each.
//!
//! - A process-cache hit never touches it; it is read on a process-cache miss and when a
//!   refresh is due (the fetch then adopts a newer token another process published).
//! - Single flight across processes: one process per key holds the key's lock (`flock` on a
//!   lock file; Redis `SET NX PX` with a random value, released only by its owner), re-reads,
//!   fetches, publishes and releases; the others wait (bounded by the request timeout) and
//!   read what was published. A holder killed with `kill -9` releases its `flock` with its
//!   file descriptors; its Redis lock lapses after its TTL.
//! - Entries are sealed (ChaCha20-Poly1305, key from HKDF-SHA256 over the client's credential
//!   and the cache key); their names are digests under a key derived the same way. Without the
//!   credential an entry can neither be found, read nor forged; a tampered or foreign entry is
//!   ignored and replaced.
//! - Clocks: every value is sealed with the end of its life ([`Stored`]), so that whoever can
//!   write to the storage without the credential can neither lengthen a life nor bring back
//!   an expired value (review N2, N12). A file entry's end is on this host's wall clock and,
//!   for readers of the same boot, on the suspend-aware boot clock too (a wall clock stepped
//!   back does not lengthen it); a Redis entry's end is on Redis's own clock (`TIME` at the
//!   write and at the read), and its `PTTL` can only shorten it. A token is never served past
//!   its expiry, even after a suspend.
//! - It never makes `get_token` fail: on any error the client fetches directly, counts the
//!   failure (`shared_errors`) and warns at most once a minute.

#[cfg(unix)]
mod file;
mod redis;
mod seal;

/// Elsewhere there is no file backend yet: opening one is a configuration error.
#[cfg(not(unix))]
mod file {
    use super::EntryKey;
    use crate::error::{Error, Result};
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use std::path::Path;
    use std::time::Duration;

    pub(crate) struct FileLevel;
    pub(crate) struct LockGuard;

    impl FileLevel {
        pub fn open(_: Option<&Path>) -> Result<Self> {
            Err(Error::config("the file shared cache needs a Unix system"))
        }
        pub async fn read<T: DeserializeOwned>(&self, _: &EntryKey) -> Result<Option<T>> {
            Ok(None)
        }
        pub fn read_now<T: DeserializeOwned>(&self, _: &EntryKey) -> Result<Option<T>> {
            Ok(None)
        }
        pub async fn write<T: Serialize>(&self, _: &EntryKey, _: &super::Stored<T>) -> Result<()> {
            Ok(())
        }
        pub fn remove_now(&self, _: &EntryKey) {}
        pub async fn lock(&self, _: &EntryKey, _: Duration) -> Result<Option<LockGuard>> {
            Ok(None)
        }
    }
}

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use self::redis::RedisLevel;
use file::FileLevel;
pub(crate) use seal::EntryKey;

/// Where tokens are shared beyond the process
/// ([`ClientConfig::shared_cache`](crate::ClientConfig::shared_cache)).
///
/// A second cache level behind the process cache, off by default: with it, the processes of
/// the user on this host (`File`) or of a fleet (`Redis`) share one token per key per
/// lifetime. Its failures never fail a call: the client then fetches directly and counts
/// [`Stats::shared_errors`](crate::Stats::shared_errors).
///
/// # Example
///
/// ```
/// use tokenkeeper::{ClientConfig, Credentials, SharedCache};
///
/// assert_eq!(SharedCache::parse("file")?, SharedCache::File { dir: None });
/// assert!(SharedCache::parse("file:relative/dir").is_err()); // absolute paths only
/// assert_eq!(SharedCache::parse_optional(Some(""))?, None); // off
///
/// // Parsing connects to nothing.
/// let redis = SharedCache::parse("redis://cache.internal:6379/0")?;
/// let config = ClientConfig::new("tenant.auth0.com", "client-id", Credentials::client_secret("…"))
///     .shared_cache(redis);
/// assert!(config.shared().is_some());
/// # Ok::<(), tokenkeeper::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SharedCache {
    /// A per-user directory on this host: `dir`, or the platform's cache directory +
    /// `tokenkeeper` (`$XDG_CACHE_HOME/tokenkeeper`, `~/.cache/tokenkeeper`,
    /// `~/Library/Caches/tokenkeeper`).
    File {
        /// The directory; `None` for the platform's cache directory.
        dir: Option<PathBuf>,
    },
    /// A Redis server shared by a fleet: `redis://[user:password@]host:6379/0`,
    /// `rediss://…` (TLS) or `unix:///path/redis.sock[?db=0&pass=…]`, as given. Its password
    /// is never shown (`Debug` redacts it).
    Redis {
        /// The server's URL, as given.
        url: String,
    },
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File { dir } => f.debug_struct("File").field("dir", dir).finish(),
            Self::Redis { url } => f
                .debug_struct("Redis")
                .field("url", &crate::http::shown(url))
                .finish(),
        }
    }
}

impl SharedCache {
    /// `"file"` (the default directory), `"file:/some/dir"`, or a Redis URL (`redis://…`,
    /// `rediss://…`, `unix:///path/redis.sock`).
    ///
    /// See the example on [`SharedCache`].
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s == "file" {
            return Ok(Self::File { dir: None });
        }
        if let Some(dir) = s.strip_prefix("file:") {
            let dir = dir.strip_prefix("//").unwrap_or(dir);
            if dir.is_empty() {
                return Err(Error::config("shared cache \"file:\" needs a directory"));
            }
            if !dir.starts_with('/') {
                return Err(Error::config(format!(
                    "shared cache directory {:?} is not an absolute path",
                    crate::text::truncate(dir, 64)
                )));
            }
            return Ok(Self::File {
                dir: Some(PathBuf::from(dir)),
            });
        }
        if ["redis://", "rediss://", "unix://"]
            .iter()
            .any(|p| s.starts_with(p))
        {
            RedisLevel::open(s)?;
            return Ok(Self::Redis { url: s.to_string() });
        }
        // A mistyped URL may hold a password: never echo one.
        let shown = crate::http::shown(s);
        Err(Error::config(format!(
            "unknown shared cache {:?}: expected \"file\", \"file:/some/dir\", \"redis://…\", \"rediss://…\" or \"unix:///path/redis.sock\"",
            crate::text::truncate(&shown, 64)
        )))
    }

    /// [`Self::parse`] for surfaces where no level is a value: `None`, an empty or blank
    /// string mean "off", the same on every surface.
    ///
    /// See the example on [`SharedCache`].
    pub fn parse_optional(s: Option<&str>) -> Result<Option<Self>> {
        match s.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => Self::parse(s).map(Some),
        }
    }

    /// `TOKENKEEPER_SHARED_CACHE`, if set and not empty.
    ///
    /// See the example on [`SharedCache`].
    pub fn from_env() -> Result<Option<Self>> {
        Self::parse_optional(std::env::var("TOKENKEEPER_SHARED_CACHE").ok().as_deref())
    }
}

/// Every value the level stores, sealed together with the end of its life: the storage's own
/// expiry (a file's times, Redis's `PTTL`) can shorten a life but never lengthen it.
#[derive(Serialize, Deserialize)]
pub(crate) struct Stored<T> {
    pub v: T,
    /// The end of its life, in milliseconds since the Unix epoch on the level's clock: this
    /// host's wall clock (file), Redis's `TIME` (Redis).
    pub until_ms: u64,
    /// File level: the boot it was written in, and the end of its life on that boot's
    /// suspend-aware clock. A reader of the same boot holds it to both ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<BootBound>,
}

/// The end of a life on the boot clock (CLOCK_BOOTTIME), valid only within the same boot.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub(crate) struct BootBound {
    pub id: String,
    pub until_ms: u64,
}

/// Milliseconds from `now_ms` to `until_ms` (zero once past).
pub(crate) fn left(until_ms: u64, now_ms: u64) -> Duration {
    Duration::from_millis(until_ms.saturating_sub(now_ms))
}

/// `d` in whole milliseconds, saturating (never truncated to a shorter life by `as`).
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// This host's wall clock, in milliseconds since the Unix epoch.
pub(crate) fn wall_ms() -> u64 {
    millis(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default(),
    )
}

impl<T> Stored<T> {
    /// `v`, living `life` from now by this host's clocks (the file level).
    pub fn local(v: T, life: Duration) -> Self {
        let life_ms = millis(life);
        Self {
            v,
            until_ms: wall_ms().saturating_add(life_ms),
            boot: crate::clock::boot_ms().map(|(id, now)| BootBound {
                id: id.to_string(),
                until_ms: now.saturating_add(life_ms),
            }),
        }
    }

    /// What is left of its life by this host's clocks: the wall-clock view, unless (same boot)
    /// the boot clock says less by more than [`CLOCKS_AGREE`]: the wall clock was stepped
    /// back. Within that, the wall end is kept, so every process reads the same expiry.
    pub fn local_left(&self) -> Duration {
        let wall = left(self.until_ms, wall_ms());
        match (&self.boot, crate::clock::boot_ms()) {
            (Some(b), Some((id, now))) if b.id == id => {
                let boot = left(b.until_ms, now);
                if boot + CLOCKS_AGREE < wall {
                    boot
                } else {
                    wall
                }
            }
            _ => wall,
        }
    }
}

/// How far the wall and boot clocks may drift apart (NTP slews them by a little) before the
/// wall clock counts as stepped.
const CLOCKS_AGREE: Duration = Duration::from_secs(1);

/// What a token entry holds (sealed, in a [`Stored`]).
#[derive(Serialize, Deserialize)]
pub(crate) struct Entry {
    pub access_token: String,
    pub token_type: String,
    pub scope: Option<String>,
    /// The lifetime the server granted, in seconds.
    pub expires_in: u64,
}

impl Entry {
    /// Whether a reader may serve it: what the token endpoint's parser would accept. Only a
    /// holder of the key can seal an entry, so this guards against a writer's bug, not an
    /// attacker: a bad entry is ignored, and the reader fetches.
    pub fn usable(&self) -> bool {
        crate::oauth::token::plausible(&self.access_token, &self.token_type, self.expires_in)
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.access_token);
    }
}

/// A 429 remembered for a key, so that a whole fleet waits together; its end is the
/// [`Stored`] one.
#[derive(Serialize, Deserialize)]
pub(crate) struct RateLimit {}

/// Failures of the shared level: counted, and warned about at most once a minute.
#[derive(Default)]
pub(crate) struct Health {
    last_warn_ms: AtomicU64,
}

impl Health {
    pub fn failed(&self, what: &str, e: &dyn std::fmt::Display) {
        let now = wall_ms();
        let last = self.last_warn_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 60_000
            && self
                .last_warn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(error = %e, "shared token cache: {what} failed; fetching directly (warned at most once a minute)");
        }
    }
}

/// The backend of the level, behind one interface: the client's adopt / rate-limit / lock /
/// publish logic (`client_credentials::shared_level`) is the same for both.
pub(crate) enum Backend {
    File(FileLevel),
    Redis(Box<RedisLevel>),
}

/// A held lock of either backend.
pub(crate) enum LockGuard {
    File(#[allow(dead_code)] file::LockGuard),
    Redis(redis::LockGuard),
}

impl Backend {
    pub fn open(config: &SharedCache) -> Result<Self> {
        match config {
            SharedCache::File { dir } => FileLevel::open(dir.as_deref()).map(Self::File),
            SharedCache::Redis { url } => RedisLevel::open(url).map(|r| Self::Redis(Box::new(r))),
        }
    }

    /// The value for `key` and what is left of its life: never more than the end sealed with
    /// it, whatever the storage says; `None` once that is past.
    pub async fn read<T: DeserializeOwned + Send + 'static>(
        &self,
        key: &EntryKey,
    ) -> Result<Option<(T, Duration)>> {
        let found = match self {
            Self::File(f) => f.read::<Stored<T>>(key).await?.map(|s| {
                let left = s.local_left();
                (s.v, left)
            }),
            Self::Redis(r) => r.read::<T>(key).await?,
        };
        Ok(found.filter(|(_, left)| !left.is_zero()))
    }

    /// The file backend's value for `key` at once, on this thread (a few bounded system
    /// calls: for synchronous callers); `None` for Redis, which is asked with [`Self::read`].
    pub fn read_now<T: DeserializeOwned>(
        &self,
        key: &EntryKey,
    ) -> Option<Result<Option<(T, Duration)>>> {
        let Self::File(f) = self else { return None };
        Some(f.read_now::<Stored<T>>(key).map(|found| {
            found
                .map(|s| {
                    let left = s.local_left();
                    (s.v, left)
                })
                .filter(|(_, left)| !left.is_zero())
        }))
    }

    /// Publishes `value`, which lives `life` from now: sealed with its end, and expired by
    /// the storage then too (Redis's `PX`; a file's times).
    pub async fn write<T: Serialize>(
        &self,
        key: &EntryKey,
        value: &T,
        life: Duration,
    ) -> Result<()> {
        match self {
            Self::File(f) => f.write(key, &Stored::local(value, life)).await,
            Self::Redis(r) => r.write(key, value, life).await,
        }
    }

    /// Removes the file backend's value at once; nothing for Redis (use [`Self::remove`]).
    pub fn remove_now(&self, key: &EntryKey) {
        if let Self::File(f) = self {
            f.remove_now(key);
        }
    }

    pub async fn remove(&self, key: &EntryKey) -> Result<()> {
        match self {
            Self::File(f) => {
                f.remove_now(key);
                Ok(())
            }
            Self::Redis(r) => r.remove(key).await,
        }
    }

    /// The key's lock, waiting up to `wait`; a Redis lock lapses after `ttl`.
    pub async fn lock(
        &self,
        key: &EntryKey,
        wait: Duration,
        ttl: Duration,
    ) -> Result<Option<LockGuard>> {
        Ok(match self {
            Self::File(f) => f.lock(key, wait).await?.map(LockGuard::File),
            Self::Redis(r) => r.lock(key, wait, ttl).await?.map(LockGuard::Redis),
        })
    }

    /// Keeps a Redis lock for another `ttl` (an `flock` needs nothing: it lasts as long as
    /// its holder).
    pub async fn renew(&self, guard: &LockGuard, ttl: Duration) -> Result<()> {
        match (self, guard) {
            (Self::Redis(r), LockGuard::Redis(g)) => r.renew(g, ttl).await,
            _ => Ok(()),
        }
    }

    /// `work`, renewing the lock `g` for another `lease` every third of it until it is done
    /// (a Redis lock must outlive a holder's slow fetch); a failed renewal is `failed`'s.
    pub async fn renewing<T>(
        &self,
        g: &LockGuard,
        lease: Duration,
        failed: impl Fn(&Error),
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let mut work = std::pin::pin!(work);
        let mut tick = tokio::time::interval(lease / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is now: the lock was just taken
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tick.tick() => {
                    if let Err(e) = self.renew(g, lease).await {
                        failed(&e);
                    }
                }
            }
        }
    }

    pub async fn unlock(&self, guard: LockGuard) -> Result<()> {
        match (self, guard) {
            (Self::Redis(r), LockGuard::Redis(g)) => r.unlock(g).await,
            // An flock ends with its descriptor.
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file value of `life_ms`, written `elapsed_ms` ago, after which the wall clock was
    /// stepped back by `wall_back_ms`.
    fn written(life_ms: u64, elapsed_ms: u64, wall_back_ms: u64) -> Stored<()> {
        let (id, boot_now) = crate::clock::boot_ms().expect("Linux names its boot");
        let wall_then = wall_ms() + wall_back_ms - elapsed_ms;
        Stored {
            v: (),
            until_ms: wall_then + life_ms,
            boot: Some(BootBound {
                id: id.to_string(),
                until_ms: (boot_now - elapsed_ms) + life_ms,
            }),
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_wall_clock_stepped_back_does_not_lengthen_a_file_value() {
        // Expired a minute ago; the wall clock was set back an hour since.
        let s = written(60_000, 120_000, 3_600_000);
        assert_eq!(s.local_left(), Duration::ZERO);
        // Still alive: the lesser view counts.
        let s = written(60_000, 30_000, 3_600_000);
        let left = s.local_left();
        assert!(left <= Duration::from_secs(30) && left > Duration::from_secs(29));
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn clocks_that_agree_give_every_reader_the_wall_end() {
        // The boot clock a few hundred ms behind (a slewed wall clock): the wall end stands, so
        // the expiry every process computes from it is the same to the millisecond.
        let s = written(60_000, 10_000, 300);
        let wall = left(s.until_ms, wall_ms());
        assert!(s.local_left().abs_diff(wall) < Duration::from_millis(50));
        assert!(s.local_left() > Duration::from_secs(50));
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn after_a_reboot_only_the_wall_clock_is_left() {
        let mut s = written(60_000, 120_000, 3_600_000);
        s.boot.as_mut().unwrap().id = "another boot".into();
        // Only the wall clock's view: an hour set back gives it 58 minutes (the documented
        // limit; a reboot also empties most caches' reason to trust older files).
        assert!(s.local_left() > Duration::from_secs(57 * 60));
        let fresh = Stored::local((), Duration::from_secs(10));
        assert!(fresh.local_left() <= Duration::from_secs(10));
        assert!(fresh.local_left() > Duration::from_secs(9));
    }

    #[test]
    fn a_levels_text_never_shows_a_redis_password() {
        for (url, secret) in [
            ("redis://:hunter2@127.0.0.1:6379/0", "hunter2"),
            ("rediss://user:hunter2@cache.example.com:6380/0", "hunter2"),
            ("unix:///run/redis.sock?pass=hunter2", "hunter2"),
        ] {
            let text = format!("{:?}", SharedCache::parse(url).unwrap());
            assert!(!text.contains(secret), "{text}");
        }
        let e = SharedCache::parse("redsi://:hunter2@host")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2") && e.contains("[redacted]"), "{e}");
    }

    #[test]
    fn lives_never_wrap() {
        assert_eq!(millis(Duration::MAX), u64::MAX);
        assert_eq!(left(5, u64::MAX), Duration::ZERO);
        let s = Stored::local((), Duration::MAX);
        assert_eq!(s.until_ms, u64::MAX);
    }
}
