//! `TokenClient`: the core's client behind a uniffi object, with blocking and async forms.

use std::fmt;
use std::sync::Arc;

use crate::config::{AuthMethod, ClientConfig};
use crate::error::TokenError;
use crate::live;
use crate::token::Token;

/// What a caller asks for: the API (`audience`), and optionally `scope` (space-separated; order
/// and repeats do not matter) and `organization` (name or `org_…` id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Record)]
pub struct TokenRequest {
    pub audience: String,
    #[uniffi(default)]
    pub scope: Option<String>,
    #[uniffi(default)]
    pub organization: Option<String>,
}

impl From<TokenRequest> for tokenkeeper::TokenRequest {
    fn from(r: TokenRequest) -> Self {
        let mut req = tokenkeeper::TokenRequest::new(r.audience);
        if let Some(s) = r.scope {
            req = req.scope(s);
        }
        if let Some(o) = r.organization {
            req = req.organization(o);
        }
        req
    }
}

impl From<tokenkeeper::TokenRequest> for TokenRequest {
    fn from(r: tokenkeeper::TokenRequest) -> Self {
        Self {
            audience: r.audience_str().to_string(),
            scope: r.scope_str().map(str::to_string),
            organization: r.organization_str().map(str::to_string),
        }
    }
}

/// A snapshot of one client's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Stats {
    /// Tokens received from the token endpoint for this client.
    pub tokens_minted: u64,
    /// Calls answered from the cache without waiting for the network.
    pub cache_hits: u64,
    /// Background refreshes started ahead of expiry.
    pub refreshes: u64,
    /// Failed fetches (each counted once, however many callers waited for it).
    pub errors: u64,
}

impl From<tokenkeeper::Stats> for Stats {
    fn from(s: tokenkeeper::Stats) -> Self {
        Self {
            tokens_minted: s.tokens_minted,
            cache_hits: s.cache_hits,
            refreshes: s.refreshes,
            errors: s.errors,
        }
    }
}

/// Gets client-credentials access tokens through the process-wide cache (shared by every client
/// with the same credentials; concurrent callers of one key cause one request).
///
/// Safe to share between threads. Release it with `close()`/`use {}` (Kotlin) or by dropping the
/// last reference (Swift).
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct TokenClient {
    core: tokenkeeper::TokenClient,
    _live: live::Guard,
}

#[uniffi::export]
impl TokenClient {
    /// Validates the configuration; throws `Config` on anything that cannot work.
    #[uniffi::constructor]
    pub fn new(config: ClientConfig) -> Result<Arc<Self>, TokenError> {
        let core = tokenkeeper::TokenClient::new(config.into())?;
        Ok(Arc::new(Self {
            core,
            _live: live::CLIENTS.track(),
        }))
    }

    /// A token for the request, waiting on the calling thread (any thread). A cache hit never
    /// leaves the thread; a miss runs on the library's shared runtime.
    pub fn get_token_blocking(&self, request: TokenRequest) -> Result<Arc<Token>, TokenError> {
        let req = request.into();
        Ok(Token::wrap(self.core.get_token_blocking(&req)?))
    }

    /// A token for the request (Kotlin `suspend`, Swift `async`). The HTTP work runs on the
    /// library's shared runtime, so any executor can await it; cancelling the caller does not
    /// cancel a fetch other callers may be waiting for.
    pub async fn get_token(&self, request: TokenRequest) -> Result<Arc<Token>, TokenError> {
        let req: tokenkeeper::TokenRequest = request.into();
        Ok(Token::wrap(self.core.get_token(&req).await?))
    }

    /// The cached token for the request if one can be served now, without any waiting.
    pub fn cached(&self, request: TokenRequest) -> Option<Arc<Token>> {
        self.core.cached(&request.into()).map(Token::wrap)
    }

    /// Forgets the cached token for the request (for example after an API rejected it), for
    /// every client of the process that shares it.
    pub fn invalidate(&self, request: TokenRequest) {
        self.core.invalidate(&request.into())
    }

    /// A request for the configured default audience; throws `Config` when there is none.
    pub fn default_request(&self) -> Result<TokenRequest, TokenError> {
        Ok(self.core.default_request()?.into())
    }

    /// This client's counters.
    pub fn stats(&self) -> Stats {
        self.core.stats().into()
    }

    /// `https://{domain}/`: the issuer Auth0 puts in `iss`.
    pub fn issuer(&self) -> String {
        self.core.issuer().to_string()
    }

    pub fn client_id(&self) -> String {
        self.core.client_id().to_string()
    }

    pub fn auth_method(&self) -> AuthMethod {
        self.core.auth_method().into()
    }

    pub fn token_url(&self) -> String {
        self.core.token_url().to_string()
    }
}

impl fmt::Display for TokenClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The core's Debug shows issuer, client id and auth method, never the credentials.
        fmt::Debug::fmt(&self.core, f)
    }
}

impl fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.core, f)
    }
}
