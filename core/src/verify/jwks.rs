//! The tenant's signing keys: `{domain}/.well-known/jwks.json`, fetched once, kept for a
//! lifetime, refetched when a token names a `kid` we do not know, but at most once per
//! `min_refetch_interval` (a flood of tokens with random `kid`s is not a flood of requests).
//!
//! Lookups of a known key are lock-free (`ArcSwap`); fetches are single-flight (one async
//! mutex: whoever waited re-checks the fresh set before fetching again). A failed fetch keeps
//! serving the previous set (stale-if-error) and is not retried before the interval elapses.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use url::Url;

use crate::clock::Stamp;
use crate::error::{Error, Result, TokenCheck};
use crate::http::Transport;
use crate::oauth::credentials::SigningAlg;
use crate::runtime::PerFork;
use crate::text::truncate;

/// More keys than this in a JWKS are ignored (a tenant has two or three).
const MAX_KEYS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    /// P-256
    Ec,
}

/// A public key from the JWKS, ready to verify.
pub(crate) struct VerifyKey {
    pub kid: Option<String>,
    pub kind: KeyKind,
    /// The JWK's `alg`, when it names one: then only that algorithm may use the key.
    pub alg: Option<SigningAlg>,
    key: PublicKey,
}

/// Key material for ring (several times faster than the pure-Rust `rsa` crate for RSA
/// verification, and already linked for rustls).
enum PublicKey {
    /// Big-endian modulus (no leading zeros) and exponent.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Uncompressed SEC1 point `04 || x || y`.
    P256(Vec<u8>),
}

impl VerifyKey {
    /// Whether `signature` is a valid `alg` signature of `message` by this key. The caller
    /// checked [`Self::accepts`].
    pub fn verify(&self, alg: SigningAlg, message: &[u8], signature: &[u8]) -> bool {
        match (&self.key, alg) {
            (PublicKey::Rsa { n, e }, SigningAlg::RS256) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            (PublicKey::Rsa { n, e }, SigningAlg::PS256) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, message, signature)
                .is_ok(),
            (PublicKey::P256(point), SigningAlg::ES256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            _ => false,
        }
    }

    pub fn accepts(&self, alg: SigningAlg) -> bool {
        let family = match alg {
            SigningAlg::RS256 | SigningAlg::PS256 => KeyKind::Rsa,
            SigningAlg::ES256 => KeyKind::Ec,
        };
        self.kind == family && self.alg.is_none_or(|a| a == alg)
    }
}

pub(crate) struct KeySet {
    by_kid: HashMap<String, Vec<Arc<VerifyKey>>>,
    all: Vec<Arc<VerifyKey>>,
    /// On the suspend-aware clock, so a resumed laptop or VM does not keep a revoked key
    /// longer than its lifetime (review N12).
    fetched: Stamp,
}

/// Why a set has no key for a token.
pub(crate) enum Miss {
    /// No key with this `kid` (or, without a `kid`, not exactly one candidate).
    Unknown,
    /// The key exists but cannot verify this algorithm.
    Incompatible(String),
}

