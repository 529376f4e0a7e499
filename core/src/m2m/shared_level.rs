//! The client's use of the shared cache level (see [`crate::SharedCache`]): read on a
//! process-cache miss or a due refresh, single flight across processes, publish, and never an
//! error of its own for the caller.

use std::future::Future;
use std::time::{Duration, UNIX_EPOCH};

use super::cache::Fetched;
use super::config::{CachePolicy, ClientConfig, Resolved};
use super::request::TokenRequest;
use super::stats::Counters;
use crate::clock::Stamp;
use crate::error::Error;
use crate::error::Result;
use crate::oauth::token::Token;
use crate::shared::{Entry, EntryKey, FileLevel, Health, RateLimit, SharedCache};

pub(crate) struct SharedLevel {
    level: FileLevel,
    health: Health,
}

/// The entries of one request: its token, and a remembered 429.
pub(crate) struct Keys {
    pub token: EntryKey,
    rate_limit: EntryKey,
}

impl SharedLevel {
    /// The level of `config`, or `None` when it cannot be opened (warned and counted: the
    /// client then works without it).
    pub fn open(config: &SharedCache, counters: &Counters) -> Option<Self> {
        let SharedCache::File { dir } = config;
        match FileLevel::open(dir.as_deref()) {
            Ok(level) => Some(Self {
                level,
                health: Health::default(),
            }),
            Err(e) => {
                counters.shared_errors.bump();
                tracing::warn!(error = %e, "shared token cache unavailable; this client fetches on its own");
                None
            }
        }
    }

    /// The entries of one request: named and sealed with keys only the credential gives.
    pub fn key(config: &ClientConfig, resolved: &Resolved, req: &TokenRequest) -> Keys {
        let credential = config.credentials.material().as_bytes();
        let parts = [
            "client_credentials",
            resolved.token_url.as_str(),
            &config.client_id,
            resolved.method.as_str(),
            req.audience_str(),
            req.scope_str().unwrap_or(""),
            req.organization_str().unwrap_or(""),
        ];
        Keys {
            token: EntryKey::derive(credential, &parts),
            rate_limit: EntryKey::derive_kind(credential, "rate_limit", &parts),
        }
    }

    /// A token for `key`: one another process published (if it is not yet due for a
    /// refresh), else one `fetch` made while holding the key's lock, then published.
    pub async fn fetch(
        &self,
        keys: &Keys,
        policy: &CachePolicy,
        wait: Duration,
        counters: &Counters,
        fetch: impl Future<Output = Result<Fetched>>,
    ) -> Result<Fetched> {
        let key = &keys.token;
        if let Some(f) = self.adopt(key, policy, counters) {
            return Ok(f);
        }
        self.rate_limited(keys, counters)?;
        let guard = match self.level.lock(key, wait).await {
            Ok(g) => g,
            Err(e) => {
                self.failed(counters, "locking", &e);
                None
            }
        };
        // The holder we waited for (or timed out on) may have published meanwhile.
        if let Some(f) = self.adopt(key, policy, counters) {
            return Ok(f);
        }
        self.rate_limited(keys, counters)?;
        let result = fetch.await;
        let published = match &result {
            Ok(f) => self.level.write(key, &entry_of(&f.token)),
            // Every process of the host stops together until the server's time has passed.
            Err(Error::RateLimited {
                retry_after: Some(wait),
                ..
            }) => self.level.write(
                &keys.rate_limit,
                &RateLimit {
                    until_ms: now_ms().saturating_add(wait.as_millis() as u64),
                },
            ),
            Err(_) => Ok(()),
        };
        if let Err(e) = published {
            self.failed(counters, "publishing", &e);
        }
        drop(guard);
        result
    }

    /// The remembered 429 of this request, while it lasts.
    fn rate_limited(&self, keys: &Keys, counters: &Counters) -> Result<()> {
        match self.level.read::<RateLimit>(&keys.rate_limit) {
            Ok(Some(r)) if !r.remaining().is_zero() => Err(Error::RateLimited {
                retry_after: Some(r.remaining()),
                description: Some("remembered from an earlier 429 for this request".into()),
            }),
            Ok(_) => Ok(()),
            Err(e) => {
                self.failed(counters, "reading", &e);
                Ok(())
            }
        }
    }

    /// Forgets the entry (an API rejected its token), or only if it holds `token`. Whether an
    /// entry was forgotten.
    pub fn forget(&self, keys: &Keys, only: Option<&Token>) -> bool {
        let key = &keys.token;
        let holds = match self.level.read::<Entry>(key) {
            Ok(Some(e)) => only.is_none_or(|t| e.access_token == t.access_token()),
            _ => false,
        };
        if holds || only.is_none() {
            self.level.remove(key);
        }
        holds
    }

    fn adopt(&self, key: &EntryKey, policy: &CachePolicy, counters: &Counters) -> Option<Fetched> {
        let entry = match self.level.read::<Entry>(key) {
            Ok(e) => e?,
            Err(e) => {
                self.failed(counters, "reading", &e);
                return None;
            }
        };
        let remaining = entry.remaining();
        let life = Duration::from_secs(entry.expires_in);
        let margin = policy.expiry_margin.min(life / 5);
        let usable = life.saturating_sub(margin);
        let lead = usable
            .mul_f64(policy.refresh_ahead)
            .min(policy.max_refresh_ahead);
        // Only a token this process would not refresh yet: else it fetches (once per key
        // across processes, under the lock) and publishes the new one.
        if remaining <= margin + lead || remaining > life {
            return None;
        }
        counters.shared_hits.bump();
        let expires_at = UNIX_EPOCH + Duration::from_millis(entry.expires_at_ms);
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
        Some(Fetched { token, sent })
    }

    fn failed(&self, counters: &Counters, what: &str, e: &dyn std::fmt::Display) {
        counters.shared_errors.bump();
        self.health.failed(what, e);
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn entry_of(t: &Token) -> Entry {
    Entry {
        access_token: t.access_token().to_string(),
        token_type: t.token_type().to_string(),
        scope: t.scope().map(str::to_string),
        expires_in: t.expires_in(),
        expires_at_ms: t
            .expires_at()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64,
    }
}
