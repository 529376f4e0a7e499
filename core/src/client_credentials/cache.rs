//! The process-wide token cache: one slot per key, lock-free reads, single-flight fetches,
//! refresh-ahead in the background, jittered deadlines.
//!
//! Timeline of a token with lifetime `L`, fetched at `t0` (the moment the request was sent):
//!
//! ```text
//! t0 ──────────────── refresh_at ──────── fresh_until ──── t0 + L
//!        served           served, and the      never served
//!                         first caller starts   (callers wait for
//!                         one background fetch   the fetch in flight)
//! ```
//! `fresh_until = t0 + L - margin` with `margin = min(expiry_margin, L / 5)`;
//! `refresh_at = fresh_until - lead - jitter` with `lead = min(refresh_ahead * usable,
//! max_refresh_ahead)` and a random `jitter` up to `jitter * usable`.
//!
//! Static stability: while the issuer fails, the token is served until `fresh_until` (one
//! background refresh at a time, none of them waited for). A transient failure (network,
//! timeout, 5xx, 429) is remembered: from the second in a row, callers with nothing servable
//! get it at once for a hold-down of 1 s doubling to 30 s (a 429: until its `Retry-After`),
//! and while the fetch after a failure is in flight, only its own caller waits for it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures::future::{BoxFuture, FutureExt, Shared};
use rand::Rng;

use super::config::CachePolicy;
use super::request::TokenRequest;
use super::table::Table;
use crate::clock::{CoarseDeadline, Stamp};
use crate::error::Result;
use crate::oauth::token::Token;
use crate::runtime::{Current, PerProcess};

/// Identity of the client side of a key: token endpoint, client id, grant, auth method and a
/// salted digest of the credential. Hash and equality use only the digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey(pub [u8; 32]);

pub(crate) type SharedFetch = Shared<BoxFuture<'static, Result<Token>>>;

/// A token fresh from the server, with the monotonic time its request was sent.
pub(crate) struct Fetched {
    pub token: Token,
    pub sent: Stamp,
}

/// The process's cache; a forked child starts with an empty one (fetches in flight belong to
/// the parent's runtime).
static CACHE: PerProcess<Cache> = PerProcess::new(Cache::default);

pub(crate) fn process_cache() -> Current<Cache> {
    CACHE.get()
}

/// Tables read without locks; an insert happens the first time a key is seen, and dead
/// entries (nothing servable, in flight or remembered) go when a table grows.
#[derive(Default)]
pub(crate) struct Cache {
    clients: Table<ClientKey, Arc<ClientSlots>>,
}

#[derive(Default)]
pub(crate) struct ClientSlots {
    slots: Table<TokenRequest, Arc<Slot>>,
}

/// What the process cache holds, for tests and diagnostics.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheCensus {
    /// Client identities with a table.
    pub clients: usize,
    /// Slots of this client's table (live or not yet dropped).
    pub slots: usize,
    /// Slots this client's table copied while growing, since it was made.
    pub copied: u64,
}

impl Cache {
    /// Calls `f` with the slot of `(key, req)`, creating it if needed.
    #[inline]
    pub fn with_slot<R>(
        &self,
        key: ClientKey,
        req: &TokenRequest,
        f: impl FnOnce(&Arc<Slot>) -> R,
    ) -> R {
        if let Some(c) = self.clients.load().get(&key) {
            if let Some(s) = c.slots.load().get(req) {
                return f(s);
            }
        }
        let client = self.client(key);
        let now = Stamp::now();
        let slot = client
            .slots
            .get_or_insert(req, Arc::<Slot>::default, |s| s.is_live(now));
        f(&slot)
    }

    /// The token of `(key, req)` if it is surely before its refresh point, from a slot that
    /// already exists: the hit path, which makes nothing and reads only the coarse clock.
    #[inline]
    pub fn hit(&self, key: ClientKey, req: &TokenRequest) -> Option<Token> {
        let clients = self.clients.load();
        let slots = clients.get(&key)?.slots.load();
        slots.get(req)?.plain_hit()
    }

