//! `TokenClient`: client-credentials tokens through the process-wide cache.

use std::fmt;
use std::sync::{Arc, LazyLock};

use futures::future::FutureExt;
use sha2::{Digest, Sha256};

use super::cache::{process_cache, ClientKey, Fetched, Lookup, SharedFetch, Slot};
use super::config::{CachePolicy, ClientConfig, Resolved};
use super::exchange::ExchangeRequest;
use super::prepared::PreparedRequest;
use super::request::TokenRequest;
use super::shared_level::SharedLevel;
use super::stats::{Counters, Stats};
use crate::error::{Error, Result};
use crate::http::Transport;
use crate::oauth::credentials::AuthMethod;
use crate::oauth::token::{parse_token_response, Token};

/// Gets client-credentials access tokens, served from a cache shared by every client of the
/// process with the same key material. Cheap to clone; safe to share between threads.
///
/// # Example
///
/// ```no_run
/// use tokenkeeper::{ClientConfig, Credentials, TokenClient, TokenRequest};
///
/// # async fn run() -> tokenkeeper::Result<()> {
/// let config = ClientConfig::new("tenant.auth0.com", "client-id", Credentials::client_secret("…"));
/// let client = TokenClient::new(config)?;
/// let req = TokenRequest::new("https://api.example.com").scope("read:things");
/// let token = client.get_token(&req).await?; // from the cache while it is fresh
/// // … the API answered 401 for this token: forget it, unless another caller renewed it since.
/// client.invalidate_if_current(&req, &token);
/// let token = client.get_token(&req).await?;
/// println!("{}", token.authorization_header());
/// println!("{} minted, {} cache hits", client.stats().tokens_minted, client.stats().cache_hits);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    resolved: Resolved,
    transport: Transport,
    key: ClientKey,
    counters: Counters,
    shared: Option<SharedLevel>,
}

/// What a cache lookup gives: a token now, or a fetch to wait for.
enum Step {
    Ready(Token),
    Wait(SharedFetch),
}

