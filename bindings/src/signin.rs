//! User sign-in: `SignInClient` (authorization code + PKCE, refresh, `/userinfo`), the
//! `LoginTransaction` of a login in progress and the `UserCredentials` it ends with. Objects,
//! not records, wherever a secret is held, so that no generated `toString()`/`description` can
//! print it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokenkeeper::{AuthMethod, HttpOptions};

use crate::config::{set, Credentials, SharedCache};
use crate::error::TokenError;
use crate::live;
use crate::verify::{Claims, TokenVerifier};

/// Everything a `SignInClient` is built from. Every optional setting left `null`/`nil` takes the
/// core's default.
#[derive(uniffi::Record)]
pub struct SignInConfig {
    /// `tenant.auth0.com`, a full `https://` URL (custom domains), or an `http://` loopback URL.
    pub domain: String,
    pub client_id: String,
    /// Where `/authorize` sends the browser back (an allowed callback URL of the app): an
    /// `https` URL, a loopback `http` URL or an app's custom scheme.
    pub redirect_uri: String,
    /// `null`/`nil`: a public client (native app, SPA) that authenticates with PKCE only. A
    /// secret or a private key: a confidential client (regular web app).
    #[uniffi(default)]
    pub credentials: Option<Arc<Credentials>>,
    /// For a client secret: `ClientSecretPost` (default) or `ClientSecretBasic`.
    #[uniffi(default)]
    pub auth_method: Option<AuthMethod>,
    /// Default API audience of the access token (none: an opaque token for `/userinfo`).
    #[uniffi(default)]
    pub audience: Option<String>,
    /// Default scopes (default `openid profile email`; `openid` is always added).
    #[uniffi(default)]
    pub scope: Option<String>,
    /// Adds `offline_access` to the scopes, for a refresh token (default true).
    #[uniffi(default)]
    pub offline_access: Option<bool>,
    /// Default organization (id `org_…` or name).
    #[uniffi(default)]
    pub organization: Option<String>,
    /// Accepted ID-token issuers; empty (the default): `https://{domain}/`.
    #[uniffi(default)]
    pub issuers: Vec<String>,
    /// Clock skew allowed when checking ID tokens (default 60 s).
    #[uniffi(default)]
    pub leeway: Option<Duration>,
    /// Overrides `{domain}/authorize`.
    #[uniffi(default)]
    pub authorize_url: Option<String>,
    /// Overrides `{domain}/oauth/token`.
    #[uniffi(default)]
    pub token_url: Option<String>,
    /// Overrides `{domain}/userinfo`.
    #[uniffi(default)]
    pub userinfo_url: Option<String>,
    /// Timeouts, size limit and retries. Retries apply to the idempotent requests (JWKS,
    /// `/userinfo`); the code exchange and the refresh grant are never retried (a code is
    /// single use; a refresh token may rotate).
    #[uniffi(default)]
    pub http: HttpOptions,
    /// Shares renewals with every process (`file`) or host (Redis) on the level: each refresh
    /// token is spent once by the whole fleet, the others adopt the rotated one (off by default).
    #[uniffi(default)]
    pub shared_cache: Option<Arc<SharedCache>>,
}

impl From<SignInConfig> for tokenkeeper::SignInConfig {
    fn from(c: SignInConfig) -> Self {
        let mut cfg = tokenkeeper::SignInConfig::new(c.domain, c.client_id, c.redirect_uri);
        if let Some(creds) = c.credentials {
            cfg = cfg.with_credentials(creds.inner.clone());
        }
        cfg.auth_method = c.auth_method;
        cfg.audience = c.audience;
        set(&mut cfg.scope, c.scope);
        set(&mut cfg.offline_access, c.offline_access);
        cfg.organization = c.organization;
        cfg.issuers = c.issuers;
        set(&mut cfg.leeway, c.leeway);
        cfg.authorize_url = c.authorize_url;
        cfg.token_url = c.token_url;
        cfg.userinfo_url = c.userinfo_url;
        cfg.http = c.http;
        cfg.shared_cache = c.shared_cache.and_then(|s| s.inner.clone());
        cfg
    }
}

