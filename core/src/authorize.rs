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
//!
//! The code exchange and the refresh grant are never retried automatically: a code is single
//! use, and a refresh token may rotate, so a retry after a lost answer would spend them.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::{AuthMethod, Credentials, HttpPolicy, RetryPolicy};
use crate::credentials::UserCredentials;
use crate::error::{Error, Result};
use crate::http::Transport;
use crate::tenant::{url_or, Tenant};
use crate::verify::{check_http, Claims, TokenVerifier, VerifierConfig, VerifyOptions};

/// Parameters `/authorize` sets itself; extra parameters cannot override them.
const RESERVED: [&str; 11] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "audience",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "organization",
    "max_age",
];

/// An application that signs users in.
#[derive(Debug, Clone)]
pub struct SignInConfig {
    /// `tenant.auth0.com`, an `https://` URL (custom domain), or an `http://` loopback URL.
    pub domain: String,
    pub client_id: String,
    /// `None`: a public client (SPA, native app) that authenticates with PKCE only.
    /// `Some`: a confidential client (regular web app) with a secret or a private key.
    pub credentials: Option<Credentials>,
    /// For a client secret: `client_secret_post` (default) or `client_secret_basic`.
    pub auth_method: Option<AuthMethod>,
    /// Where `/authorize` sends the browser back (an allowed callback URL of the app).
    pub redirect_uri: String,
    /// Default API audience of the access token (none: an opaque token for `/userinfo`).
    pub audience: Option<String>,
    /// Default scopes; `openid` is always added.
    pub scope: String,
    /// Adds `offline_access` to the scopes, for a refresh token.
    pub offline_access: bool,
    /// Default organization (id `org_…` or name).
    pub organization: Option<String>,
    /// Accepted ID-token issuers; empty: `https://{domain}/`.
    pub issuers: Vec<String>,
    /// Clock skew allowed when checking ID tokens.
    pub leeway: Duration,
    /// Overrides of `{domain}/authorize`, `/oauth/token`, `/userinfo`.
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub http: HttpPolicy,
    /// Retries of the idempotent requests (JWKS, `/userinfo`); the code exchange and the
    /// refresh grant are never retried.
    pub retry: RetryPolicy,
}

impl SignInConfig {
    /// A public client.
    pub fn new(
        domain: impl Into<String>,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            domain: domain.into(),
            client_id: client_id.into(),
            credentials: None,
            auth_method: None,
            redirect_uri: redirect_uri.into(),
            audience: None,
            scope: "openid profile email".into(),
            offline_access: true,
            organization: None,
            issuers: Vec::new(),
            leeway: Duration::from_secs(60),
            authorize_url: None,
            token_url: None,
            userinfo_url: None,
            http: HttpPolicy::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// A confidential client.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }
}

/// Per-login options of [`SignInClient::authorize`]; each overrides the config's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    pub audience: Option<String>,
    pub scope: Option<String>,
    pub organization: Option<String>,
    /// Seconds since the user's last authentication beyond which they must log in again;
    /// checked against the ID token's `auth_time`.
    pub max_age: Option<u64>,
    pub redirect_uri: Option<String>,
    /// More query parameters (`prompt`, `login_hint`, `connection`, `screen_hint`,
    /// `invitation`, `ui_locales`…).
    pub extra: Vec<(String, String)>,
}

/// One login in progress: what the callback is checked against. Keep it until the browser
/// comes back (persist it, `to_json`/`from_json`, if the app may be restarted meanwhile);
/// `Debug` hides the verifier.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginTransaction {
    /// The `/authorize` URL to open in the browser.
    pub url: String,
    pub state: String,
    pub nonce: String,
    /// PKCE code verifier (a secret until the code is exchanged).
    pub code_verifier: String,
    pub redirect_uri: String,
    pub scope: String,
    pub audience: Option<String>,
    pub organization: Option<String>,
    pub max_age: Option<u64>,
}

impl LoginTransaction {
    /// The transaction as JSON (it holds the PKCE verifier: store it like a secret).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a transaction serializes")
    }

    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json)
            .map_err(|e| Error::config(format!("not a saved login transaction: {e}")))
    }
}

