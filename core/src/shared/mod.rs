//! The second cache level, behind the process cache: tokens shared by every process of the
//! user on this host (the file backend), so short-lived processes (scripts, cron jobs, the
//! CLI, pre-forked workers) mint one token per key per lifetime instead of one each.
//!
//! - A process-cache hit never touches it; it is read on a process-cache miss and when a
//!   refresh is due (the fetch then adopts a newer token another process published).
//! - Single flight across processes: one process per key holds an `flock` on the key's lock
//!   file, re-reads, fetches, publishes and releases; the others wait (bounded by the request
//!   timeout) and read what was published. A holder killed with `kill -9` releases its lock
//!   with its file descriptors.
//! - Entries are sealed (ChaCha20-Poly1305, key from HKDF-SHA256 over the client's credential
//!   and the cache key); their names are digests under a key derived the same way. Without the
//!   credential an entry can neither be found, read nor forged; a tampered or foreign entry is
//!   ignored and replaced.
//! - An entry holds the token's absolute (wall-clock) expiry: every reader shares the host's
//!   clock, and a token is never served past it, even after a suspend.
//! - It never makes `get_token` fail: on any error the client fetches directly, counts the
//!   failure (`shared_errors`) and warns at most once a minute.

#[cfg(unix)]
mod file;
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
        pub fn read<T: DeserializeOwned>(&self, _: &EntryKey) -> Result<Option<T>> {
            Ok(None)
        }
        pub fn write<T: Serialize>(&self, _: &EntryKey, _: &T) -> Result<()> {
            Ok(())
        }
        pub fn remove(&self, _: &EntryKey) {}
        pub async fn lock(&self, _: &EntryKey, _: Duration) -> Result<Option<LockGuard>> {
            Ok(None)
        }
    }
}

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub(crate) use file::FileLevel;
pub(crate) use seal::EntryKey;

/// Where tokens are shared beyond the process (`ClientConfig::shared_cache`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SharedCache {
    /// A per-user directory on this host: `dir`, or the platform's cache directory +
    /// `tokenkeeper` (`$XDG_CACHE_HOME/tokenkeeper`, `~/.cache/tokenkeeper`,
    /// `~/Library/Caches/tokenkeeper`).
    File { dir: Option<PathBuf> },
}

impl SharedCache {
    /// `"file"` (the default directory) or `"file:/some/dir"`.
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
            return Err(Error::config(
                "Redis shared caches are not available in this version; use \"file\"",
            ));
        }
        Err(Error::config(format!(
            "unknown shared cache {:?}: expected \"file\" or \"file:/some/dir\"",
            crate::text::truncate(s, 64)
        )))
    }

    /// [`Self::parse`] for surfaces where no level is a value: `None`, an empty or blank
    /// string mean "off", the same on every surface.
    pub fn parse_optional(s: Option<&str>) -> Result<Option<Self>> {
        match s.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => Self::parse(s).map(Some),
        }
    }

    /// `TOKENKEEPER_SHARED_CACHE`, if set and not empty.
    pub fn from_env() -> Result<Option<Self>> {
        Self::parse_optional(std::env::var("TOKENKEEPER_SHARED_CACHE").ok().as_deref())
    }
}

/// What an entry holds (sealed).
#[derive(Serialize, Deserialize)]
pub(crate) struct Entry {
    pub access_token: String,
    pub token_type: String,
    pub scope: Option<String>,
    /// The lifetime the server granted, in seconds.
    pub expires_in: u64,
    /// Absolute expiry, milliseconds since the Unix epoch (all readers share this host's clock).
    pub expires_at_ms: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.access_token);
    }
}

impl Entry {
    /// Time left before the absolute expiry (zero once past).
    pub fn remaining(&self) -> Duration {
        let at = UNIX_EPOCH + Duration::from_millis(self.expires_at_ms);
        at.duration_since(SystemTime::now()).unwrap_or_default()
    }
}

/// A 429 remembered for a key, so that a whole fleet waits together.
#[derive(Serialize, Deserialize)]
pub(crate) struct RateLimit {
    /// Until when no request is sent, milliseconds since the Unix epoch.
    pub until_ms: u64,
}

impl RateLimit {
    pub fn remaining(&self) -> Duration {
        let at = UNIX_EPOCH + Duration::from_millis(self.until_ms);
        at.duration_since(SystemTime::now()).unwrap_or_default()
    }
}

/// Failures of the shared level: counted, and warned about at most once a minute.
#[derive(Default)]
pub(crate) struct Health {
    last_warn_ms: AtomicU64,
}

impl Health {
    pub fn failed(&self, what: &str, e: &dyn std::fmt::Display) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
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