/// Per-login options of `SignInClient.authorize`; each overrides the config's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct AuthorizeParams {
    #[uniffi(default)]
    pub audience: Option<String>,
    /// Space-separated scopes (`openid` is always added, `offline_access` when configured).
    #[uniffi(default)]
    pub scope: Option<String>,
    #[uniffi(default)]
    pub organization: Option<String>,
    /// How long ago the user may have last authenticated (checked against the ID token's
    /// `auth_time`); sent as `max_age` in whole seconds.
    #[uniffi(default)]
    pub max_age: Option<Duration>,
    #[uniffi(default)]
    pub redirect_uri: Option<String>,
    /// More query parameters (`prompt`, `login_hint`, `connection`, `screen_hint`,
    /// `invitation`, `ui_locales`…); one the library sets itself is refused with `Config`.
    #[uniffi(default)]
    pub extra: HashMap<String, String>,
}

impl From<AuthorizeParams> for tokenkeeper::AuthorizeParams {
    fn from(p: AuthorizeParams) -> Self {
        Self {
            audience: p.audience,
            scope: p.scope,
            organization: p.organization,
            max_age: p.max_age.map(|d| d.as_secs()),
            redirect_uri: p.redirect_uri,
            // In any order: the core sorts them.
            extra: p.extra.into_iter().collect(),
        }
    }
}

/// One login in progress: the `/authorize` URL to open, and what the callback is checked
/// against (`state`, `nonce`, the PKCE code verifier). Keep it until the browser comes back;
/// if the app may be restarted meanwhile, persist `toJson()` (it holds the code verifier: store
/// it like a secret) and restore it with `LoginTransaction.fromJson(json)`.
///
/// The code verifier has no getter, and `toString()`/`description` never shows it.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct LoginTransaction {
    inner: tokenkeeper::LoginTransaction,
    _live: live::Guard,
}

wraps!(LoginTransaction, inner: tokenkeeper::LoginTransaction, TRANSACTIONS);

#[uniffi::export]
impl LoginTransaction {
    /// A transaction saved with `toJson()`; throws `Config` when the text is not one.
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Self>, TokenError> {
        Ok(Self::wrap(tokenkeeper::LoginTransaction::from_json(&json)?))
    }

    /// The `/authorize` URL to open in the browser.
    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    pub fn state(&self) -> String {
        self.inner.state.clone()
    }

    pub fn nonce(&self) -> String {
        self.inner.nonce.clone()
    }

    pub fn redirect_uri(&self) -> String {
        self.inner.redirect_uri.clone()
    }

    /// The scopes asked for (with `openid`, and `offline_access` when configured).
    pub fn scope(&self) -> String {
        self.inner.scope.clone()
    }

    pub fn audience(&self) -> Option<String> {
        self.inner.audience.clone()
    }

    pub fn organization(&self) -> Option<String> {
        self.inner.organization.clone()
    }

    /// The whole transaction, code verifier included, as JSON.
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }
}

/// A signed-in user's tokens. `toString()`/`description` shows the token type, expiry and
/// scope, never a token; the getters give them. The core zeroizes them when the last
/// reference is released.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct UserCredentials {
    pub(crate) inner: tokenkeeper::UserCredentials,
    _live: live::Guard,
}

wraps!(UserCredentials, inner: tokenkeeper::UserCredentials, USER_CREDENTIALS);

