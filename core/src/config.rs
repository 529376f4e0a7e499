//! What a client is built from. Construction is infallible; `TokenClient::new` validates.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{Error, Result};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `client_id` and `client_secret` in the form body (the seed's example, and the default).
    ClientSecretPost,
    /// HTTP Basic with the url-encoded client id and secret.
    ClientSecretBasic,
    /// A JWT client assertion signed with the app's private key.
    PrivateKeyJwt,
}

impl AuthMethod {
    /// Parses the OAuth registry names (`client_secret_post`, …).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "client_secret_post" => Ok(Self::ClientSecretPost),
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "private_key_jwt" => Ok(Self::PrivateKeyJwt),
            other => Err(Error::config(format!(
                "unknown auth method {other:?}: expected client_secret_post, client_secret_basic or private_key_jwt"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// Algorithm of a `private_key_jwt` client assertion (the ones Auth0 accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    RS256,
    PS256,
    ES256,
}

impl SigningAlg {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "RS256" => Ok(Self::RS256),
            "PS256" => Ok(Self::PS256),
            "ES256" => Ok(Self::ES256),
            other => Err(Error::config(format!(
                "unsupported signing algorithm {other:?}: expected RS256, PS256 or ES256"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
        }
    }
}

/// The client's secret material. Zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub enum Credentials {
    ClientSecret(SecretString),
    PrivateKey {
        pem: SecretString,
        alg: SigningAlg,
        /// Optional `kid` header, for apps that registered several credentials.
        key_id: Option<String>,
    },
}

impl Credentials {
    pub fn client_secret(secret: impl Into<String>) -> Self {
        Self::ClientSecret(SecretString::from(secret.into()))
    }

    pub fn private_key_jwt(pem: impl Into<String>, alg: SigningAlg) -> Self {
        Self::PrivateKey {
            pem: SecretString::from(pem.into()),
            alg,
            key_id: None,
        }
    }

    /// Sets the `kid` of a private-key credential (no effect on a secret).
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        if let Self::PrivateKey { key_id, .. } = &mut self {
            *key_id = Some(kid.into());
        }
        self
    }

    pub(crate) fn material(&self) -> &str {
        match self {
            Self::ClientSecret(s) => s.expose_secret(),
            Self::PrivateKey { pem, .. } => pem.expose_secret(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientSecret(_) => f.write_str("ClientSecret([redacted])"),
            Self::PrivateKey { alg, key_id, .. } => f
                .debug_struct("PrivateKey")
                .field("pem", &"[redacted]")
                .field("alg", alg)
                .field("key_id", key_id)
                .finish(),
        }
    }
}

/// When cached tokens stop being served and when they are renewed.
#[derive(Debug, Clone, PartialEq)]
pub struct CachePolicy {
    /// A token with less than this left is never returned. Capped at a fifth of the token's
    /// lifetime so very short tokens stay usable.
    pub expiry_margin: Duration,
    /// Fraction of the usable lifetime at the end of which a background refresh starts.
    pub refresh_ahead: f64,
    /// Upper bound on how early a refresh starts, whatever the lifetime.
    pub max_refresh_ahead: Duration,
    /// Random extra lead, as a fraction of the usable lifetime, so a fleet does not refresh in
    /// lock-step.
    pub jitter: f64,
    /// Whether tokens are shared with every client of the process that has the same key.
    pub enabled: bool,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            expiry_margin: Duration::from_secs(30),
            refresh_ahead: 0.10,
            max_refresh_ahead: Duration::from_secs(3600),
            jitter: 0.05,
            enabled: true,
        }
    }
}

/// Retries for network errors, 429 and 5xx; other 4xx are never retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, including the first (1 = no retry).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the error is returned instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// Timeouts and limits of one HTTP exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpPolicy {
    pub connect_timeout: Duration,
    /// Whole request, from sending to the last byte of the body.
    pub request_timeout: Duration,
    /// Larger response bodies are rejected as invalid.
    pub max_response_bytes: usize,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_response_bytes: 64 * 1024,
        }
    }
}

/// Everything a [`crate::TokenClient`] is built from.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub(crate) domain: String,
    pub(crate) client_id: String,
    pub(crate) credentials: Credentials,
    pub(crate) auth_method: Option<AuthMethod>,
    pub(crate) token_url: Option<String>,
    pub(crate) default_audience: Option<String>,
    pub(crate) cache: CachePolicy,
    pub(crate) retry: RetryPolicy,
    pub(crate) http: HttpPolicy,
}

