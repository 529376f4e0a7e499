//! `TokenClient`: the core's client behind a uniffi object, with blocking and async forms.

use std::sync::Arc;

use tokenkeeper::{AuthMethod, Stats};

use crate::config::ClientConfig;
use crate::error::TokenError;
use crate::live;
use crate::token::Token;

/// What a caller asks for: the API (`audience`; none or empty: the client's default audience),
/// and optionally `scope` (space-separated; order and repeats do not matter) and `organization`
/// (name or `org_…` id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, uniffi::Record)]
pub struct TokenRequest {
    #[uniffi(default)]
    pub audience: Option<String>,
    #[uniffi(default)]
    pub scope: Option<String>,
    #[uniffi(default)]
    pub organization: Option<String>,
}

/// A snapshot of one client's counters (the core's `Stats`).
#[uniffi::remote(Record)]
pub struct Stats {
    /// Tokens received from the token endpoint for this client.
    pub tokens_minted: u64,
    /// Calls answered from the cache without waiting for the network.
    pub cache_hits: u64,
    /// Background refreshes started ahead of expiry.
    pub refreshes: u64,
    /// Failed fetches (each counted once, however many callers waited for it).
    pub errors: u64,
    /// Tokens taken from the shared cache level (`ClientConfig.sharedCache`): fetched by another
    /// process or client.
    pub shared_hits: u64,
    /// Failures of the shared level (an unusable directory, an unwritable entry…); each time
    /// the client fetched directly instead, so they never make a call fail.
    pub shared_errors: u64,
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

wraps!(TokenClient, core: tokenkeeper::TokenClient, CLIENTS);

impl TokenClient {
    /// The core's request: the configured default audience when none is given, checked.
    fn request(&self, r: TokenRequest) -> Result<tokenkeeper::TokenRequest, TokenError> {
        let (a, s, o) = (r.audience, r.scope, r.organization);
        Ok(self
            .core
            .request(a.as_deref(), s.as_deref(), o.as_deref())?)
    }
}

#[uniffi::export]
impl TokenClient {
    /// Validates the configuration; throws `Config` on anything that cannot work.
    #[uniffi::constructor]
    pub fn new(config: ClientConfig) -> Result<Arc<Self>, TokenError> {
        Ok(Self::wrap(tokenkeeper::TokenClient::new(
            config.try_into()?,
        )?))
    }

    /// A client from the environment, read by the core's `ClientConfig::from_env`:
    /// `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, one of `AUTH0_CLIENT_SECRET`,
    /// `AUTH0_CLIENT_SECRET_FILE` and `AUTH0_PRIVATE_KEY_FILE` (with `AUTH0_PRIVATE_KEY_ALG`,
    /// `AUTH0_PRIVATE_KEY_ID`), and the optional `AUTH0_AUDIENCE`, `TOKENKEEPER_SHARED_CACHE`
    /// and `TOKENKEEPER_CA_FILE`. Throws `Config` naming what is missing or unreadable.
    #[uniffi::constructor]
    pub fn from_env() -> Result<Arc<Self>, TokenError> {
        let config = tokenkeeper::ClientConfig::from_env()?;
        Ok(Self::wrap(tokenkeeper::TokenClient::new(config)?))
    }

    /// A token for the request, waiting on the calling thread (any thread). A cache hit never
    /// leaves the thread; a miss runs on the library's shared runtime.
    pub fn get_token_blocking(&self, request: TokenRequest) -> Result<Arc<Token>, TokenError> {
        let req = self.request(request)?;
        Ok(Token::wrap(self.core.get_token_blocking(&req)?))
    }

    /// A token for the request (Kotlin `suspend`, Swift `async`). The HTTP work runs on the
    /// library's shared runtime, so any executor can await it; cancelling the caller does not
    /// cancel a fetch other callers may be waiting for.
    pub async fn get_token(&self, request: TokenRequest) -> Result<Arc<Token>, TokenError> {
        let req = self.request(request)?;
        Ok(Token::wrap(self.core.get_token(&req).await?))
    }

    /// The cached token for the request if one can be served now, without any waiting.
    pub fn cached(&self, request: TokenRequest) -> Option<Arc<Token>> {
        let req = self.request(request).ok()?;
        self.core.cached(&req).map(Token::wrap)
    }