    fn client(&self, key: ClientKey) -> Arc<ClientSlots> {
        let now = Stamp::now();
        self.clients
            .get_or_insert(&key, Arc::<ClientSlots>::default, |c| c.is_live(now))
    }

    pub fn census(&self, key: ClientKey) -> CacheCensus {
        let client = self.clients.load().get(&key).cloned();
        CacheCensus {
            clients: self.clients.len(),
            slots: client.as_ref().map_or(0, |c| c.slots.len()),
            copied: client.as_ref().map_or(0, |c| c.slots.copied()),
        }
    }
}

impl ClientSlots {
    fn is_live(&self, now: Stamp) -> bool {
        self.slots.load().values().any(|s| s.is_live(now))
    }
}

/// What the cache holds for one key right now.
pub(crate) enum Lookup {
    /// Fresh: serve it.
    Hit(Token),
    /// Still servable, but inside the refresh window: serve it and refresh in the background.
    Refresh(Token),
    /// Nothing servable: wait for a fetch.
    Miss,
}

struct Cached {
    token: Token,
    refresh_at: Stamp,
    fresh_until: Stamp,
    /// `refresh_at` on the coarse clocks (a little early): checked first on every hit.
    hit_until: CoarseDeadline,
}

#[derive(Default)]
pub(crate) struct Slot {
    current: ArcSwapOption<Cached>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    inflight: Option<SharedFetch>,
    /// After a failed background refresh, the next one waits until then.
    not_before: Option<Stamp>,
    /// Fetches that failed in a row (background refreshes count once).
    failures: u32,
    /// The last failure, while `failures > 0`.
    last_error: Option<crate::Error>,
    /// The hold-down: until then a caller with nothing servable gets `last_error` at once and
    /// no request is sent (for a 429, until its `Retry-After`).
    held_until: Option<Stamp>,
    /// The hold-down comes from a 429: background refreshes wait too.
    rate_limited: bool,
}

/// The hold-down after `failures` failed fetches in a row: none after a single failure (one
/// retry at once, as a caller would), then 1 s doubling to 30 s.
pub(crate) fn hold_down(failures: u32) -> Duration {
    match failures {
        0 | 1 => Duration::ZERO,
        n => Duration::from_secs(1 << (n - 2).min(5)).min(Duration::from_secs(30)),
    }
}

impl State {
    /// The remembered failure, as a caller should hear it now.
    fn remembered(&self, now: Stamp) -> Option<crate::Error> {
        match self.last_error.as_ref()? {
            crate::Error::RateLimited { .. } => Some(crate::Error::RateLimited {
                retry_after: self.held_until.map(|t| t.saturating_duration_since(now)),
                description: Some("remembered from an earlier 429 for this request".into()),
            }),
            e => Some(e.clone()),
        }
    }

    fn held(&self, now: Stamp) -> bool {
        self.held_until.is_some_and(|t| now < t)
    }
}

fn ready(r: Result<Token>) -> Option<SharedFetch> {
    Some(futures::future::ready(r).boxed().shared())
}

impl Slot {
    #[inline]
    pub fn lookup(&self, now: Stamp) -> Lookup {
        match &*self.current.load() {
            Some(c) if now < c.refresh_at => Lookup::Hit(c.token.clone()),
            Some(c) if now < c.fresh_until => Lookup::Refresh(c.token.clone()),
            _ => Lookup::Miss,
        }
    }

    /// The current token if it is surely before its refresh point (the coarse clocks): a
    /// prepared request's hit.
    #[inline]
    pub fn plain_hit(&self) -> Option<Token> {
        self.plain_hit_with(Token::clone)
    }