/// Seconds since the epoch, negative before it (the core's range rule refuses those).
fn unix_secs(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[uniffi::export]
impl UserCredentials {
    /// Credentials a host kept in its own form (for example one Keychain item per token).
    /// `expiresAt` is kept in whole seconds, from the epoch to 9999-12-31T23:59:59Z (the
    /// core's range rule), else `Config`.
    #[uniffi::constructor(default(scope = None, refresh_token = None, id_token = None))]
    pub fn new(
        access_token: String,
        token_type: String,
        expires_at: SystemTime,
        scope: Option<String>,
        refresh_token: Option<String>,
        id_token: Option<String>,
    ) -> Result<Arc<Self>, TokenError> {
        Ok(Self::wrap(tokenkeeper::UserCredentials::new(
            access_token,
            token_type,
            unix_secs(expires_at),
            scope,
            refresh_token,
            id_token,
        )?))
    }

    /// Credentials saved with `toJson()`; throws `Config` when the text is not that.
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Self>, TokenError> {
        Ok(Self::wrap(tokenkeeper::UserCredentials::from_json(&json)?))
    }

    pub fn access_token(&self) -> String {
        self.inner.access_token.clone()
    }

    /// `Bearer`.
    pub fn token_type(&self) -> String {
        self.inner.token_type.clone()
    }

    /// When the access token expires.
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.inner.expires_at)
    }

    /// Time left before the access token expires (zero once expired).
    pub fn remaining(&self) -> Duration {
        self.inner.remaining()
    }

    /// Whether the access token has at least `minTtl` left.
    pub fn is_valid_for(&self, min_ttl: Duration) -> bool {
        self.inner.is_valid_for(min_ttl)
    }

    /// Granted scopes, space-separated.
    pub fn scope(&self) -> Option<String> {
        self.inner.scope.clone()
    }

    /// Whether every scope of the space-separated `scope` was granted.
    pub fn has_scope(&self, scope: String) -> bool {
        self.inner.has_scope(&scope)
    }

    pub fn refresh_token(&self) -> Option<String> {
        self.inner.refresh_token.clone()
    }

    pub fn id_token(&self) -> Option<String> {
        self.inner.id_token.clone()
    }

    /// The ID token's claims, decoded without verification (it was verified when received).
    pub fn id_token_claims(&self) -> Option<Arc<Claims>> {
        self.inner.id_token_claims().map(Claims::wrap)
    }

    /// `Bearer <access token>`, ready for an `Authorization` header.
    pub fn authorization_header(&self) -> String {
        self.inner.authorization_header()
    }

    /// All of it as JSON, tokens included: store it like a secret.
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }
}

/// Signs users in (authorization code + PKCE), renews their tokens and reads `/userinfo`.
/// Safe to share between threads. Every network call has a blocking form (any thread; not on
/// Android's main thread) and an async one (`…Async`: Kotlin `suspend`, Swift `async`).
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct SignInClient {
    pub(crate) core: tokenkeeper::SignInClient,
    _live: live::Guard,
}

wraps!(SignInClient, core: tokenkeeper::SignInClient, SIGN_IN_CLIENTS);

#[uniffi::export]
impl SignInClient {
    /// Validates the configuration (no network); throws `Config`.
    #[uniffi::constructor]
    pub fn new(config: SignInConfig) -> Result<Arc<Self>, TokenError> {
        Ok(Self::wrap(tokenkeeper::SignInClient::new(config.into())?))
    }

    /// An app from the environment, read by the core's `SignInConfig::from_env`:
    /// `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, `AUTH0_REDIRECT_URI`, the credential variables of
    /// `TokenClient.fromEnv` if it is a confidential client (none: a public client), and the
    /// optional `AUTH0_AUDIENCE`, `AUTH0_SCOPE` and `TOKENKEEPER_CA_FILE`. Throws `Config`
    /// naming what is missing or unreadable.
    #[uniffi::constructor]
    pub fn from_env() -> Result<Arc<Self>, TokenError> {
        let config = tokenkeeper::SignInConfig::from_env()?;
        Ok(Self::wrap(tokenkeeper::SignInClient::new(config)?))
    }

