//! User sign-in: authorization code flow with PKCE (S256).
//!
//! 1. [`SignInClient::authorize`] builds the `/authorize` URL and a [`LoginTransaction`]
//!    holding the PKCE verifier, `state` and `nonce`. The host opens the URL in a browser.
//! 2. The browser comes back to the redirect URI; [`SignInClient::handle_callback`] checks
//!    `state`, exchanges the code at `/oauth/token` (with the verifier; as a public client or
//!    with the client's credentials) and verifies the ID token (`iss`, `aud` = client id,
//!    `azp`, `exp`, `iat`, `nonce`, `auth_time` against `max_age`, organization).
//! 3. [`SignInClient::refresh`] renews with a refresh token (`invalid_grant` →
//!    [`Error::ReauthenticationRequired`]); [`crate::CredentialsManager`] does it when needed.
//! 4. [`SignInClient::revoke`] revokes a refresh token at `/oauth/revoke` (sign-out).
//!
//! The code exchange and the refresh grant are never retried automatically: a code is single
//! use, and a refresh token may rotate, so a retry after a lost answer would spend them.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use super::config::{AuthorizeParams, LoginTransaction, SignInConfig, RESERVED};
use super::user_credentials::UserCredentials;
use crate::error::{Error, Result};
use crate::http::Transport;
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::random::secret_b64;
use crate::oauth::tenant::{url_or, Tenant};
use crate::shared_cache::{Backend, SharedCache};
use crate::verify::claims::Claims;
use crate::verify::verifier::{TokenVerifier, VerifierConfig, VerifyOptions};

/// Signs users in and renews their tokens. Cheap to clone.
///
/// # Example
///
/// ```no_run
/// use tokenkeeper::{AuthorizeParams, LoginTransaction, SignInClient, SignInConfig};
///
/// let config = SignInConfig::new("tenant.auth0.com", "client-id", "myapp://callback");
/// let client = SignInClient::new(config)?;
///
/// // 1. Open the `/authorize` URL in a browser; keep the transaction until it comes back.
/// let tx = client.authorize(&AuthorizeParams::default())?;
/// println!("open {}", tx.url);
/// let saved = tx.to_json(); // it holds the PKCE verifier: store it like a secret
///
/// // 2. The browser is sent back to the redirect URI: check it, exchange the code.
/// let tx = LoginTransaction::from_json(&saved)?;
/// let creds = client.handle_callback_blocking(&tx, "myapp://callback?code=…&state=…")?;
/// let profile = client.userinfo_blocking(&creds.access_token)?;
/// println!("signed in: {:?}", profile.sub());
///
/// // 3. Renew later (a `CredentialsManager` does it when needed), and sign out.
/// if let Some(refresh_token) = creds.refresh_token.as_deref() {
///     let renewed = client.refresh_blocking(refresh_token, None)?;
///     println!("{}", renewed.authorization_header());
///     client.revoke_blocking(renewed.refresh_token.as_deref().unwrap_or(refresh_token))?;
/// }
/// # Ok::<(), tokenkeeper::Error>(())
/// ```
#[derive(Clone)]
pub struct SignInClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: SignInConfig,
    issuer: String,
    authorize_url: Url,
    token_url: Url,
    /// Next to the token endpoint: `…/oauth/token` → `…/oauth/revoke`.
    revoke_url: Url,
    userinfo_url: Url,
    auth: ClientAuth,
    /// No retries: for the code exchange and the refresh grant.
    grants: Transport,
    /// With the configured retries: for `/userinfo`.
    reads: Transport,
    id_tokens: TokenVerifier,
    /// The level refresh-token renewals are shared on (`config.shared_cache`), if it opened.
    shared: Option<Arc<Backend>>,
}