    /// Forgets the cached token for the request (for example after an API rejected it), for
    /// every client of the process that shares it.
    pub fn invalidate(&self, request: TokenRequest) {
        if let Ok(req) = self.request(request) {
            self.core.invalidate(&req)
        }
    }

    /// Forgets the cached token for the request only if it is still `token` (the one an API
    /// rejected), so a retry after a 401 never drops a token another caller renewed meanwhile.
    /// Whether it was forgotten (false too for a request without an audience and no default).
    pub fn invalidate_if_current(&self, request: TokenRequest, token: Arc<Token>) -> bool {
        self.request(request)
            .is_ok_and(|req| self.core.invalidate_if_current(&req, token.core()))
    }

    /// A token exchange (RFC 8693: Auth0 On-Behalf-Of, Custom Token Exchange; Token Vault with
    /// `connection` and `loginHint`), waiting on the calling thread. The answer is cached per
    /// subject (and actor) token, audience, scope and organization, never past a JWT subject's
    /// `exp`; concurrent exchanges of one subject send one request. Throws `Config` on a bad
    /// type URI or an actor token without its type, `InvalidToken` on an expired JWT subject
    /// (before any request), `OAuth` on the issuer's refusal.
    #[uniffi::method(default(audience = None, scope = None, actor_token = None,
        actor_token_type = None, organization = None, connection = None, login_hint = None))]
    #[allow(clippy::too_many_arguments)]
    pub fn exchange_blocking(
        &self,
        subject_token: String,
        subject_token_type: String,
        audience: Option<String>,
        scope: Option<String>,
        actor_token: Option<String>,
        actor_token_type: Option<String>,
        organization: Option<String>,
        connection: Option<String>,
        login_hint: Option<String>,
    ) -> Result<Arc<Token>, TokenError> {
        let req = exchange_request(
            &subject_token,
            &subject_token_type,
            [
                audience,
                scope,
                actor_token,
                actor_token_type,
                organization,
                connection,
                login_hint,
            ],
        );
        Ok(Token::wrap(self.core.exchange_blocking(&req)?))
    }

    /// `exchangeBlocking` (Kotlin `suspend`, Swift `async`).
    #[uniffi::method(default(audience = None, scope = None, actor_token = None,
        actor_token_type = None, organization = None, connection = None, login_hint = None))]
    #[allow(clippy::too_many_arguments)]
    pub async fn exchange(
        &self,
        subject_token: String,
        subject_token_type: String,
        audience: Option<String>,
        scope: Option<String>,
        actor_token: Option<String>,
        actor_token_type: Option<String>,
        organization: Option<String>,
        connection: Option<String>,
        login_hint: Option<String>,
    ) -> Result<Arc<Token>, TokenError> {
        let req = exchange_request(
            &subject_token,
            &subject_token_type,
            [
                audience,
                scope,
                actor_token,
                actor_token_type,
                organization,
                connection,
                login_hint,
            ],
        );
        Ok(Token::wrap(self.core.exchange(&req).await?))
    }

    /// Forgets the cached answer of the exchange (the same arguments as `exchange`) only if it
    /// is still `token` (an API rejected it). Whether it was forgotten.
    #[uniffi::method(default(audience = None, scope = None, actor_token = None,
        actor_token_type = None, organization = None, connection = None, login_hint = None))]
    #[allow(clippy::too_many_arguments)]
    pub fn invalidate_exchange_if_current(
        &self,
        token: Arc<Token>,
        subject_token: String,
        subject_token_type: String,
        audience: Option<String>,
        scope: Option<String>,
        actor_token: Option<String>,
        actor_token_type: Option<String>,
        organization: Option<String>,
        connection: Option<String>,
        login_hint: Option<String>,
    ) -> bool {
        let req = exchange_request(
            &subject_token,
            &subject_token_type,
            [
                audience,
                scope,
                actor_token,
                actor_token_type,
                organization,
                connection,
                login_hint,
            ],
        );
        self.core.invalidate_exchange_if_current(&req, token.core())
    }

    /// The request, checked and normalised once (no audience: the default one, else `Config`),
    /// as a `PreparedRequest`: the cheapest way to ask for the same token again and again.
    pub fn prepare(&self, request: TokenRequest) -> Result<Arc<PreparedRequest>, TokenError> {
        let req = self.request(request)?;
        Ok(PreparedRequest::wrap(self.core.prepared(req)?))
    }

    /// A request for the configured default audience; throws `Config` when there is none.
    pub fn default_request(&self) -> Result<TokenRequest, TokenError> {
        Ok(self.core.default_request()?.into())
    }

    /// This client's counters.
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// `https://{domain}/`: the issuer Auth0 puts in `iss`.
    pub fn issuer(&self) -> String {
        self.core.issuer().to_string()
    }

    pub fn client_id(&self) -> String {
        self.core.client_id().to_string()
    }

    pub fn auth_method(&self) -> AuthMethod {
        self.core.auth_method()
    }

    pub fn token_url(&self) -> String {
        self.core.token_url().to_string()
    }
}