impl fmt::Debug for LoginTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginTransaction")
            .field("url", &self.url)
            .field("state", &self.state)
            .field("code_verifier", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .field("organization", &self.organization)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// Signs users in and renews their tokens. Cheap to clone.
#[derive(Clone)]
pub struct SignInClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: SignInConfig,
    issuer: String,
    authorize_url: Url,
    token_url: Url,
    userinfo_url: Url,
    method: Option<AuthMethod>,
    /// No retries: for the code exchange and the refresh grant.
    grants: Transport,
    /// With the configured retries: for `/userinfo`.
    reads: Transport,
    id_tokens: TokenVerifier,
}

impl SignInClient {
    /// Validates the configuration; no network.
    pub fn new(config: SignInConfig) -> Result<Self> {
        let tenant = Tenant::parse(&config.domain)?;
        if config.client_id.trim().is_empty() {
            return Err(Error::config("client_id is empty"));
        }
        check_redirect_uri(&config.redirect_uri)?;
        check_http(&config.http, &config.retry)?;
        let method = match (&config.credentials, config.auth_method) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(Error::config(
                    "an auth method needs credentials (a public client has none)",
                ))
            }
            (Some(Credentials::ClientSecret(s)), m) => {
                if s.expose_secret().is_empty() {
                    return Err(Error::config("client secret is empty"));
                }
                match m.unwrap_or(AuthMethod::ClientSecretPost) {
                    AuthMethod::PrivateKeyJwt => {
                        return Err(Error::config(
                            "private_key_jwt needs a private key, not a client secret",
                        ))
                    }
                    m => Some(m),
                }
            }
            (Some(Credentials::PrivateKey { pem, alg, .. }), m) => {
                if matches!(m, Some(m) if m != AuthMethod::PrivateKeyJwt) {
                    return Err(Error::config(
                        "a private key can only be used with private_key_jwt",
                    ));
                }
                crate::assertion::check_key(pem.expose_secret(), *alg)?;
                Some(AuthMethod::PrivateKeyJwt)
            }
        };
        let mut verifier = VerifierConfig::new(&config.domain, &config.client_id);
        verifier.issuers = config.issuers.clone();
        verifier.leeway = config.leeway;
        verifier.http = config.http.clone();
        verifier.retry = config.retry.clone();
        let id_tokens = TokenVerifier::new(verifier)?;
        Ok(Self {
            inner: Arc::new(Inner {
                issuer: tenant.issuer(),
                authorize_url: url_or(
                    config.authorize_url.as_deref(),
                    "authorize_url",
                    tenant.endpoint("authorize"),
                )?,
                token_url: url_or(
                    config.token_url.as_deref(),
                    "token_url",
                    tenant.endpoint("oauth/token"),
                )?,
                userinfo_url: url_or(
                    config.userinfo_url.as_deref(),
                    "userinfo_url",
                    tenant.endpoint("userinfo"),
                )?,
                method,
                grants: Transport::new(&config.http, &RetryPolicy::none())?,
                reads: Transport::new(&config.http, &config.retry)?,
                id_tokens,
                config,
            }),
        })
    }

    pub fn client_id(&self) -> &str {
        &self.inner.config.client_id
    }

    /// `https://{domain}/`.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The verifier of this app's ID tokens (audience = client id).
    pub fn id_token_verifier(&self) -> &TokenVerifier {
        &self.inner.id_tokens
    }

    /// Starts a login: the `/authorize` URL to open, and what the callback needs.
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
        let state = random_b64(32);
        let nonce = random_b64(32);
        let code_verifier = random_b64(32);
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
            for (k, v) in &params.extra {
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
    pub async fn handle_callback(
        &self,
        tx: &LoginTransaction,
        callback_url: &str,
    ) -> Result<UserCredentials> {
        let code = self.callback_code(tx, callback_url)?;
        self.exchange_code(tx, &code).await
    }

    pub fn handle_callback_blocking(
        &self,
        tx: &LoginTransaction,
        callback_url: &str,
    ) -> Result<UserCredentials> {
        let code = self.callback_code(tx, callback_url)?;
        self.exchange_code_blocking(tx, &code)
    }

    /// The code of a callback URL, after checking `state` (and `iss`, when present).
    pub fn callback_code(&self, tx: &LoginTransaction, callback_url: &str) -> Result<String> {
        let bad = |d: &str| Error::invalid(None, format!("callback: {d}"));
        let url = Url::parse(callback_url).map_err(|_| bad("not a URL"))?;
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        let mut iss = None;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "code" => code = Some(v.into_owned()),
                "state" => state = Some(v.into_owned()),
                "error" => error = Some(v.into_owned()),
                "error_description" => description = Some(v.into_owned()),
                "iss" => iss = Some(v.into_owned()),
                _ => {}
            }
        }
        let clean =
            |s: String| crate::token::truncate(&s.replace(|c: char| c.is_control(), " "), 300);
        if state.as_deref() != Some(tx.state.as_str()) {
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
                self.inner.id_tokens.verify_with(id, &options).await?;
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
    pub async fn refresh(
        &self,
        refresh_token: &str,
        scope: Option<&str>,
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

    /// The user's profile from `/userinfo` for an access token (opaque, or a JWT whose `aud`
    /// includes `{issuer}userinfo`). A rejected token is [`Error::OAuth`] `invalid_token`
    /// with status 401.
    pub async fn userinfo(&self, access_token: &str) -> Result<Claims> {
        crate::userinfo::fetch(&self.inner.reads, &self.inner.userinfo_url, access_token).await
    }

    pub fn userinfo_blocking(&self, access_token: &str) -> Result<Claims> {
        let (this, at) = (self.clone(), access_token.to_string());
        crate::runtime::block_on(async move { this.userinfo(&at).await })
    }

    /// POSTs a user grant with the client's authentication; parses the tokens.
    async fn grant(&self, mut form: Vec<(&'static str, String)>) -> Result<UserCredentials> {
        let inner = &self.inner;
        let cfg = &inner.config;
        let mut basic = None;
        match (&cfg.credentials, inner.method) {
            (Some(Credentials::ClientSecret(s)), Some(AuthMethod::ClientSecretBasic)) => {
                basic = Some((cfg.client_id.as_str(), s.expose_secret()));
            }
            (Some(Credentials::ClientSecret(s)), _) => {
                form.push(("client_id", cfg.client_id.clone()));
                form.push(("client_secret", s.expose_secret().to_string()));
            }
            (Some(Credentials::PrivateKey { pem, alg, key_id }), _) => {
                let assertion = crate::assertion::sign(
                    pem.expose_secret(),
                    *alg,
                    key_id.as_deref(),
                    &cfg.client_id,
                    &inner.issuer,
                )?;
                form.push(("client_id", cfg.client_id.clone()));
                form.push((
                    "client_assertion_type",
                    crate::assertion::ASSERTION_TYPE.to_string(),
                ));
                form.push(("client_assertion", assertion));
            }
            (None, _) => form.push(("client_id", cfg.client_id.clone())),
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let never = |_: u32, _: Duration, _: &Error| {};
        let reply = inner
            .grants
            .post_form(&inner.token_url, &pairs, basic, &never)
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
            .field("auth_method", &self.inner.method)
            .finish_non_exhaustive()
    }
}

/// A redirect URI must be absolute: `https`, loopback `http`, or an app's custom scheme.
fn check_redirect_uri(uri: &str) -> Result<()> {
    let url = Url::parse(uri)
        .map_err(|_| Error::config(format!("redirect_uri {uri:?} is not an absolute URL")))?;
    if url.fragment().is_some() {
        return Err(Error::config("redirect_uri must not have a fragment"));
    }
    if url.scheme() == "http" {
        crate::config::checked_url(uri, "redirect_uri")?;
    }
    Ok(())
}

fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

#[derive(Deserialize)]
struct Extra {
    refresh_token: Option<serde_json::Value>,
    id_token: Option<serde_json::Value>,
}

/// The token endpoint's answer to a user grant, as strict as for client credentials.
fn parse_user_tokens(body: &[u8], sent_at: SystemTime) -> Result<UserCredentials> {
    let token = crate::token::parse_token_response(body, sent_at)?;
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
