//! The client's use of the shared cache level (see [`crate::SharedCache`]): read on a
//! process-cache miss or a due refresh, single flight across processes, publish, and never an
//! error of its own for the caller.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::cache::{hold_down, Fetched};
use super::config::{CachePolicy, ClientConfig, Resolved};
use super::request::TokenRequest;
use super::stats::Counters;
use crate::clock::Stamp;
use crate::error::Error;
use crate::error::Result;
use crate::oauth::token::Token;
use crate::runtime::Started;
use crate::shared_cache::{Backend, Entry, EntryKey, Health, RateLimit, SharedCache};
use serde::{Deserialize, Serialize};

pub(crate) struct SharedLevel {
    level: Arc<Backend>,
    health: Health,
    /// `retry_after_cap`: no remembered 429 read back blocks a key for longer, whatever the
    /// storage says (a value put back with a long `PX`).
    cap: Duration,
}

/// The entries of one request: its token, a remembered 429 and a remembered failure.
#[derive(Clone)]
pub(crate) struct Keys {
    pub token: EntryKey,
    rate_limit: EntryKey,
    failing: EntryKey,
}

/// A Redis lock lives this long unless its holder renews it (every third of it while it
/// fetches): a holder killed with `kill -9` delays the others by this much at most.
const LOCK_LEASE: Duration = Duration::from_secs(5);

/// How long a remembered failure keeps counting a streak of failures (its hold-down is
/// shorter: [`hold_down`]).
const FAILING_MEMORY: Duration = Duration::from_secs(60);

impl SharedLevel {
    /// The level of `config`, or `None` when it cannot be opened (warned and counted: the
    /// client then works without it).
    pub fn open(config: &SharedCache, cap: Duration, counters: &Counters) -> Option<Self> {
        match Backend::open(config) {
            Ok(level) => Some(Self {
                level: Arc::new(level),
                health: Health::default(),
                cap,
            }),
            Err(e) => {
                counters.shared_errors.bump();
                tracing::warn!(error = %e, "shared token cache unavailable; this client fetches on its own");
                None
            }
        }
    }

    /// The entries of one request: named and sealed with keys only the credential gives.
    /// `extra`: an exchange's parts (its subject), empty for client credentials.
    pub fn key(
        config: &ClientConfig,
        resolved: &Resolved,
        req: &TokenRequest,
        extra: &[&str],
    ) -> Keys {
        let credential = config.credentials.material().as_bytes();
        let mut parts = vec![
            "client_credentials",
            resolved.token_url.as_str(),
            &config.client_id,
            resolved.method.as_str(),
            req.audience_str(),
            req.scope_str().unwrap_or(""),
            req.organization_str().unwrap_or(""),
        ];
        parts.extend_from_slice(extra);
        Keys {
            token: EntryKey::derive(credential, &parts),
            rate_limit: EntryKey::derive_kind(credential, "rate_limit", &parts),
            failing: EntryKey::derive_kind(credential, "failing", &parts),
        }
    }

    /// A token for `key`: one another process published (if it is not yet due for a
    /// refresh), else one `fetch` made while holding the key's lock, then published. The
    /// first failure of the level sends this call straight to `fetch`.
    pub async fn fetch(
        &self,
        keys: &Keys,
        policy: &CachePolicy,
        wait: Duration,
        counters: &Counters,
        fetch: impl Future<Output = Result<Fetched>>,
    ) -> Result<Fetched> {
        match self.ready(keys, policy, counters).await {
            Ok(Some(f)) => return Ok(f),
            Ok(None) => {}
            Err(Remembered(e)) => return Err(e),
            Err(e) => {
                self.failed(counters, "reading", &e);
                return fetch.await;
            }
        }
        let guard = match self.level.lock(&keys.token, wait, LOCK_LEASE).await {
            Ok(g) => g,
            Err(e) => {
                self.failed(counters, "locking", &e);
                return fetch.await;
            }
        };
        let work = self.fetch_locked(keys, policy, counters, fetch);
        let failed = |e: &Error| self.failed(counters, "renewing the lock", e);
        let result = match &guard {
            Some(g) => self.level.renewing(g, LOCK_LEASE, failed, work).await,
            None => work.await,
        };
        if let Some(g) = guard {
            if let Err(e) = self.level.unlock(g).await {
                self.failed(counters, "unlocking", &e);
            }
        }
        result
    }