impl SignInClient {
    /// Validates the configuration; no network.
    ///
    /// See the example on [`SignInClient`].
    pub fn new(config: SignInConfig) -> Result<Self> {
        let tenant = Tenant::parse(&config.domain)?;
        check_redirect_uri(&config.redirect_uri)?;
        config.http.effective()?;
        let auth = ClientAuth::new(
            &config.client_id,
            config.credentials.as_ref(),
            config.auth_method,
            &tenant.issuer(),
        )?;
        let mut verifier = VerifierConfig::new(&config.domain, &config.client_id);
        verifier.issuers = config.issuers.clone();
        verifier.leeway = config.leeway;
        verifier.http = config.http.clone();
        let id_tokens = TokenVerifier::new(verifier)?;
        let token_url = url_or(
            config.token_url.as_deref(),
            "token_url",
            tenant.endpoint("oauth/token"),
        )?;
        let revoke_url = token_url
            .join("revoke")
            .map_err(|_| Error::config("token_url: no revocation URL can be derived from it"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                issuer: tenant.issuer(),
                authorize_url: url_or(
                    config.authorize_url.as_deref(),
                    "authorize_url",
                    tenant.endpoint("authorize"),
                )?,
                token_url,
                revoke_url,
                userinfo_url: url_or(
                    config.userinfo_url.as_deref(),
                    "userinfo_url",
                    tenant.endpoint("userinfo"),
                )?,
                auth,
                grants: Transport::new(&config.http.clone().no_retries())?,
                reads: Transport::new(&config.http)?,
                id_tokens,
                shared: config.shared_cache.as_ref().and_then(open_level),
                config,
            }),
        })
    }

    /// The application's client id.
    ///
    /// See the example on [`SignInClient`].
    pub fn client_id(&self) -> &str {
        &self.inner.config.client_id
    }

    /// `https://{domain}/`.
    ///
    /// See the example on [`SignInClient`].
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The configured default API audience of the sign-in, if any.
    pub(crate) fn default_audience(&self) -> Option<&str> {
        self.inner.config.audience.as_deref()
    }

    pub(crate) fn token_url(&self) -> &Url {
        &self.inner.token_url
    }

    /// The level renewals are shared on, and how long a renewal under its lock may take (a
    /// waiter waits that long plus the lock's lease before it renews on its own).
    pub(crate) fn shared_level(&self) -> Option<(&Backend, Duration)> {
        let budget = self.inner.config.http.effective().map(|h| h.fetch_budget());
        let budget = budget.unwrap_or(Duration::from_secs(15));
        self.inner.shared.as_deref().map(|level| (level, budget))
    }

    /// The verifier of this app's ID tokens (audience = client id).
    ///
    /// See the example on [`SignInClient`].
    pub fn id_token_verifier(&self) -> &TokenVerifier {
        &self.inner.id_tokens
    }

    /// Starts a login: the `/authorize` URL to open, and what the callback needs.
    ///
    /// See the example on [`SignInClient`].
    pub fn authorize(&self, params: &AuthorizeParams) -> Result<LoginTransaction> {
        let cfg = &self.inner.config;
        let redirect_uri = params
            .redirect_uri
            .clone()
            .unwrap_or_else(|| cfg.redirect_uri.clone());
        check_redirect_uri(&redirect_uri)?;
        let mut scopes: Vec<&str> = vec!["openid"];
        let asked = params.scope.as_deref().unwrap_or(&cfg.scope);
        for s in asked.split_whitespace() {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        if cfg.offline_access && !scopes.contains(&"offline_access") {
            scopes.push("offline_access");
        }
        let scope = scopes.join(" ");
        let nonempty = |o: &Option<String>| o.as_ref().filter(|s| !s.trim().is_empty()).cloned();
        let audience = nonempty(&params.audience).or_else(|| nonempty(&cfg.audience));
        let organization = nonempty(&params.organization).or_else(|| nonempty(&cfg.organization));
        for (k, _) in &params.extra {
            if RESERVED.contains(&k.as_str()) {
                return Err(Error::config(format!(
                    "extra parameter {k:?} would override one the library sets; use its own field"
                )));
            }
        }
        let state = secret_b64();
        let nonce = secret_b64();
        let code_verifier = secret_b64();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes()));
        let mut url = self.inner.authorize_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &cfg.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("scope", &scope);
            if let Some(a) = &audience {
                q.append_pair("audience", a);
            }
            q.append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(o) = &organization {
                q.append_pair("organization", o);
            }
            if let Some(m) = params.max_age {
                q.append_pair("max_age", &m.to_string());
            }
            let mut extra: Vec<&(String, String)> = params.extra.iter().collect();
            extra.sort();
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        Ok(LoginTransaction {
            url: url.to_string(),
            state,
            nonce,
            code_verifier,
            redirect_uri,
            scope,
            audience,
            organization,
            max_age: params.max_age,
        })
    }

    /// Finishes a login from the URL the browser was sent back to: checks `state`, turns an
    /// `error` into [`Error::OAuth`], exchanges the code and verifies the ID token.
    ///
    /// See the example on [`SignInClient`].
    pub async fn handle_callback(
        &self,
        tx: &LoginTransaction,
        callback_url: &str,
    ) -> Result<UserCredentials> {
        let code = self.callback_code(tx, callback_url)?;
        self.exchange_code(tx, &code).await
    }

    /// [`Self::handle_callback`] for synchronous callers, on the shared runtime.
    /// Callable from any thread but one of a single-threaded tokio runtime
    /// ([`Error::Config`] there).
    ///
    /// See the example on [`SignInClient`].
    pub fn handle_callback_blocking(
        &self,
        tx: &LoginTransaction,
        callback_url: &str,
    ) -> Result<UserCredentials> {
        let code = self.callback_code(tx, callback_url)?;
        self.exchange_code_blocking(tx, &code)
    }

    /// The code of a callback URL, after checking `state` (and `iss`, when present).
    ///
    /// See the example on [`SignInClient`].
    pub fn callback_code(&self, tx: &LoginTransaction, callback_url: &str) -> Result<String> {
        let bad = |d: &str| Error::invalid(None, format!("callback: {d}"));
        let url = Url::parse(callback_url).map_err(|_| bad("not a URL"))?;
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        let mut iss = None;
        for (k, v) in url.query_pairs() {
            let slot = match k.as_ref() {
                "code" => &mut code,
                "state" => &mut state,
                "error" => &mut error,
                "error_description" => &mut description,
                "iss" => &mut iss,
                _ => continue,
            };
            // A repeated parameter could mean one thing to us and another to someone else.
            if slot.replace(v.into_owned()).is_some() {
                return Err(bad(&format!("{k} appears more than once")));
            }
        }
        let clean =
            |s: String| crate::text::truncate(&s.replace(|c: char| c.is_control(), " "), 300);
        let state_ok = !tx.state.is_empty()
            && state.as_deref().is_some_and(|s| {
                crate::verify::checks::constant_time_eq(s.as_bytes(), tx.state.as_bytes())
            });
        if !state_ok {
            return Err(bad(
                "state does not match the login transaction (a forged or stale callback)",
            ));
        }
        if let Some(error) = error {
            return Err(Error::OAuth {
                error: clean(error),
                description: description.map(clean),
                status: 400,
            });
        }
        if let Some(iss) = iss {
            // RFC 9207: an issuer in the callback must be ours.
            if !self.inner.id_tokens.issuers().contains(&iss) {
                return Err(bad("iss is not the expected issuer"));
            }
        }
        code.filter(|c| !c.is_empty())
            .ok_or_else(|| bad("no code in the callback URL"))
    }

    /// Exchanges an authorization code (grant `authorization_code` with the PKCE verifier)
    /// and verifies the returned ID token.
    ///
    /// See the example on [`SignInClient`].
    pub async fn exchange_code(
        &self,
        tx: &LoginTransaction,
        code: &str,
    ) -> Result<UserCredentials> {
        let form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("code_verifier", tx.code_verifier.clone()),
            ("redirect_uri", tx.redirect_uri.clone()),
        ];
        let creds = self.grant(form).await?;
        let wants_id = tx.scope.split_whitespace().any(|s| s == "openid");
        match creds.id_token.as_deref() {
            Some(id) => {
                let options = VerifyOptions {
                    nonce: Some(tx.nonce.clone()),
                    max_age: tx.max_age,
                    organization: tx.organization.clone(),
                    id_token: true,
                    ..VerifyOptions::default()
                };
                if let Err(e) = self.inner.id_tokens.verify_with(id, &options).await {
                    // The caller never sees this refresh token: revoke it rather than leave
                    // it live on the server (best effort, in the background).
                    if let Some(rt) = creds.refresh_token.clone() {
                        let this = self.clone();
                        crate::runtime::spawn(async move {
                            if let Err(e) = this.revoke(&rt).await {
                                tracing::debug!(error = %e, "revoking an unverified login's refresh token failed");
                            }
                        });
                    }
                    return Err(e);
                }
            }
            None if wants_id => {
                return Err(Error::invalid(
                    Some(200),
                    "no id_token in the token response, although openid was requested",
                ))
            }
            None => {}
        }
        Ok(creds)
    }

    /// [`Self::exchange_code`] for synchronous callers, on the shared runtime.
    /// Callable from any thread but one of a single-threaded tokio runtime
    /// ([`Error::Config`] there).
    ///
    /// See the example on [`SignInClient`].
    pub fn exchange_code_blocking(
        &self,
        tx: &LoginTransaction,
        code: &str,
    ) -> Result<UserCredentials> {
        let (this, tx, code) = (self.clone(), tx.clone(), code.to_string());
        crate::runtime::block_on(async move { this.exchange_code(&tx, &code).await })
    }

    /// One `refresh_token` grant. A refused refresh token (`invalid_grant`) is
    /// [`Error::ReauthenticationRequired`]. The answer's ID token, if any, is verified. The
    /// result's `refresh_token` is the new one when the server rotated it, else `None`.
    ///
    /// See the example on [`SignInClient`].
    pub async fn refresh(
        &self,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Result<UserCredentials> {
        self.refresh_for(refresh_token, scope, None).await
    }

    /// [`Self::refresh`] for an access token of `audience` (Auth0's Multi-Resource Refresh
    /// Token: an API of the application's refresh-token policies). Auth0 answers for the
    /// sign-in's own audience when `audience` is outside the policies: check the token's
    /// `aud` ([`CredentialsManager`](crate::CredentialsManager) does).
    pub(crate) async fn refresh_for(
        &self,
        refresh_token: &str,
        scope: Option<&str>,
        audience: Option<&str>,
    ) -> Result<UserCredentials> {
        if refresh_token.is_empty() {
            return Err(Error::config("refresh token is empty"));
        }
        let mut form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", refresh_token.to_string()),
        ];
        if let Some(s) = scope.filter(|s| !s.trim().is_empty()) {
            form.push(("scope", s.to_string()));
        }
        if let Some(a) = audience {
            form.push(("audience", a.to_string()));
        }
        let creds = self.grant(form).await.map_err(|e| match e {
            Error::OAuth {
                error, description, ..
            } if error == "invalid_grant"
                || description
                    .as_deref()
                    .is_some_and(|d| d.contains("Unknown or invalid refresh token")) =>
            {
                Error::ReauthenticationRequired { error, description }
            }
            e => e,
        })?;
        if let Some(id) = creds.id_token.as_deref() {
            self.inner
                .id_tokens
                .verify_with(id, &VerifyOptions::id_token(None))
                .await?;
        }
        Ok(creds)
    }

    /// [`Self::refresh`] for synchronous callers, on the shared runtime.
    /// Callable from any thread but one of a single-threaded tokio runtime
    /// ([`Error::Config`] there).
    ///
    /// See the example on [`SignInClient`].
    pub fn refresh_blocking(
        &self,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Result<UserCredentials> {
        let (this, rt, scope) = (
            self.clone(),
            refresh_token.to_string(),
            scope.map(str::to_string),
        );
        crate::runtime::block_on(async move { this.refresh(&rt, scope.as_deref()).await })
    }

    /// Revokes a refresh token at `/oauth/revoke` (RFC 7009), which revokes its whole family
    /// on Auth0: every refresh token rotated from the same login. An unknown or already
    /// revoked token is a success. Retried like other idempotent requests.
    ///
    /// See the example on [`SignInClient`].
    pub async fn revoke(&self, refresh_token: &str) -> Result<()> {
        if refresh_token.is_empty() {
            return Err(Error::config("refresh token is empty"));
        }
        let inner = &self.inner;
        let mut form = [
            ("token", refresh_token.to_string()),
            ("token_type_hint", "refresh_token".to_string()),
        ];
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let never = |_: u32, _: Duration, _: &Error| {};
        let reply = crate::runtime::on_runtime(inner.reads.post_form(
            &inner.revoke_url,
            &pairs,
            &|| inner.auth.parts(),
            &never,
        ))
        .await;
        for (_, v) in form.iter_mut() {
            zeroize::Zeroize::zeroize(v);
        }
        reply.map(drop)
    }

    /// [`Self::revoke`] for synchronous callers, on the shared runtime.
    /// Callable from any thread but one of a single-threaded tokio runtime
    /// ([`Error::Config`] there).
    ///
    /// See the example on [`SignInClient`].
    pub fn revoke_blocking(&self, refresh_token: &str) -> Result<()> {
        let (this, rt) = (self.clone(), refresh_token.to_string());
        crate::runtime::block_on(async move { this.revoke(&rt).await })
    }

    /// The user's profile from `/userinfo` for an access token (opaque, or a JWT whose `aud`
    /// includes `{issuer}userinfo`). A rejected token is [`Error::OAuth`] `invalid_token`
    /// with status 401.
    ///
    /// See the example on [`SignInClient`].
    pub async fn userinfo(&self, access_token: &str) -> Result<Claims> {
        crate::runtime::on_runtime(super::userinfo::fetch(
            &self.inner.reads,
            &self.inner.userinfo_url,
            access_token,
        ))
        .await
    }

    /// [`Self::userinfo`] for synchronous callers, on the shared runtime.
    /// Callable from any thread but one of a single-threaded tokio runtime
    /// ([`Error::Config`] there).
    ///
    /// See the example on [`SignInClient`].
    pub fn userinfo_blocking(&self, access_token: &str) -> Result<Claims> {
        let (this, at) = (self.clone(), access_token.to_string());
        crate::runtime::block_on(async move { this.userinfo(&at).await })
    }

    /// POSTs a user grant with the client's authentication; parses the tokens.
    async fn grant(&self, mut form: Vec<(&'static str, String)>) -> Result<UserCredentials> {
        let inner = &self.inner;
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let never = |_: u32, _: Duration, _: &Error| {};
        let reply = crate::runtime::on_runtime(inner.grants.post_form(
            &inner.token_url,
            &pairs,
            &|| inner.auth.parts(),
            &never,
        ))
        .await;
        // The form holds the code verifier or refresh token (and maybe a secret).
        for (_, v) in form.iter_mut() {
            zeroize::Zeroize::zeroize(v);
        }
        let reply = reply?;
        parse_user_tokens(&reply.body, reply.sent_at)
    }
}

impl fmt::Debug for SignInClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInClient")
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.config.client_id)
            .field("auth_method", &self.inner.auth.method())
            .finish_non_exhaustive()
    }
}