/// The core's exchange request from the optional arguments of `exchange`, in their order.
fn exchange_request(
    subject_token: &str,
    subject_token_type: &str,
    optional: [Option<String>; 7],
) -> tokenkeeper::ExchangeRequest {
    let [audience, scope, actor_token, actor_token_type, organization, connection, login_hint] =
        optional;
    tokenkeeper::ExchangeRequest::from_parts(
        subject_token,
        subject_token_type,
        audience.as_deref(),
        scope.as_deref(),
        actor_token.as_deref(),
        actor_token_type.as_deref(),
        organization.as_deref(),
        connection.as_deref(),
        login_hint.as_deref(),
    )
}

impl From<tokenkeeper::TokenRequest> for TokenRequest {
    fn from(r: tokenkeeper::TokenRequest) -> Self {
        Self {
            audience: Some(r.audience_str().to_string()),
            scope: r.scope_str().map(str::to_string),
            organization: r.organization_str().map(str::to_string),
        }
    }
}

/// One request of one `TokenClient` (`client.prepare(request)`), checked and normalised once:
/// a cache hit through it reads no argument and builds nothing, and is counted by the core.
/// Safe to share between threads; it keeps what it needs of its client.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct PreparedRequest {
    core: tokenkeeper::PreparedRequest,
    _live: live::Guard,
}

wraps!(PreparedRequest, core: tokenkeeper::PreparedRequest, PREPARED_REQUESTS);

#[uniffi::export]
impl PreparedRequest {
    /// A token for the request, waiting on the calling thread; a cache hit never leaves it.
    pub fn get_token_blocking(&self) -> Result<Arc<Token>, TokenError> {
        Ok(Token::wrap(self.core.get_token_blocking()?))
    }

    /// A token for the request (Kotlin `suspend`, Swift `async`).
    pub async fn get_token(&self) -> Result<Arc<Token>, TokenError> {
        Ok(Token::wrap(self.core.get_token().await?))
    }

    /// `Bearer …` for the request in one call (no `Token` object to release): the cheapest
    /// hit from Kotlin and Swift.
    pub fn authorization_header_blocking(&self) -> Result<String, TokenError> {
        Ok(self.core.with_authorization_header(str::to_string)?)
    }

    /// The cached token if one can be served now, without any waiting.
    pub fn cached(&self) -> Option<Arc<Token>> {
        self.core.cached().map(Token::wrap)
    }

    /// Forgets the cached token of the request only if it is still `token` (the one an API
    /// rejected). Whether it was forgotten.
    pub fn invalidate_if_current(&self, token: Arc<Token>) -> bool {
        self.core.invalidate_if_current(token.core())
    }

    /// The 401 rule: an API refused `token`. Drops it if it is still the cached token (never
    /// one another caller renewed meanwhile); the token to retry the call with once, or null /
    /// nil when the issuer serves the same token again (do not retry).
    pub fn after_rejection_blocking(
        &self,
        token: Arc<Token>,
    ) -> Result<Option<Arc<Token>>, TokenError> {
        Ok(self
            .core
            .after_rejection_blocking(token.core())?
            .map(Token::wrap))
    }

    /// `afterRejectionBlocking` (Kotlin `suspend`, Swift `async`).
    pub async fn after_rejection(
        &self,
        token: Arc<Token>,
    ) -> Result<Option<Arc<Token>>, TokenError> {
        Ok(self
            .core
            .after_rejection(token.core())
            .await?
            .map(Token::wrap))
    }

    /// The request, normalised (the default audience filled in, the scope sorted).
    pub fn request(&self) -> TokenRequest {
        self.core.request().clone().into()
    }
}