    /// Under the lock (or after waiting for it in vain): the holder we waited for may have
    /// published meanwhile; else fetch and publish.
    async fn fetch_locked(
        &self,
        keys: &Keys,
        policy: &CachePolicy,
        counters: &Counters,
        fetch: impl Future<Output = Result<Fetched>>,
    ) -> Result<Fetched> {
        match self.ready(keys, policy, counters).await {
            Ok(Some(f)) => return Ok(f),
            Ok(None) => {}
            Err(Remembered(e)) => return Err(e),
            Err(e) => self.failed(counters, "reading", &e),
        }
        let result = fetch.await;
        let published = match &result {
            Ok(f) => {
                let t = &f.token;
                let written = self
                    .level
                    .write(&keys.token, &entry_of(t), t.remaining())
                    .await;
                // The streak is over: the next failure is a first one again.
                written.and(self.level.remove(&keys.failing).await)
            }
            // Every process stops together until the server's time has passed.
            Err(Error::RateLimited {
                retry_after: Some(wait),
                ..
            }) => {
                let life = (*wait).min(self.cap);
                self.level
                    .write(&keys.rate_limit, &RateLimit {}, life)
                    .await
            }
            // An outage: from the second failure in a row, every process holds back.
            Err(e) if e.is_transient() => self.remember_failure(&keys.failing, e).await,
            // Not an outage (a refused client, a broken answer): the next caller asks again.
            Err(_) => Ok(()),
        };
        if let Err(e) = published {
            self.failed(counters, "publishing", &e);
        }
        result
    }

    /// Counts one more failure in a row for the key; from the second on, every process sends
    /// nothing for [`hold_down`] (1 s doubling to 30 s) and gets the failure at once.
    async fn remember_failure(&self, key: &EntryKey, e: &Error) -> Result<()> {
        let before = self.level.read::<Failing>(key).await?;
        let failures = before.map_or(0, |(f, _)| f.failures).saturating_add(1);
        let quiet = hold_down(failures).min(self.cap);
        let failing = Failing::of(e, failures, quiet);
        self.level.write(key, &failing, FAILING_MEMORY).await
    }

    /// A published token this process may adopt; or, as `Err(Remembered)`, the remembered
    /// 429 of this request, or its remembered failures while they hold it down; an
    /// `Err(Level)` is the level's own failure.
    async fn ready(
        &self,
        keys: &Keys,
        policy: &CachePolicy,
        counters: &Counters,
    ) -> std::result::Result<Option<Fetched>, NotReady> {
        if let Some(f) = self.adopt(&keys.token, policy, counters).await? {
            return Ok(Some(f));
        }
        match self.level.read::<RateLimit>(&keys.rate_limit).await? {
            // Longer than any wait this client would remember: not a 429 it honours (a
            // writer with a larger cap; a replayed value lives no longer than it was sealed
            // for).
            Some((_, left)) if left > self.cap => {}
            Some((_, left)) if !left.is_zero() => {
                return Err(Remembered(Error::RateLimited {
                    retry_after: Some(left),
                    description: Some("remembered from an earlier 429 for this request".into()),
                }))
            }
            _ => {}
        }
        let failing = self.level.read::<Failing>(&keys.failing).await?;
        match failing.and_then(|(f, left)| f.holding(left, self.cap)) {
            Some(e) => Err(Remembered(e)),
            None => Ok(None),
        }
    }

    /// Forgets the entry (an API rejected its token), or only if it holds `token`. Whether an
    /// entry was forgotten. For synchronous callers: a Redis operation is waited for (bounded)
    /// where the thread may block, else left to finish on the runtime.
    pub fn forget(&self, keys: &Keys, only: Option<&Token>, counters: &Counters) -> bool {
        let level = self.level.clone();
        let key = keys.token.clone();
        let only = only.map(|t| t.access_token().to_string());
        // Whether the entry holds the token, and whether to remove it.
        let decide = move |found: Option<(Entry, Duration)>| {
            let holds =
                found.is_some_and(|(e, _)| only.as_ref().is_none_or(|t| &e.access_token == t));
            (holds, holds || only.is_none())
        };
        let result = match self.level.read_now::<Entry>(&key) {
            // The file level answers on this thread: no runtime needed.
            Some(found) => found.map(|f| {
                let (holds, remove) = decide(f);
                if remove {
                    self.level.remove_now(&key);
                }
                holds
            }),
            None => settle(async move {
                let (holds, remove) = decide(level.read::<Entry>(&key).await?);
                if remove {
                    level.remove(&key).await?;
                }
                Ok(holds)
            }),
        };
        match result {
            Ok(holds) => holds,
            Err(e) => {
                self.failed(counters, "forgetting", &e);
                false
            }
        }
    }