impl KeySet {
    pub fn select(&self, kid: Option<&str>, alg: SigningAlg) -> Result<Arc<VerifyKey>, Miss> {
        match kid {
            Some(kid) => {
                let keys = self.by_kid.get(kid).ok_or(Miss::Unknown)?;
                keys.iter()
                    .find(|k| k.accepts(alg))
                    .cloned()
                    .ok_or_else(|| {
                        let k = &keys[0];
                        Miss::Incompatible(format!(
                            "key {:?} is {} and cannot verify {}",
                            truncate(&printable(kid), 64),
                            match (k.kind, k.alg) {
                                (_, Some(a)) => format!("for {} only", a.as_str()),
                                (KeyKind::Rsa, None) => "an RSA key".into(),
                                (KeyKind::Ec, None) => "a P-256 key".into(),
                            },
                            alg.as_str()
                        ))
                    })
            }
            None => {
                let mut it = self.all.iter().filter(|k| k.accepts(alg));
                match (it.next(), it.next()) {
                    (Some(k), None) => Ok(k.clone()),
                    _ => Err(Miss::Unknown),
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }
}

/// How long past its lifetime a key set still serves while the JWKS cannot be fetched.
const STALE_IF_ERROR: Duration = Duration::from_secs(3600);

/// The key set of one verifier; cheap to share with a background refresh.
pub(crate) struct Jwks(Arc<Shared>);

impl std::ops::Deref for Jwks {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub(crate) struct Shared {
    url: Url,
    transport: Transport,
    lifetime: Duration,
    min_interval: Duration,
    keys: ArcSwapOption<KeySet>,
    /// Held while fetching: concurrent misses share one fetch. Per fork: a child must not
    /// inherit a lock held by a fetch of the parent's.
    fetching: PerFork<tokio::sync::Mutex<()>>,
    /// Milliseconds after `epoch` of the last fetch attempt, plus one (0: never).
    last_attempt: AtomicU64,
    /// The fork generation `last_attempt` was made in.
    attempt_generation: AtomicU64,
    epoch: Stamp,
    last_error: Mutex<Option<Error>>,
    fetches: AtomicU64,
}

/// What the lock-free lookup found.
pub(crate) enum Quick {
    Key(Arc<VerifyKey>),
    /// Only a fetch (or the slow path's rate-limit decision) can tell.
    Slow,
}

impl Jwks {
    pub fn new(url: Url, transport: Transport, lifetime: Duration, min_interval: Duration) -> Self {
        Self(Arc::new(Shared {
            url,
            transport,
            lifetime,
            min_interval,
            keys: ArcSwapOption::empty(),
            fetching: PerFork::default(),
            last_attempt: AtomicU64::new(0),
            attempt_generation: AtomicU64::new(0),
            epoch: Stamp::now(),
            last_error: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }))
    }

    /// The lock-free path: a key from a fresh set, a definite error, or `Slow`.
    pub fn quick(&self, kid: Option<&str>, alg: SigningAlg) -> Result<Quick> {
        let guard = self.keys.load();
        let Some(set) = guard.as_ref() else {
            return Ok(Quick::Slow);
        };
        if !self.fresh(set) {
            // Stale: a known key is served at once while the set refreshes in the background
            // (M2); only an unknown kid, or a set past its stale limit, waits for a fetch.
            if self.within_stale_limit(set) {
                if let Ok(k) = set.select(kid, alg) {
                    self.refresh_in_background();
                    return Ok(Quick::Key(k));
                }
            }
            return Ok(Quick::Slow);
        }
        match set.select(kid, alg) {
            Ok(k) => Ok(Quick::Key(k)),
            Err(Miss::Incompatible(d)) => Err(invalid(TokenCheck::Algorithm, d)),
            // A token without `kid` never triggers a refetch; neither does one that names an
            // unknown `kid` while the last fetch is recent.
            Err(Miss::Unknown) if kid.is_none() || self.throttled() => Err(unknown_key(kid, set)),
            Err(Miss::Unknown) => Ok(Quick::Slow),
        }
    }

    /// The key for a token: from the current set, else after (at most) one fetch.
    pub async fn resolve(&self, kid: Option<&str>, alg: SigningAlg) -> Result<Arc<VerifyKey>> {
        if let Quick::Key(k) = self.quick(kid, alg)? {
            return Ok(k);
        }
        let lock = self.fetching.get();
        let _one = lock.lock().await;
        // Someone may have fetched while we waited.
        let current = self.keys.load_full();
        if let Some(set) = current.as_deref().filter(|s| self.fresh(s)) {
            match set.select(kid, alg) {
                Ok(k) => return Ok(k),
                Err(Miss::Incompatible(d)) => return Err(invalid(TokenCheck::Algorithm, d)),
                Err(Miss::Unknown) if kid.is_none() => return Err(unknown_key(kid, set)),
                Err(Miss::Unknown) => {}
            }
        }
        if self.throttled() {
            // No new fetch yet: a stale set still serves (within STALE_IF_ERROR), else the
            // last failure explains.
            if let Some(set) = current.as_deref().filter(|s| self.within_stale_limit(s)) {
                return match set.select(kid, alg) {
                    Ok(k) => Ok(k),
                    Err(Miss::Incompatible(d)) => Err(invalid(TokenCheck::Algorithm, d)),
                    Err(Miss::Unknown) => Err(self
                        .last_error()
                        .filter(|_| !self.fresh(set))
                        .unwrap_or_else(|| unknown_key(kid, set))),
                };
            }
            return Err(self.last_error().unwrap_or_else(|| {
                invalid(TokenCheck::Jwks, "the JWKS has not been fetched yet")
            }));
        }
        match self.fetch_locked().await {
            Ok(set) => match set.select(kid, alg) {
                Ok(k) => Ok(k),
                Err(Miss::Incompatible(d)) => Err(invalid(TokenCheck::Algorithm, d)),
                Err(Miss::Unknown) => Err(unknown_key(kid, &set)),
            },
            Err(e) => {
                // Stale-if-error, but not forever: a key removed from the JWKS (revoked) must
                // stop verifying once the outage outlasts STALE_IF_ERROR.
                let usable = current.as_deref().filter(|s| self.within_stale_limit(s));
                if let Some(Ok(k)) = usable.map(|s| s.select(kid, alg)) {
                    tracing::warn!(url = %self.url, error = %e, "JWKS refetch failed; using the keys fetched before");
                    return Ok(k);
                }
                Err(e)
            }
        }
    }

    /// Fetches now, whatever the interval (an explicit refresh or a warm-up).
    pub async fn refresh(&self) -> Result<usize> {
        let lock = self.fetching.get();
        let _one = lock.lock().await;
        self.fetch_locked().await.map(|s| s.len())
    }

    /// Starts a fetch on the runtime unless one is running or one was tried recently.
    fn refresh_in_background(&self) {
        if self.throttled() {
            return;
        }
        let Ok(one) = self.fetching.get().try_lock_owned() else {
            return;
        };
        let shared = self.0.clone();
        crate::runtime::spawn(async move {
            let _one = one;
            // A failure is recorded and logged; the stale set keeps serving.
            let _ = shared.fetch_locked().await;
        });
    }
}

impl Shared {
    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn fresh(&self, set: &KeySet) -> bool {
        (Stamp::now() - set.fetched) < self.lifetime
    }

    fn within_stale_limit(&self, set: &KeySet) -> bool {
        (Stamp::now() - set.fetched) < self.lifetime + STALE_IF_ERROR
    }

    /// Whether a fetch was attempted less than `min_interval` ago (by this process: a forked
    /// child never waits for an attempt of its parent's, which it will never see finish).
    fn throttled(&self) -> bool {
        let last = self.last_attempt.load(Ordering::Acquire);
        last != 0
            && self.attempt_generation.load(Ordering::Acquire) == crate::runtime::generation()
            && Duration::from_millis(
                ((Stamp::now() - self.epoch).as_millis() as u64).saturating_sub(last - 1),
            ) < self.min_interval
    }

    fn mark_attempt(&self) {
        let now = (Stamp::now() - self.epoch).as_millis() as u64 + 1;
        self.attempt_generation
            .store(crate::runtime::generation(), Ordering::Release);
        self.last_attempt.store(now, Ordering::Release);
    }

    fn last_error(&self) -> Option<Error> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// One fetch; the caller holds `fetching`.
    async fn fetch_locked(&self) -> Result<Arc<KeySet>> {
        self.mark_attempt();
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let on_retry = |attempt: u32, wait: Duration, e: &Error| {
            tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, kind = e.kind(), error = %e, "retrying JWKS request");
        };
        let result = match self.transport.get(&self.url, None, &on_retry).await {
            Ok(reply) => parse_jwks(&reply.body),
            Err(e) => Err(invalid(
                TokenCheck::Jwks,
                format!("cannot fetch the JWKS from {}: {e}", self.url),
            )),
        };
        // A set with no usable key never replaces one that has keys (M3): `{"keys": []}` from a
        // broken deploy must not reject every token.
        let result = result.and_then(|set| {
            let kept = self.keys.load().as_ref().map_or(0, |k| k.len());
            if set.len() == 0 && kept > 0 {
                return Err(invalid(
                    TokenCheck::Jwks,
                    format!(
                        "the JWKS from {} has no usable key; keeping the {kept} keys fetched before",
                        self.url
                    ),
                ));
            }
            Ok(set)
        });
        let mut last = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(set) => {
                *last = None;
                let set = Arc::new(set);
                tracing::debug!(url = %self.url, keys = set.len(), "JWKS fetched");
                self.keys.store(Some(set.clone()));
                Ok(set)
            }
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e, "JWKS fetch failed");
                *last = Some(e.clone());
                Err(e)
            }
        }
    }
}