impl TokenClient {
    /// Validates the config; fails with [`Error::Config`] on anything that cannot work.
    ///
    /// See the example on [`TokenClient`].
    pub fn new(config: ClientConfig) -> Result<Self> {
        let resolved = config.validate()?;
        let transport = Transport::new(&config.http)?;
        let key = client_key(&config, &resolved);
        let counters = Counters::default();
        let cap = config.http.effective()?.retry_after_cap;
        let shared = config
            .shared_cache
            .as_ref()
            .and_then(|s| SharedLevel::open(s, cap, &counters));
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                resolved,
                transport,
                key,
                counters,
                shared,
            }),
        })
    }

    /// A token for the request: from the cache when fresh, otherwise from the token endpoint.
    ///
    /// See the example on [`TokenClient`].
    pub async fn get_token(&self, req: &TokenRequest) -> Result<Token> {
        match self.step(req, None)? {
            Step::Ready(t) => Ok(t),
            Step::Wait(f) => f.await,
        }
    }

    /// [`Self::get_token`] for synchronous callers, on the shared runtime. Callable from any
    /// thread; a cache hit never leaves the calling thread.
    ///
    /// See the example on [`TokenClient`].
    pub fn get_token_blocking(&self, req: &TokenRequest) -> Result<Token> {
        crate::runtime::can_block()?;
        match self.step(req, None)? {
            Step::Ready(t) => Ok(t),
            Step::Wait(f) => crate::runtime::block_on(f),
        }
    }

    /// The cached token for the request if one can be served now, without any waiting.
    ///
    /// See the example on [`TokenClient`].
    pub fn cached(&self, req: &TokenRequest) -> Option<Token> {
        self.with_slot(req, |slot| match slot.lookup(crate::clock::Stamp::now()) {
            Lookup::Hit(t) | Lookup::Refresh(t) => Some(t),
            Lookup::Miss => None,
        })
    }

    /// A token exchange (RFC 8693; Auth0 On-Behalf-Of, Custom Token Exchange, Token Vault),
    /// served from the cache while its answer is fresh. The answer is cached per subject
    /// (and actor) token, audience, scope and organization, and never past the subject's own
    /// `exp` when the subject is a JWT.
    ///
    /// See the example on [`ExchangeRequest`].
    pub async fn exchange(&self, req: &ExchangeRequest) -> Result<Token> {
        match self.exchange_step(req)? {
            Step::Ready(t) => Ok(t),
            Step::Wait(f) => f.await,
        }
    }

    /// [`Self::exchange`] for synchronous callers, on the shared runtime.
    ///
    /// See the example on [`ExchangeRequest`].
    pub fn exchange_blocking(&self, req: &ExchangeRequest) -> Result<Token> {
        crate::runtime::can_block()?;
        match self.exchange_step(req)? {
            Step::Ready(t) => Ok(t),
            Step::Wait(f) => crate::runtime::block_on(f),
        }
    }

    /// Forgets the cached answer of an exchange if it is still `token` (an API rejected it).
    /// Whether it was forgotten.
    ///
    /// See the example on [`ExchangeRequest`].
    pub fn invalidate_exchange_if_current(&self, req: &ExchangeRequest, token: &Token) -> bool {
        let Ok(key) = req.resolve(self.inner.config.default_audience.as_deref(), &SALT) else {
            return false;
        };
        let dropped = self.with_slot(&key, |slot| slot.invalidate_if(token));
        let shared_dropped = self.inner.shared.as_ref().is_some_and(|shared| {
            let keys = self.inner.shared_keys(&key, Some(req));
            shared.forget(&keys, Some(token), &self.inner.counters)
        });
        dropped || shared_dropped
    }

    fn exchange_step(&self, req: &ExchangeRequest) -> Result<Step> {
        let inner = &self.inner;
        let key = req.resolve(inner.config.default_audience.as_deref(), &SALT)?;
        let policy = &inner.config.cache;
        if policy.enabled {
            if let Some(t) = process_cache().hit(inner.key, &key) {
                inner.counters.cache_hits.bump();
                return Ok(Step::Ready(t));
            }
        }
        let policy = &policy_of(policy, Some(req));
        let exchange = Some(Arc::new(req.clone()));
        if !policy.enabled {
            return Ok(self.uncached(&key, exchange));
        }
        let start = || mint(inner.clone(), key.clone(), exchange.clone()).boxed();
        self.with_slot(&key, |slot| self.serve(&key, policy, slot, start))
    }

    /// The request of [`Self::request`], prepared: validated and normalised once, holding its
    /// cache slot, so that [`PreparedRequest::hit`] serves a fresh token in a few nanoseconds.
    /// The hit path of every surface; keep one per request you make again and again.
    ///
    /// See the example on [`PreparedRequest`].
    pub fn prepare(
        &self,
        audience: Option<&str>,
        scope: Option<&str>,
        organization: Option<&str>,
    ) -> Result<PreparedRequest> {
        self.prepared(self.request(audience, scope, organization)?)
    }

    /// `req`, prepared as [`Self::prepare`] does.
    ///
    /// See the example on [`PreparedRequest`].
    pub fn prepared(&self, req: TokenRequest) -> Result<PreparedRequest> {
        req.validate()?;
        Ok(PreparedRequest::new(self.clone(), req))
    }

    #[inline]
    pub(crate) fn count_hit(&self) {
        self.inner.counters.cache_hits.bump();
    }

    pub(crate) async fn get_prepared(&self, p: &PreparedRequest) -> Result<Token> {
        match self.step(p.request(), Some(p))? {
            Step::Ready(t) => Ok(t),
            Step::Wait(f) => f.await,
        }
    }

    pub(crate) fn get_prepared_blocking(&self, p: &PreparedRequest) -> Result<Token> {
        crate::runtime::can_block()?;
        match self.step(p.request(), Some(p))? {
            Step::Ready(t) => Ok(t),
            Step::Wait(f) => crate::runtime::block_on(f),
        }
    }

    /// Forgets the cached token for the request (for example after an API rejected it), for
    /// every client of the process that shares it.
    ///
    /// See the example on [`TokenClient`].
    pub fn invalidate(&self, req: &TokenRequest) {
        self.with_slot(req, |slot| slot.invalidate());
        if let Some(shared) = &self.inner.shared {
            let key = self.inner.shared_keys(req, None);
            shared.forget(&key, None, &self.inner.counters);
        }
    }

    /// Forgets the cached token for the request only if it is still `token` (the one an API
    /// rejected), so a retry-on-401 never drops a token another caller renewed meanwhile.
    /// Whether it was forgotten.
    ///
    /// See the example on [`TokenClient`].
    pub fn invalidate_if_current(&self, req: &TokenRequest, token: &Token) -> bool {
        let dropped = self.with_slot(req, |slot| slot.invalidate_if(token));
        let shared_dropped = self.inner.shared.as_ref().is_some_and(|shared| {
            let key = self.inner.shared_keys(req, None);
            shared.forget(&key, Some(token), &self.inner.counters)
        });
        dropped || shared_dropped
    }

    /// A request for the configured default audience (`AUTH0_AUDIENCE` with `from_env`).
    ///
    /// See the example on [`TokenClient`].
    pub fn default_request(&self) -> Result<TokenRequest> {
        self.request(None, None, None)
    }

    /// The request of a surface that takes its parts separately: `audience` (the configured
    /// default audience when `None` or empty), `scope` and `organization` (`None` or empty:
    /// none).
    ///
    /// See the example on [`TokenClient`].
    pub fn request(
        &self,
        audience: Option<&str>,
        scope: Option<&str>,
        organization: Option<&str>,
    ) -> Result<TokenRequest> {
        let audience = audience
            .filter(|a| !a.trim().is_empty())
            .or(self.inner.config.default_audience.as_deref())
            .ok_or_else(|| Error::config("no audience given and no default audience configured"))?;
        let mut req = TokenRequest::new(audience);
        if let Some(s) = scope {
            req = req.scope(s);
        }
        if let Some(o) = organization {
            req = req.organization(o);
        }
        req.validate()?;
        Ok(req)
    }

    /// What the process cache holds for this client (tests of bounded memory).
    #[doc(hidden)]
    pub fn cache_census(&self) -> super::cache::CacheCensus {
        process_cache().census(self.inner.key)
    }

    /// A snapshot of this client's counters.
    ///
    /// See the example on [`TokenClient`].
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// `https://{domain}/`: the issuer Auth0 puts in `iss`.
    ///
    /// See the example on [`TokenClient`].
    pub fn issuer(&self) -> &str {
        &self.inner.resolved.issuer
    }

    /// The client id the client authenticates as.
    ///
    /// See the example on [`TokenClient`].
    pub fn client_id(&self) -> &str {
        &self.inner.config.client_id
    }

    /// How the client authenticates at the token endpoint: the configured method,
    /// `client_secret_post` by default for a secret, `private_key_jwt` for a key.
    ///
    /// See the example on [`TokenClient`].
    pub fn auth_method(&self) -> AuthMethod {
        self.inner.resolved.method
    }

    /// The token endpoint: `{domain}/oauth/token` unless overridden.
    ///
    /// See the example on [`TokenClient`].
    pub fn token_url(&self) -> &str {
        self.inner.resolved.token_url.as_str()
    }

    fn with_slot<R>(&self, req: &TokenRequest, f: impl FnOnce(&Arc<Slot>) -> R) -> R {
        process_cache().with_slot(self.inner.key, req, f)
    }

    /// A lookup, and a fetch when needed; `prepared` (which has tried its own hit) keeps the
    /// slot found.
    fn step(&self, req: &TokenRequest, prepared: Option<&PreparedRequest>) -> Result<Step> {
        let inner = &self.inner;
        let policy = &inner.config.cache;
        // The hit path: no validation (a slot holds a token only for a request that passed
        // it), no slot made, no future, the coarse clock.
        if policy.enabled && prepared.is_none() {
            if let Some(t) = process_cache().hit(inner.key, req) {
                inner.counters.cache_hits.bump();
                return Ok(Step::Ready(t));
            }
        }
        req.validate()?;
        if !policy.enabled {
            return Ok(self.uncached(req, None));
        }
        let start = || mint(inner.clone(), req.clone(), None).boxed();
        let generation = crate::runtime::generation();
        self.with_slot(req, |slot| {
            if let Some(p) = prepared {
                p.hold(slot, generation);
            }
            self.serve(req, policy, slot, start)
        })
    }

    /// A fetch with the cache off: spawned, so the HTTP work runs on our runtime whatever
    /// executor awaits it.
    fn uncached(&self, req: &TokenRequest, exchange: Option<Arc<ExchangeRequest>>) -> Step {
        let task = crate::runtime::spawn(mint(self.inner.clone(), req.clone(), exchange));
        let fut = task.map(|r| match r {
            Ok(r) => r.map(|f| f.token),
            Err(e) => Err(Error::Network(format!("token fetch task ended: {e}"))),
        });
        Step::Wait(fut.boxed().shared())
    }

    /// What the slot gives: its token (and a background refresh when one is due), or a fetch.
    fn serve(
        &self,
        req: &TokenRequest,
        policy: &CachePolicy,
        slot: &Arc<Slot>,
        start: impl FnOnce() -> futures::future::BoxFuture<'static, Result<Fetched>>,
    ) -> Result<Step> {
        let inner = &self.inner;
        match slot.lookup(crate::clock::Stamp::now()) {
            Lookup::Hit(t) => {
                inner.counters.cache_hits.bump();
                Ok(Step::Ready(t))
            }
            Lookup::Refresh(t) => {
                inner.counters.cache_hits.bump();
                if slot.fetch(policy, true, start).is_some() {
                    inner.counters.refreshes.bump();
                    tracing::debug!(
                        audience = req.audience_str(),
                        "refreshing a token ahead of expiry"
                    );
                }
                Ok(Step::Ready(t))
            }
            Lookup::Miss => Ok(Step::Wait(
                slot.fetch(policy, false, start)
                    .expect("a foreground fetch is always returned"),
            )),
        }
    }
}