    async fn adopt(
        &self,
        key: &EntryKey,
        policy: &CachePolicy,
        counters: &Counters,
    ) -> Result<Option<Fetched>> {
        let Some((entry, remaining)) = self.level.read::<Entry>(key).await? else {
            return Ok(None);
        };
        if !entry.usable() {
            return Ok(None);
        }
        let life = Duration::from_secs(entry.expires_in);
        let margin = policy.expiry_margin.min(life / 5);
        let usable = life.saturating_sub(margin);
        let lead = usable
            .mul_f64(policy.refresh_ahead)
            .min(policy.max_refresh_ahead);
        // Only a token this process would not refresh yet: else it fetches (once per key
        // across processes, under the lock) and publishes the new one.
        if remaining <= margin + lead || remaining > life {
            return Ok(None);
        }
        counters.shared_hits.bump();
        // By this host's clock: the remaining life is the level's (Redis's own, for Redis).
        // Entries count in whole milliseconds: rounding down gives a file entry's expiry back
        // exactly, whichever process reads it.
        let expires_at = SystemTime::now() + remaining;
        let expires_at = expires_at
            - expires_at
                .duration_since(UNIX_EPOCH)
                .map(|d| Duration::from_nanos(u64::from(d.subsec_nanos() % 1_000_000)))
                .unwrap_or_default();
        let token = Token::from_shared(
            &entry.access_token,
            &entry.token_type,
            entry.scope.as_deref(),
            entry.expires_in,
            expires_at,
        );
        // As if this process had sent the request: its deadlines follow the real expiry.
        let sent = Stamp::now()
            .checked_sub(life - remaining)
            .unwrap_or_else(Stamp::now);
        Ok(Some(Fetched { token, sent }))
    }

    fn failed(&self, counters: &Counters, what: &str, e: &dyn std::fmt::Display) {
        counters.shared_errors.bump();
        self.health.failed(what, e);
    }
}

/// Runs `op` for a synchronous caller: a file operation is done on the first poll; a Redis
/// one (bounded by its own timeout) is waited for, except on a single-threaded runtime, which
/// cannot block: there it finishes on the shared runtime.
fn settle<T: Send + 'static>(op: impl Future<Output = Result<T>> + Send + 'static) -> Result<T> {
    let mut running = match crate::runtime::start(op) {
        Started::Ready(r) => return r,
        Started::Running(r) => r,
    };
    let in_place = crate::runtime::can_block()?;
    let mut wait = || running.wait_timeout(Duration::from_secs(2));
    let out = if in_place {
        tokio::task::block_in_place(wait)
    } else {
        wait()
    };
    out.unwrap_or_else(|| Err(Error::Timeout("shared cache: no answer".into())))
}

/// Why [`SharedLevel::ready`] gave no token.
enum NotReady {
    /// The fleet's memory of this request's 429 or failures: the caller's answer.
    Remembered(Error),
    /// The level itself failed: the caller fetches on its own.
    Level(Error),
}
use NotReady::{Level, Remembered};

impl From<Error> for NotReady {
    fn from(e: Error) -> Self {
        Level(e)
    }
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remembered(e) | Level(e) => e.fmt(f),
        }
    }
}

/// Failures in a row of one request, remembered for the fleet (review N8): from the second,
/// every process holds back for `quiet_ms` after it was written, as one process does.
#[derive(Serialize, Deserialize)]
pub(crate) struct Failing {
    failures: u32,
    /// Of the last failure: its kind, HTTP status and OAuth error code (never a message).
    kind: String,
    status: Option<u16>,
    error: Option<String>,
    /// How long after it was written it holds the request down.
    quiet_ms: u64,
}

impl Failing {
    fn of(e: &Error, failures: u32, quiet: Duration) -> Self {
        let (status, error) = match e {
            Error::OAuth { status, error, .. } => (Some(*status), Some(error.clone())),
            Error::InvalidResponse { status, .. } => (*status, None),
            _ => (None, None),
        };
        Self {
            failures,
            kind: e.kind().to_string(),
            status,
            error,
            quiet_ms: crate::shared_cache::millis(quiet),
        }
    }

    /// The failure to answer with now that `left` of its memory is left, while it holds the
    /// request down (never longer than `cap`).
    fn holding(&self, left: Duration, cap: Duration) -> Option<Error> {
        let quiet = Duration::from_millis(self.quiet_ms).min(cap);
        let elapsed = FAILING_MEMORY.saturating_sub(left);
        let wait = quiet.checked_sub(elapsed).filter(|w| !w.is_zero())?;
        let note = format!(
            "the token endpoint failed {} times in a row for this request (remembered for every \
             process); not asked again for {} ms",
            self.failures,
            wait.as_millis()
        );
        Some(match self.kind.as_str() {
            "timeout" => Error::Timeout(note),
            "oauth" => Error::OAuth {
                error: self.error.clone().unwrap_or_else(|| "server_error".into()),
                description: Some(note),
                status: self.status.unwrap_or(500),
            },
            "invalid_response" => Error::InvalidResponse {
                status: self.status,
                detail: note,
            },
            _ => Error::Network(note),
        })
    }
}

fn entry_of(t: &Token) -> Entry {
    Entry {
        access_token: t.access_token().to_string(),
        token_type: t.token_type().to_string(),
        scope: t.scope().map(str::to_string),
        expires_in: t.expires_in(),
    }
}
