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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use futures::future::{BoxFuture, FutureExt, Shared};
use rand::Rng;

use super::config::CachePolicy;
use super::request::TokenRequest;
use crate::clock::Stamp;
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

/// The application's own keys (not attacker-chosen), so the fast non-keyed hash is fine.
type Map<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// The process's cache; a forked child starts with an empty one (fetches in flight belong to
/// the parent's runtime).
static CACHE: PerProcess<Cache> = PerProcess::new(Cache::default);

pub(crate) fn process_cache() -> Current<Cache> {
    CACHE.get()
}

/// Maps are read without locks (`ArcSwap` snapshots) and copied on insert, which only happens
/// the first time a key is seen.
#[derive(Default)]
pub(crate) struct Cache {
    clients: ArcSwap<Map<ClientKey, Arc<ClientSlots>>>,
    insert: Mutex<()>,
}

#[derive(Default)]
pub(crate) struct ClientSlots {
    slots: ArcSwap<Map<TokenRequest, Arc<Slot>>>,
    insert: Mutex<()>,
}

impl Cache {
    /// Calls `f` with the slot of `(key, req)`, creating it if needed.
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
        let slot = client.slot(req);
        f(&slot)
    }

    fn client(&self, key: ClientKey) -> Arc<ClientSlots> {
        let _g = lock(&self.insert);
        if let Some(c) = self.clients.load().get(&key) {
            return c.clone();
        }
        let c = Arc::new(ClientSlots::default());
        let mut map = Map::clone(&self.clients.load());
        map.insert(key, c.clone());
        self.clients.store(Arc::new(map));
        c
    }
}

impl ClientSlots {
    fn slot(&self, req: &TokenRequest) -> Arc<Slot> {
        let _g = lock(&self.insert);
        if let Some(s) = self.slots.load().get(req) {
            return s.clone();
        }
        let mut map = Map::clone(&self.slots.load());
        if map.len() >= 1024 {
            // Many distinct requests: forget the ones with nothing worth keeping.
            let now = Stamp::now();
            map.retain(|_, s| s.is_live(now));
        }
        let s = Arc::new(Slot::default());
        map.insert(req.clone(), s.clone());
        self.slots.store(Arc::new(map));
        s
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
    /// After a 429 that said when to come back: until then no request is sent for this key.
    rate_limited_until: Option<Stamp>,
}

impl Slot {
    pub fn lookup(&self, now: Stamp) -> Lookup {
        match &*self.current.load() {
            Some(c) if now < c.refresh_at => Lookup::Hit(c.token.clone()),
            Some(c) if now < c.fresh_until => Lookup::Refresh(c.token.clone()),
            _ => Lookup::Miss,
        }
    }

    fn is_live(&self, now: Stamp) -> bool {
        self.current
            .load()
            .as_ref()
            .is_some_and(|c| now < c.fresh_until)
            || lock(&self.state).inflight.is_some()
    }

    /// The fetch in flight, or a new one made by `start`. For a background refresh
    /// (`background`), nothing is started while a previous refresh failed recently, and `None`
    /// is returned when no fetch was started by this call.
    pub fn fetch(
        self: &Arc<Self>,
        policy: &CachePolicy,
        background: bool,
        start: impl FnOnce() -> BoxFuture<'static, Result<Fetched>>,
    ) -> Option<SharedFetch> {
        let mut st = lock(&self.state);
        if let Some(f) = &st.inflight {
            return (!background).then(|| f.clone());
        }
        let now = Stamp::now();
        if background && st.not_before.is_some_and(|t| now < t) {
            return None;
        }
        if !background {
            // Another caller may have stored a token between our lookup and this lock.
            if let Lookup::Hit(t) | Lookup::Refresh(t) = self.lookup(now) {
                return Some(futures::future::ready(Ok(t)).boxed().shared());
            }
        }
        if let Some(until) = st.rate_limited_until.filter(|t| now < *t) {
            if background {
                return None;
            }
            // The server said when to come back: every caller hears it at once, no request.
            let e = crate::Error::RateLimited {
                retry_after: Some(until - now),
                description: Some("remembered from an earlier 429 for this request".into()),
            };
            return Some(futures::future::ready(Err(e)).boxed().shared());
        }
        let slot = self.clone();
        let policy = policy.clone();
        let fut = start();
        let task = crate::runtime::spawn(async move {
            let result = fut.await;
            slot.complete(&policy, result)
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

    fn complete(&self, policy: &CachePolicy, result: Result<Fetched>) -> Result<Token> {
        let now = Stamp::now();
        let mut st = lock(&self.state);
        st.inflight = None;
        match result {
            Ok(f) => {
                let (refresh_at, fresh_until) = deadlines(policy, f.sent, f.token.expires_in());
                // Stored before `inflight` is released (we hold the lock), so a caller sees
                // either the fetch or its token, never neither.
                self.current.store(Some(Arc::new(Cached {
                    token: f.token.clone(),
                    refresh_at,
                    fresh_until,
                })));
                st.not_before = None;
                Ok(f.token)
            }
            Err(e) => {
                if let crate::Error::RateLimited {
                    retry_after: Some(wait),
                    ..
                } = &e
                {
                    st.rate_limited_until = Some(now + *wait);
                }
                // Back off background refreshes: a quarter of what is left of the current
                // token, between 100 ms and 30 s.
                let left = self
                    .current
                    .load()
                    .as_ref()
                    .map(|c| c.fresh_until.saturating_duration_since(now))
                    .unwrap_or_default();
                let wait = (left / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
                st.not_before = Some(now + wait);
                Err(e)
            }
        }
    }

    /// Drops the cached token (a caller saw it rejected).
    pub fn invalidate(&self) {
        self.current.store(None);
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
            self.current.store(None);
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