impl Inner {
    /// The shared level's entries of a request (an exchange's: of its subject too).
    fn shared_keys(
        &self,
        req: &TokenRequest,
        exchange: Option<&ExchangeRequest>,
    ) -> super::shared_level::Keys {
        let extra = exchange
            .map(ExchangeRequest::shared_parts)
            .unwrap_or_default();
        SharedLevel::key(&self.config, &self.resolved, req, &extra)
    }
}

/// The cache policy of a request. Capped by a JWT subject's `exp`, an exchange's new answer
/// would end no later than the one held: no refresh ahead, it is served until it is due (by
/// the process cache and the shared level alike).
fn policy_of(policy: &CachePolicy, exchange: Option<&ExchangeRequest>) -> CachePolicy {
    match exchange.and_then(ExchangeRequest::subject_expiry) {
        Some(_) => CachePolicy {
            refresh_ahead: 0.0,
            jitter: 0.0,
            ..policy.clone()
        },
        None => policy.clone(),
    }
}

/// A token from the shared level when one is set up, else from the token endpoint.
async fn mint(
    inner: Arc<Inner>,
    req: TokenRequest,
    exchange: Option<Arc<ExchangeRequest>>,
) -> Result<Fetched> {
    let exchange = exchange.as_deref();
    let Some(shared) = &inner.shared else {
        return mint_counted(&inner, &req, exchange).await;
    };
    let key = inner.shared_keys(&req, exchange);
    // A holder of the key's lock may take its whole budget (N8): waiting less would send
    // every waiter's own requests to an issuer that is slow already.
    let wait = inner
        .config
        .http
        .effective()
        .map(|h| h.fetch_budget())
        .unwrap_or(std::time::Duration::from_secs(15));
    shared
        .fetch(
            &key,
            &policy_of(&inner.config.cache, exchange),
            wait,
            &inner.counters,
            mint_counted(&inner, &req, exchange),
        )
        .await
}