fn invalid(check: TokenCheck, detail: impl Into<String>) -> Error {
    Error::InvalidToken {
        check,
        detail: detail.into(),
    }
}

fn unknown_key(kid: Option<&str>, set: &KeySet) -> Error {
    match kid {
        Some(kid) => invalid(
            TokenCheck::UnknownKey,
            format!(
                "no key with kid {:?} in the JWKS ({} keys)",
                truncate(&printable(kid), 64),
                set.len()
            ),
        ),
        None => invalid(
            TokenCheck::UnknownKey,
            "the token has no kid and the JWKS has no single key for its algorithm",
        ),
    }
}

/// Attacker-controlled text, safe to put in a message.
pub(crate) fn printable(s: &str) -> String {
    s.replace(|c: char| c.is_control(), "?")
}

/// Parses a JWKS document; unusable keys (HMAC, EdDSA, other curves, RSA under 2048 or over
/// 4096 bits, `use` other than `sig`, an algorithm we never accept) are skipped.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<KeySet> {
    let bad = |d: &str| invalid(TokenCheck::Jwks, format!("the JWKS is unusable: {d}"));
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| bad("the body is not JSON"))?;
    let keys = doc
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or_else(|| bad("no \"keys\" array"))?;
    let mut set = KeySet {
        by_kid: HashMap::new(),
        all: Vec::new(),
        fetched: Stamp::now(),
    };
    for jwk in keys.iter().take(MAX_KEYS) {
        match parse_jwk(jwk) {
            Ok(k) => {
                let k = Arc::new(k);
                if let Some(kid) = &k.kid {
                    set.by_kid.entry(kid.clone()).or_default().push(k.clone());
                }
                set.all.push(k);
            }
            Err(why) => tracing::debug!(why, "JWKS key skipped"),
        }
    }
    Ok(set)
}

