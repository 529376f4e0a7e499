//! Refresh grants shared by every process (file level) and every host (Redis) of an app.
//!
//! [`super::flights`] makes one grant per refresh token per process. Across processes the
//! managers share the level instead: before a manager spends a refresh token it takes the
//! level's lock of that token, and looks, before and under the lock, for the outcome another
//! process published. The winner publishes the outcome (the renewed credentials with the
//! rotated refresh token, or the server's refusal) before it saves them to its own store, so
//! the others adopt the rotated token instead of spending the old one (a reuse: Auth0 would
//! revoke the whole family), and nothing is lost if the winner dies before its save.
//!
//! The entry is named and sealed with a key derived from the *old* refresh token: only a
//! process that holds it can find or open what it was renewed into.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::user_credentials::UserCredentials;
use crate::error::Error;
use crate::shared_cache::{Backend, EntryKey, LockGuard};

/// How long a published outcome is kept: a process that slept this long with the old refresh
/// token still finds what it was rotated into (Auth0's default inactivity lifetime of a
/// refresh token is 15 days).
const KEPT_FOR: Duration = Duration::from_secs(15 * 24 * 3600);

/// A Redis lock lives this long unless its holder renews it (every third of it while it
/// sends the grant). Long: a lease that lapses while its holder is alive but slow (a loaded
/// host) lets a second process spend the same token, and the family is revoked; a holder
/// killed with `kill -9` only delays the others by this much, once.
const LOCK_LEASE: Duration = Duration::from_secs(30);

/// A failed read, write or lock of the level is tried again after this pause (a Redis
/// operation has 200 ms; a busy host can miss that): reads and writes [`ATTEMPTS`] times, the
/// lock within the caller's wait.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
const ATTEMPTS: u32 = 5;

/// What became of the grant of one refresh token, as the fleet sees it.
#[derive(Serialize, Deserialize)]
pub(crate) enum Published {
    Renewed(UserCredentials),
    Refused {
        error: String,
        description: Option<String>,
    },
}

/// The level's view of one refresh token of one app.
pub(crate) struct SharedFlight<'a> {
    level: &'a Backend,
    key: EntryKey,
    /// How long a holder of the lock may take for its grant.
    budget: Duration,
}

impl<'a> SharedFlight<'a> {
    pub fn new(
        level: &'a Backend,
        budget: Duration,
        token_url: &str,
        client_id: &str,
        refresh_token: &str,
    ) -> Self {
        let key =
            EntryKey::derive_kind(refresh_token.as_bytes(), "refresh", &[token_url, client_id]);
        Self { level, key, budget }
    }

    /// The outcome another process published; `None` when there is none, or the level
    /// failed [`ATTEMPTS`] times in a row (warned: the caller renews as if alone).
    pub async fn published(&self) -> Option<Published> {
        for attempt in 1..=ATTEMPTS {
            match self.level.read::<Published>(&self.key).await {
                Ok(found) => return found.map(|(p, _)| p),
                Err(e) if attempt == ATTEMPTS => failed("reading", &e),
                Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
            }
        }
        None
    }

    /// Runs `work` holding the token's lock. A waiter outlasts a holder's lease and budget: it
    /// waits that long at most, trying again when the level fails, then runs `work` without.
    pub async fn locked<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        let deadline = tokio::time::Instant::now() + LOCK_LEASE + self.budget;
        let guard: Option<LockGuard> = loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.level.lock(&self.key, left, LOCK_LEASE).await {
                Ok(g) => break g,
                Err(e) if left <= RETRY_PAUSE => {
                    failed("locking", &e);
                    break None;
                }
                Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
            }
        };
        let out = match &guard {
            Some(g) => {
                let renew_failed = |e: &Error| failed("renewing the lock", e);
                self.level.renewing(g, LOCK_LEASE, renew_failed, work).await
            }
            None => work.await,
        };
        if let Some(g) = guard {
            if let Err(e) = self.level.unlock(g).await {
                failed("unlocking", &e);
            }
        }
        out
    }

    /// Publishes the outcome for every other holder of the refresh token (tried again on a
    /// failure: a lost outcome lets the next process spend the rotated-out token).
    pub async fn publish(&self, outcome: &Published) {
        for attempt in 1..=ATTEMPTS {
            match self.level.write(&self.key, outcome, KEPT_FOR).await {
                Ok(()) => return,
                Err(e) if attempt == ATTEMPTS => failed("publishing", &e),
                Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
            }
        }
    }
}

fn failed(what: &str, e: &Error) {
    tracing::warn!(error = %e, "shared cache: {what} a refresh-token renewal failed; renewing as if alone");
}