    /// [`Self::plain_hit`] lending the token to `f` instead of cloning it.
    #[inline]
    pub fn plain_hit_with<R>(&self, f: impl FnOnce(&Token) -> R) -> Option<R> {
        let current = self.current.load();
        let c = current.as_ref()?;
        c.hit_until.ahead().then(|| f(&c.token))
    }

    fn set_current(&self, cached: Option<Arc<Cached>>) {
        self.current.store(cached);
    }

    /// Whether a table must keep this slot: a servable token, a fetch in flight, or a
    /// remembered failure.
    fn is_live(&self, now: Stamp) -> bool {
        if self
            .current
            .load()
            .as_ref()
            .is_some_and(|c| now < c.fresh_until)
        {
            return true;
        }
        let st = lock(&self.state);
        st.inflight.is_some() || st.held(now)
    }

    /// The fetch in flight, or a new one made by `start`. For a background refresh
    /// (`background`), nothing is started while a previous refresh failed recently, and `None`
    /// is returned when no fetch was started by this call.
    ///
    /// A caller with nothing servable never waits behind a failing issuer: during the hold-down
    /// it gets the remembered error at once, and while the fetch after a failure (the probe) is
    /// in flight, only the caller that started it waits for it.
    pub fn fetch(
        self: &Arc<Self>,
        policy: &CachePolicy,
        background: bool,
        start: impl FnOnce() -> BoxFuture<'static, Result<Fetched>>,
    ) -> Option<SharedFetch> {
        let mut st = lock(&self.state);
        let now = Stamp::now();
        if let Some(f) = &st.inflight {
            if background {
                return None;
            }
            if st.failures > 0 {
                if let Some(e) = st.remembered(now) {
                    return ready(Err(e));
                }
            }
            return Some(f.clone());
        }
        if background && st.not_before.is_some_and(|t| now < t) {
            return None;
        }
        if !background {
            // Another caller may have stored a token between our lookup and this lock.
            if let Lookup::Hit(t) | Lookup::Refresh(t) = self.lookup(now) {
                return ready(Ok(t));
            }
        }
        if st.held(now) {
            if background {
                if st.rate_limited {
                    return None;
                }
            } else if let Some(e) = st.remembered(now) {
                // The server said when to come back, or it failed again just now: every
                // caller hears it at once, no request.
                return ready(Err(e));
            }
        }
        let slot = self.clone();
        let policy = policy.clone();
        let fut = start();
        let task = crate::runtime::spawn(async move {
            let result = fut.await;
            slot.complete(&policy, background, result)
        });
        let shared = async move {
            task.await.unwrap_or_else(|e| {
                Err(crate::Error::Network(format!(
                    "token fetch task ended: {e}"
                )))
            })
        }
        .boxed()
        .shared();
        st.inflight = Some(shared.clone());
        Some(shared)
    }

    fn complete(
        &self,
        policy: &CachePolicy,
        background: bool,
        result: Result<Fetched>,
    ) -> Result<Token> {
        let now = Stamp::now();
        let mut st = lock(&self.state);
        st.inflight = None;
        match result {
            Ok(f) => {
                let (refresh_at, fresh_until) = deadlines(policy, f.sent, f.token.expires_in());
                let hit_until = CoarseDeadline::after(refresh_at.saturating_duration_since(now));
                // Stored before `inflight` is released (we hold the lock), so a caller sees
                // either the fetch or its token, never neither.
                self.set_current(Some(Arc::new(Cached {
                    token: f.token.clone(),
                    refresh_at,
                    fresh_until,
                    hit_until,
                })));
                *st = State::default();
                Ok(f.token)
            }
            Err(e) if !e.is_transient() => {
                // Not an outage (a refused client, a broken answer): nothing is held down and
                // the next caller asks again, as it would without a cache.
                let keep_not_before = self.background_backoff(now);
                *st = State::default();
                st.not_before = Some(keep_not_before);
                Err(e)
            }
            Err(e) => {
                // A failed refresh while the token is still served is the first failure at
                // most: the hold-down grows only once callers have nothing to be served.
                st.failures = if background {
                    st.failures.max(1)
                } else {
                    st.failures.saturating_add(1)
                };
                let mut hold = hold_down(st.failures);
                st.rate_limited = false;
                if let crate::Error::RateLimited {
                    retry_after: Some(wait),
                    ..
                } = &e
                {
                    hold = hold.max(*wait);
                    st.rate_limited = true;
                }
                st.held_until = Some(now + hold);
                st.last_error = Some(e.clone());
                st.not_before = Some(self.background_backoff(now));
                Err(e)
            }
        }
    }