impl ClientConfig {
    /// `domain` is `tenant.auth0.com`, a full `https://` URL (custom domains), or an `http://`
    /// URL of a loopback host (tests).
    pub fn new(
        domain: impl Into<String>,
        client_id: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        Self {
            domain: domain.into(),
            client_id: client_id.into(),
            credentials,
            auth_method: None,
            token_url: None,
            default_audience: None,
            cache: CachePolicy::default(),
            retry: RetryPolicy::default(),
            http: HttpPolicy::default(),
        }
    }

    /// Reads `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, `AUTH0_CLIENT_SECRET`, and `AUTH0_AUDIENCE`
    /// (optional) as the default audience.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| Error::config(format!("{name} is not set")))
        };
        let mut config = Self::new(
            var("AUTH0_DOMAIN")?,
            var("AUTH0_CLIENT_ID")?,
            Credentials::client_secret(var("AUTH0_CLIENT_SECRET")?),
        );
        config.default_audience = var("AUTH0_AUDIENCE").ok();
        Ok(config)
    }

    /// The audience used when a caller names none (see [`crate::TokenClient::default_request`]).
    pub fn default_audience(mut self, audience: impl Into<String>) -> Self {
        self.default_audience = Some(audience.into());
        self
    }

    /// Only meaningful for a client secret; a private key always uses `private_key_jwt`.
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// Overrides `{domain}/oauth/token`.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    pub fn cache_policy(mut self, cache: CachePolicy) -> Self {
        self.cache = cache;
        self
    }

    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn http_policy(mut self, http: HttpPolicy) -> Self {
        self.http = http;
        self
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The cache policy in effect (so a binding can change one field and keep the rest).
    pub fn cache(&self) -> &CachePolicy {
        &self.cache
    }

    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    pub fn http(&self) -> &HttpPolicy {
        &self.http
    }

    /// Checks every field and resolves the URLs.
    pub(crate) fn validate(&self) -> Result<Resolved> {
        if self.client_id.trim().is_empty() {
            return Err(Error::config("client_id is empty"));
        }
        let tenant = crate::tenant::Tenant::parse(&self.domain)?;
        let token_url = crate::tenant::url_or(
            self.token_url.as_deref(),
            "token_url",
            tenant.endpoint("oauth/token"),
        )?;
        let method = match (&self.credentials, self.auth_method) {
            (Credentials::ClientSecret(s), m) => {
                if s.expose_secret().is_empty() {
                    return Err(Error::config("client secret is empty"));
                }
                match m.unwrap_or(AuthMethod::ClientSecretPost) {
                    AuthMethod::PrivateKeyJwt => {
                        return Err(Error::config(
                            "private_key_jwt needs a private key, not a client secret",
                        ))
                    }
                    m => m,
                }
            }
            (Credentials::PrivateKey { pem, alg, .. }, m) => {
                if matches!(m, Some(m) if m != AuthMethod::PrivateKeyJwt) {
                    return Err(Error::config(
                        "a private key can only be used with private_key_jwt",
                    ));
                }
                crate::assertion::check_key(pem.expose_secret(), *alg)?;
                AuthMethod::PrivateKeyJwt
            }
        };
        let c = &self.cache;
        if !(0.0..1.0).contains(&c.refresh_ahead) || !(0.0..=0.5).contains(&c.jitter) {
            return Err(Error::config(
                "cache policy: refresh_ahead must be in [0, 1) and jitter in [0, 0.5]",
            ));
        }
        if self.retry.max_attempts == 0 || self.retry.max_attempts > 10 {
            return Err(Error::config("retry policy: max_attempts must be 1..=10"));
        }
        if self.http.max_response_bytes < 256 {
            return Err(Error::config("max_response_bytes must be at least 256"));
        }
        if self.http.request_timeout.is_zero() || self.http.connect_timeout.is_zero() {
            return Err(Error::config("timeouts must be greater than zero"));
        }
        Ok(Resolved {
            issuer: tenant.issuer(),
            token_url,
            method,
        })
    }
}

/// The validated, resolved parts of a config.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// `https://tenant.auth0.com/`: the `iss` Auth0 uses and the `aud` of client assertions.
    pub issuer: String,
    pub token_url: Url,
    pub method: AuthMethod,
}

/// HTTPS, or HTTP to a loopback host; no credentials in the URL.
pub(crate) fn checked_url(s: &str, what: &str) -> Result<Url> {
    let url =
        Url::parse(s).map_err(|e| Error::config(format!("{what} {s:?} is not a URL: {e}")))?;
    let host = url
        .host()
        .ok_or_else(|| Error::config(format!("{what} {s:?} has no host")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!("{what} must not embed credentials")));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) => Ok(url),
        "http" => Err(Error::config(format!(
            "{what} {s:?}: plain http is only allowed for loopback hosts; use https"
        ))),
        other => Err(Error::config(format!(
            "{what} {s:?}: unsupported scheme {other:?}"
        ))),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}