/// The shared level, or `None` when it cannot be opened (warned: the app's managers then
/// renew as if there were none, coordinated within this process only).
fn open_level(config: &SharedCache) -> Option<Arc<Backend>> {
    match Backend::open(config) {
        Ok(level) => Some(Arc::new(level)),
        Err(e) => {
            tracing::warn!(error = %e, "shared cache unavailable; renewals are shared in this process only");
            None
        }
    }
}

/// A redirect URI must be absolute: `https`, loopback `http`, or an app's custom scheme.
fn check_redirect_uri(uri: &str) -> Result<()> {
    let url = Url::parse(uri).map_err(|_| {
        let uri = crate::http::shown(uri);
        Error::config(format!("redirect_uri {uri:?} is not an absolute URL"))
    })?;
    if url.fragment().is_some() {
        return Err(Error::config("redirect_uri must not have a fragment"));
    }
    if url.scheme() == "http" {
        crate::http::checked_url(uri, "redirect_uri")?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct Extra {
    refresh_token: Option<serde_json::Value>,
    id_token: Option<serde_json::Value>,
}

/// The token endpoint's answer to a user grant, as strict as for client credentials.
pub(crate) fn parse_user_tokens(body: &[u8], sent_at: SystemTime) -> Result<UserCredentials> {
    let token = crate::oauth::token::parse_token_response(body, sent_at)?;
    let extra: Extra =
        serde_json::from_slice(body).map_err(|_| Error::invalid(Some(200), "body is not JSON"))?;
    let text = |v: Option<serde_json::Value>, name: &str| -> Result<Option<String>> {
        match v {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s))
                if !s.is_empty()
                    && s.len() <= 16 * 1024
                    && s.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Ok(Some(s))
            }
            Some(_) => Err(Error::invalid(
                Some(200),
                format!("{name} is not a usable token string"),
            )),
        }
    };
    Ok(UserCredentials {
        access_token: token.access_token().to_string(),
        token_type: token.token_type().to_string(),
        expires_at: token
            .expires_at()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
        scope: token.scope().map(str::to_string),
        refresh_token: text(extra.refresh_token, "refresh_token")?,
        id_token: text(extra.id_token, "id_token")?,
    })
}