    /// When the next background refresh may start after a failed one: after a quarter of what
    /// is left of the current token, between 100 ms and 30 s.
    fn background_backoff(&self, now: Stamp) -> Stamp {
        let left = self
            .current
            .load()
            .as_ref()
            .map(|c| c.fresh_until.saturating_duration_since(now))
            .unwrap_or_default();
        now + (left / 4).clamp(Duration::from_millis(100), Duration::from_secs(30))
    }

    /// Drops the cached token (a caller saw it rejected).
    pub fn invalidate(&self) {
        self.set_current(None);
    }

    /// Drops the cached token only if it is `token`: a caller that saw `token` rejected must
    /// not drop a newer one that another caller fetched meanwhile. Whether it was dropped.
    pub fn invalidate_if(&self, token: &Token) -> bool {
        // Under the state lock, so no fetch completes between the check and the store.
        let _st = lock(&self.state);
        let current = self
            .current
            .load()
            .as_ref()
            .is_some_and(|c| c.token.ptr_eq(token));
        if current {
            self.set_current(None);
        }
        current
    }
}

/// `(refresh_at, fresh_until)` for a token of `expires_in` seconds sent at `sent`.
pub(crate) fn deadlines(policy: &CachePolicy, sent: Stamp, expires_in: u64) -> (Stamp, Stamp) {
    let life = Duration::from_secs(expires_in);
    let margin = policy.expiry_margin.min(life / 5);
    let usable = life - margin;
    let fresh_until = sent + usable;
    let lead = usable
        .mul_f64(policy.refresh_ahead)
        .min(policy.max_refresh_ahead);
    let jitter = usable
        .mul_f64(policy.jitter * rand::rng().random::<f64>())
        .min(policy.max_refresh_ahead);
    let refresh_at = fresh_until
        .checked_sub(lead + jitter)
        .unwrap_or(sent)
        .max(sent);
    (refresh_at, fresh_until)
}

// A poisoned lock only means another caller panicked; the data is still consistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_ordered_and_bounded() {
        let p = CachePolicy::default();
        let t0 = Stamp::now();
        for life in [1, 2, 5, 60, 3600, 86_400, 10 * 365 * 86_400] {
            for _ in 0..50 {
                let (r, f) = deadlines(&p, t0, life);
                let l = Duration::from_secs(life);
                assert!(t0 <= r && r <= f, "life {life}");
                assert!(f < t0 + l, "never served up to expiry");
                // margin capped at L/5: a short token stays usable for most of its life
                assert!(f - t0 >= l.mul_f64(0.8), "life {life}");
                // refresh starts at most max_refresh_ahead (+ jitter cap) early
                assert!(f - r <= p.max_refresh_ahead * 2);
            }
        }
        let (r, f) = deadlines(&p, t0, 86_400);
        assert_eq!(f - t0, Duration::from_secs(86_400 - 30));
        assert!(f - r >= Duration::from_secs(3600));
    }

    #[test]
    fn jitter_spreads_refreshes() {
        let p = CachePolicy::default();
        let t0 = Stamp::now();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            seen.insert(deadlines(&p, t0, 3600).0);
        }
        assert!(seen.len() > 10, "refresh points should differ");
    }
}