/// One request to the token endpoint (with the transport's retries), counted and logged.
async fn mint_counted(
    inner: &Inner,
    req: &TokenRequest,
    exchange: Option<&ExchangeRequest>,
) -> Result<Fetched> {
    let result = mint_once(inner, req, exchange).await;
    match &result {
        Ok(f) => {
            inner.counters.tokens_minted.bump();
            tracing::info!(
                audience = req.audience_str(),
                client_id = %inner.config.client_id,
                expires_in = f.token.expires_in(),
                "token minted"
            );
        }
        Err(e) => {
            inner.counters.errors.bump();
            tracing::warn!(
                audience = req.audience_str(),
                client_id = %inner.config.client_id,
                kind = e.kind(),
                error = %e,
                "token request failed"
            );
        }
    }
    result
}

async fn mint_once(
    inner: &Inner,
    req: &TokenRequest,
    exchange: Option<&ExchangeRequest>,
) -> Result<Fetched> {
    let form = match exchange {
        Some(x) => x.form(req),
        None => {
            let mut form: Vec<(&str, &str)> = vec![
                ("grant_type", "client_credentials"),
                ("audience", req.audience_str()),
            ];
            if let Some(s) = req.scope_str() {
                form.push(("scope", s));
            }
            if let Some(o) = req.organization_str() {
                form.push(("organization", o));
            }
            form
        }
    };
    tracing::debug!(audience = req.audience_str(), url = %inner.resolved.token_url, "requesting a token");
    let on_retry = |attempt: u32, wait: std::time::Duration, e: &Error| {
        tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, kind = e.kind(), error = %e, "retrying token request");
    };
    let reply = inner
        .transport
        .post_form(
            &inner.resolved.token_url,
            &form,
            &|| inner.resolved.auth.parts(),
            &on_retry,
        )
        .await?;
    let mut token = parse_token_response(&reply.body, reply.sent_at)?;
    if let Some(exp) = exchange.and_then(ExchangeRequest::subject_expiry) {
        token = token.capped_at(exp);
    }
    Ok(Fetched {
        token,
        sent: reply.sent,
    })
}

/// Per-process random salt: cache keys never hold, nor reveal outside the process, a secret.
pub(crate) static SALT: LazyLock<[u8; 32]> =
    LazyLock::new(crate::oauth::random::secret_bytes::<32>);

fn client_key(cfg: &ClientConfig, resolved: &Resolved) -> ClientKey {
    let mut h = Sha256::new();
    for part in [
        "client_credentials",
        resolved.token_url.as_str(),
        &cfg.client_id,
        resolved.method.as_str(),
        cfg.credentials.material(),
    ] {
        // Length-prefixed so that no two different tuples hash the same input.
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update(*SALT);
    ClientKey(h.finalize().into())
}

impl fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenClient")
            .field("issuer", &self.inner.resolved.issuer)
            .field("client_id", &self.inner.config.client_id)
            .field("auth_method", &self.inner.resolved.method.as_str())
            .finish_non_exhaustive()
    }
}
