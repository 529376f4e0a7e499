//! `PreparedRequest`: one request of one client, validated once, that holds its cache slot so
//! that a hit is a few loads and compares: the hit path of every surface.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use super::cache::Slot;
use super::client::TokenClient;
use super::request::TokenRequest;
use crate::error::Result;
use crate::oauth::token::Token;

/// A [`TokenRequest`] of one [`TokenClient`], validated and normalised once
/// ([`TokenClient::prepare`]), that keeps its slot of the process cache. [`Self::hit`] serves a
/// fresh cached token without building, hashing or looking up anything, and counts it as a
/// cache hit of the client; [`Self::get_token`] does everything else, as
/// [`TokenClient::get_token`] would. Cheap to clone; safe to share between threads.
///
/// # Example
///
/// ```no_run
/// use tokenkeeper::{ClientConfig, Credentials, TokenClient};
///
/// # async fn run() -> tokenkeeper::Result<()> {
/// let config = ClientConfig::new("tenant.auth0.com", "client-id", Credentials::client_secret("…"));
/// let client = TokenClient::new(config)?;
/// let orders = client.prepare(Some("https://api.example.com"), Some("read:orders"), None)?;
/// let token = orders.get_token().await?; // from the cache when fresh
/// println!("{}", token.authorization_header());
/// // … the API answered 401 for this token: drop it (unless another caller renewed it since)
/// // and retry once if a different token is served now.
/// if let Some(fresh) = orders.after_rejection(&token).await? {
///     println!("retry with {}", fresh.authorization_header());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PreparedRequest {
    inner: Arc<Inner>,
}

struct Inner {
    client: TokenClient,
    req: TokenRequest,
    /// The request's slot in this process's cache, once a lookup found it; `None` with the
    /// cache off. Replaced when the slow path finds another (the table dropped a dead slot, or
    /// a fork gave the child a cache of its own).
    held: ArcSwapOption<Held>,
}

pub(crate) struct Held {
    pub slot: Arc<Slot>,
    /// [`crate::runtime::generation`] when the slot was taken: a forked child never reads its
    /// parent's cache.
    pub generation: u64,
}

impl PreparedRequest {
    pub(crate) fn new(client: TokenClient, req: TokenRequest) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                req,
                held: ArcSwapOption::empty(),
            }),
        }
    }

    /// The cached token if it is surely before its refresh point, counted as a cache hit; `None`
    /// means: ask [`Self::get_token`] (nothing cached, a refresh is due, the cache is off).
    /// Never waits, never sends anything, makes nothing.
    ///
    /// See the example on [`PreparedRequest`].
    #[inline]
    pub fn hit(&self) -> Option<Token> {
        self.hit_with(Token::clone)
    }

    /// [`Self::hit`] lending the token to `f` instead of handing out a clone: for a binding
    /// that only compares it with the one it last wrapped (no reference count touched).
    ///
    /// See the example on [`PreparedRequest`].
    #[inline]
    pub fn hit_with<R>(&self, f: impl FnOnce(&Token) -> R) -> Option<R> {
        let held = self.inner.held.load();
        let held = held.as_ref()?;
        if held.generation != crate::runtime::forks() {
            return None;
        }
        let out = held.slot.plain_hit_with(f)?;
        self.inner.client.count_hit();
        Some(out)
    }

    /// A token for the request: from the cache when fresh, otherwise from the token endpoint
    /// (one request for all the callers of the key).
    ///
    /// See the example on [`PreparedRequest`].
    pub async fn get_token(&self) -> Result<Token> {
        match self.hit() {
            Some(t) => Ok(t),
            None => self.inner.client.get_prepared(self).await,
        }
    }

    /// [`Self::get_token`] for synchronous callers, on the shared runtime; a cache hit never
    /// leaves the calling thread.
    ///
    /// See the example on [`PreparedRequest`].
    pub fn get_token_blocking(&self) -> Result<Token> {
        match self.hit() {
            Some(t) => Ok(t),
            None => self.inner.client.get_prepared_blocking(self),
        }
    }

    /// `f` of `Bearer …` for the request, in one blocking call that makes no token handle: for
    /// a surface that copies the header out (a C buffer, a JVM string). The token as
    /// [`Self::get_token_blocking`]'s.
    ///
    /// See the example on [`PreparedRequest`].
    pub fn with_authorization_header<R>(&self, f: impl FnOnce(&str) -> R) -> Result<R> {
        Ok(f(self.get_token_blocking()?.authorization_header()))
    }

    /// The cached token if one can be served now (inside its refresh window too), without any
    /// waiting; counts nothing.
    ///
    /// See the example on [`PreparedRequest`].
    pub fn cached(&self) -> Option<Token> {
        self.inner.client.cached(&self.inner.req)
    }

    /// [`TokenClient::invalidate`] of the request.
    ///
    /// See the example on [`PreparedRequest`].
    pub fn invalidate(&self) {
        self.inner.client.invalidate(&self.inner.req)
    }

    /// [`TokenClient::invalidate_if_current`] of the request: forgets the cached token only if
    /// it is still `token`. Whether it was forgotten.
    ///
    /// See the example on [`PreparedRequest`].
    pub fn invalidate_if_current(&self, token: &Token) -> bool {
        self.inner
            .client
            .invalidate_if_current(&self.inner.req, token)
    }

    /// The 401 rule: an API refused `rejected`. Drops it from the caches if it is still the
    /// current token (never a token another caller renewed meanwhile), then gets the token
    /// now served: `Some` when it differs from `rejected` (retry the call once with it), `None`
    /// when the issuer gives the same token again (retrying cannot help: give the caller the
    /// 401). An HTTP adapter needs nothing else.
    ///
    /// See the example on [`PreparedRequest`].
    pub async fn after_rejection(&self, rejected: &Token) -> Result<Option<Token>> {
        self.invalidate_if_current(rejected);
        Ok(differs(self.get_token().await?, rejected))
    }

    /// [`Self::after_rejection`] for synchronous callers.
    ///
    /// See the example on [`PreparedRequest`].
    pub fn after_rejection_blocking(&self, rejected: &Token) -> Result<Option<Token>> {
        self.invalidate_if_current(rejected);
        Ok(differs(self.get_token_blocking()?, rejected))
    }

    /// The request, normalised (the default audience filled in, the scope sorted).
    ///
    /// See the example on [`PreparedRequest`].
    pub fn request(&self) -> &TokenRequest {
        &self.inner.req
    }

    /// The client the request belongs to.
    ///
    /// See the example on [`PreparedRequest`].
    pub fn client(&self) -> &TokenClient {
        &self.inner.client
    }

    /// Keeps `slot`, the request's slot in the cache of `generation`, unless it is held already.
    pub(crate) fn hold(&self, slot: &Arc<Slot>, generation: u64) {
        let held = self.inner.held.load();
        if held
            .as_ref()
            .is_some_and(|h| h.generation == generation && Arc::ptr_eq(&h.slot, slot))
        {
            return;
        }
        self.inner.held.store(Some(Arc::new(Held {
            slot: slot.clone(),
            generation,
        })));
    }
}

/// `fresh`, unless it is `rejected` again (by text: a token read back from the shared level is
/// another object with the same text).
fn differs(fresh: Token, rejected: &Token) -> Option<Token> {
    (fresh.access_token() != rejected.access_token()).then_some(fresh)
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedRequest")
            .field("request", &self.inner.req)
            .field("client", &self.inner.client)
            .finish_non_exhaustive()
    }
}