fn parse_jwk(jwk: &serde_json::Value) -> Result<VerifyKey, &'static str> {
    let s = |name: &str| jwk.get(name).and_then(|v| v.as_str());
    if !jwk.is_object() {
        return Err("not an object");
    }
    if s("use").is_some_and(|u| u != "sig") {
        return Err("not a signing key");
    }
    let alg = match s("alg") {
        None => None,
        Some(a) => Some(SigningAlg::parse(a).map_err(|_| "algorithm not accepted")?),
    };
    let kid = match jwk.get("kid") {
        None => None,
        Some(serde_json::Value::String(k)) => Some(k.clone()),
        Some(_) => return Err("kid is not a string"),
    };
    let b64 = |name: &str| {
        s(name)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or("missing or bad base64url member")
    };
    let (kind, key) = match s("kty") {
        Some("RSA") => {
            let n = b64("n")?;
            let e = b64("e")?;
            let n = &n[n.iter().position(|b| *b != 0).unwrap_or(n.len())..];
            let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
            if !(2048..=4096).contains(&bits) {
                return Err("RSA modulus must have 2048 to 4096 bits");
            }
            if e.is_empty() || e.len() > 8 {
                return Err("bad RSA exponent");
            }
            (
                KeyKind::Rsa,
                PublicKey::Rsa {
                    n: n.to_vec(),
                    e: e[e.iter().position(|b| *b != 0).unwrap_or(e.len())..].to_vec(),
                },
            )
        }
        Some("EC") => {
            if s("crv") != Some("P-256") {
                return Err("only P-256 EC keys are accepted");
            }
            let (x, y) = (b64("x")?, b64("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("bad P-256 coordinates");
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (KeyKind::Ec, PublicKey::P256(point))
        }
        _ => return Err("key type not accepted"),
    };
    let k = VerifyKey {
        kid,
        kind,
        alg,
        key,
    };
    if alg.is_some_and(|a| !k.accepts(a)) {
        return Err("alg does not match the key type");
    }
    Ok(k)
}