    /// Starts a login: the `/authorize` URL to open in the browser (`url()`), with fresh
    /// `state`, `nonce` and PKCE verifier, kept in the transaction.
    #[uniffi::method(default(params))]
    pub fn authorize(
        &self,
        params: Option<AuthorizeParams>,
    ) -> Result<Arc<LoginTransaction>, TokenError> {
        let params = params.map(Into::into).unwrap_or_default();
        Ok(LoginTransaction::wrap(self.core.authorize(&params)?))
    }

    /// Finishes a login from the URL the browser was sent back to: checks `state` (a forged or
    /// stale callback is `InvalidResponse`), turns an `error` into `OAuth`, exchanges the code
    /// and verifies the ID token (`InvalidToken`).
    pub fn handle_callback_blocking(
        &self,
        transaction: Arc<LoginTransaction>,
        callback_url: String,
    ) -> Result<Arc<UserCredentials>, TokenError> {
        let creds = self
            .core
            .handle_callback_blocking(&transaction.inner, &callback_url)?;
        Ok(UserCredentials::wrap(creds))
    }

    pub async fn handle_callback(
        &self,
        transaction: Arc<LoginTransaction>,
        callback_url: String,
    ) -> Result<Arc<UserCredentials>, TokenError> {
        let tx = &transaction.inner;
        let creds = self.core.handle_callback(tx, &callback_url).await?;
        Ok(UserCredentials::wrap(creds))
    }

    /// Exchanges an authorization code the app received some other way (with the PKCE
    /// verifier) and verifies the ID token.
    pub fn exchange_code_blocking(
        &self,
        transaction: Arc<LoginTransaction>,
        code: String,
    ) -> Result<Arc<UserCredentials>, TokenError> {
        let creds = self
            .core
            .exchange_code_blocking(&transaction.inner, &code)?;
        Ok(UserCredentials::wrap(creds))
    }

    pub async fn exchange_code(
        &self,
        transaction: Arc<LoginTransaction>,
        code: String,
    ) -> Result<Arc<UserCredentials>, TokenError> {
        let creds = self.core.exchange_code(&transaction.inner, &code).await?;
        Ok(UserCredentials::wrap(creds))
    }

    /// One `refresh_token` grant. A refused refresh token is `ReauthenticationRequired`. The
    /// result's `refreshToken()` is the new one when the server rotated it, else `null`/`nil`.
    /// (A `CredentialsManager` does this for you, and keeps the rotated token.)
    #[uniffi::method(default(scope))]
    pub fn refresh_blocking(
        &self,
        refresh_token: String,
        scope: Option<String>,
    ) -> Result<Arc<UserCredentials>, TokenError> {
        let creds = self
            .core
            .refresh_blocking(&refresh_token, scope.as_deref())?;
        Ok(UserCredentials::wrap(creds))
    }

    #[uniffi::method(default(scope))]
    pub async fn refresh(
        &self,
        refresh_token: String,
        scope: Option<String>,
    ) -> Result<Arc<UserCredentials>, TokenError> {
        let creds = self.core.refresh(&refresh_token, scope.as_deref()).await?;
        Ok(UserCredentials::wrap(creds))
    }

    /// The user's profile from `/userinfo` for an access token (opaque, or a JWT whose `aud`
    /// includes `{issuer}userinfo`). A rejected token is `OAuth` `invalid_token`, status 401.
    pub fn userinfo_blocking(&self, access_token: String) -> Result<Arc<Claims>, TokenError> {
        Ok(Claims::wrap(self.core.userinfo_blocking(&access_token)?))
    }

    pub async fn userinfo(&self, access_token: String) -> Result<Arc<Claims>, TokenError> {
        Ok(Claims::wrap(self.core.userinfo(&access_token).await?))
    }

    /// The verifier this client checks its ID tokens with (audience = the client id).
    pub fn id_token_verifier(&self) -> Arc<TokenVerifier> {
        TokenVerifier::wrap(self.core.id_token_verifier().clone())
    }

    pub fn client_id(&self) -> String {
        self.core.client_id().to_string()
    }

    /// `https://{domain}/`.
    pub fn issuer(&self) -> String {
        self.core.issuer().to_string()
    }
}
