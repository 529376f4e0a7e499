//! The client's configuration: a record of plain settings plus a `Credentials` object that holds
//! the secret (an object, so that no generated `toString`/`description` of the record can show it).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::live;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum AuthMethod {
    /// `client_id` and `client_secret` in the form body (the default for a secret).
    ClientSecretPost,
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// A JWT client assertion signed with the app's private key (the only method for a key).
    PrivateKeyJwt,
}

impl From<AuthMethod> for tokenkeeper::AuthMethod {
    fn from(m: AuthMethod) -> Self {
        match m {
            AuthMethod::ClientSecretPost => Self::ClientSecretPost,
            AuthMethod::ClientSecretBasic => Self::ClientSecretBasic,
            AuthMethod::PrivateKeyJwt => Self::PrivateKeyJwt,
        }
    }
}

impl From<tokenkeeper::AuthMethod> for AuthMethod {
    fn from(m: tokenkeeper::AuthMethod) -> Self {
        match m {
            tokenkeeper::AuthMethod::ClientSecretPost => Self::ClientSecretPost,
            tokenkeeper::AuthMethod::ClientSecretBasic => Self::ClientSecretBasic,
            tokenkeeper::AuthMethod::PrivateKeyJwt => Self::PrivateKeyJwt,
        }
    }
}

/// Algorithm of a `private_key_jwt` client assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum SigningAlg {
    RS256,
    PS256,
    ES256,
}

impl From<SigningAlg> for tokenkeeper::SigningAlg {
    fn from(a: SigningAlg) -> Self {
        match a {
            SigningAlg::RS256 => Self::RS256,
            SigningAlg::PS256 => Self::PS256,
            SigningAlg::ES256 => Self::ES256,
        }
    }
}

/// The client's secret material: a client secret, or a private key (PEM) for `private_key_jwt`.
///
/// Its `toString()`/`description` never shows the secret; the core zeroizes it when the last
/// reference is released.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct Credentials {
    pub(crate) inner: tokenkeeper::Credentials,
    _live: live::Guard,
}

impl Credentials {
    fn wrap(inner: tokenkeeper::Credentials) -> Arc<Self> {
        Arc::new(Self {
            inner,
            _live: live::CREDENTIALS.track(),
        })
    }
}

#[uniffi::export]
impl Credentials {
    /// A client secret (`client_secret_post` or `client_secret_basic`).
    #[uniffi::constructor]
    pub fn client_secret(secret: String) -> Arc<Self> {
        Self::wrap(tokenkeeper::Credentials::client_secret(secret))
    }

    /// A private key in PEM (PKCS#8, or PKCS#1 for RSA) for `private_key_jwt`, with the
    /// assertion's algorithm and an optional `kid`. The key is checked when the client is built.
    #[uniffi::constructor(default(key_id))]
    pub fn private_key(pem: String, alg: SigningAlg, key_id: Option<String>) -> Arc<Self> {
        let c = tokenkeeper::Credentials::private_key_jwt(pem, alg.into());
        Self::wrap(match key_id {
            Some(kid) => c.with_key_id(kid),
            None => c,
        })
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The core's Debug redacts the secret and the key.
        write!(f, "{:?}", self.inner)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Everything a `TokenClient` is built from. Every optional setting left `null`/`nil` takes the
/// core's default (see the main README).
#[derive(uniffi::Record)]
pub struct ClientConfig {
    /// `tenant.auth0.com`, a full `https://` URL (custom domains), or an `http://` loopback URL.
    pub domain: String,
    pub client_id: String,
    pub credentials: Arc<Credentials>,
    /// For a client secret: `ClientSecretPost` (default) or `ClientSecretBasic`.
    #[uniffi(default)]
    pub auth_method: Option<AuthMethod>,
    /// The audience of `TokenClient.defaultRequest()`.
    #[uniffi(default)]
    pub default_audience: Option<String>,
    /// Overrides `{domain}/oauth/token`.
    #[uniffi(default)]
    pub token_url: Option<String>,
    /// TCP/TLS connect timeout (default 5 s).
    #[uniffi(default)]
    pub connect_timeout: Option<Duration>,
    /// Whole-request timeout (default 15 s).
    #[uniffi(default)]
    pub request_timeout: Option<Duration>,
    /// Larger response bodies are rejected as invalid (default 64 KiB).
    #[uniffi(default)]
    pub max_response_bytes: Option<u64>,
    /// Total attempts including the first (default 3; 1 = no retry).
    #[uniffi(default)]
    pub retry_max_attempts: Option<u32>,
    #[uniffi(default)]
    pub retry_initial_backoff: Option<Duration>,
    #[uniffi(default)]
    pub retry_max_backoff: Option<Duration>,
    /// A longer `Retry-After` is not waited for: `RateLimited` is returned at once (default 30 s).
    #[uniffi(default)]
    pub retry_max_retry_after: Option<Duration>,
    /// Whether tokens are cached and shared in the process (default true).
    #[uniffi(default)]
    pub cache_enabled: Option<bool>,
    /// A token with less than this left is never returned (default 30 s, capped at a fifth of
    /// the lifetime).
    #[uniffi(default)]
    pub cache_expiry_margin: Option<Duration>,
    /// Fraction of the usable lifetime at the end of which a background refresh starts.
    #[uniffi(default)]
    pub cache_refresh_ahead: Option<f64>,
    #[uniffi(default)]
    pub cache_max_refresh_ahead: Option<Duration>,
    /// Random extra lead, as a fraction of the usable lifetime.
    #[uniffi(default)]
    pub cache_jitter: Option<f64>,
}

impl From<ClientConfig> for tokenkeeper::ClientConfig {
    fn from(c: ClientConfig) -> Self {
        let mut cfg =
            tokenkeeper::ClientConfig::new(c.domain, c.client_id, c.credentials.inner.clone());
        if let Some(m) = c.auth_method {
            cfg = cfg.auth_method(m.into());
        }
        if let Some(a) = c.default_audience {
            cfg = cfg.default_audience(a);
        }
        if let Some(u) = c.token_url {
            cfg = cfg.token_url(u);
        }
        let http = http_policy(c.connect_timeout, c.request_timeout, c.max_response_bytes);
        let retry = retry_policy(
            c.retry_max_attempts,
            c.retry_initial_backoff,
            c.retry_max_backoff,
            c.retry_max_retry_after,
        );
        let mut cache = tokenkeeper::CachePolicy::default();
        set(&mut cache.enabled, c.cache_enabled);
        set(&mut cache.expiry_margin, c.cache_expiry_margin);
        set(&mut cache.refresh_ahead, c.cache_refresh_ahead);
        set(&mut cache.max_refresh_ahead, c.cache_max_refresh_ahead);
        set(&mut cache.jitter, c.cache_jitter);
        cfg.http_policy(http)
            .retry_policy(retry)
            .cache_policy(cache)
    }
}

/// The core's HTTP policy with the settings given (`None`: the core's default).
pub(crate) fn http_policy(
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    max_response_bytes: Option<u64>,
) -> tokenkeeper::HttpPolicy {
    let mut http = tokenkeeper::HttpPolicy::default();
    set(&mut http.connect_timeout, connect_timeout);
    set(&mut http.request_timeout, request_timeout);
    set(
        &mut http.max_response_bytes,
        max_response_bytes.map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
    );
    http
}

/// The core's retry policy with the settings given (`None`: the core's default).
pub(crate) fn retry_policy(
    max_attempts: Option<u32>,
    initial_backoff: Option<Duration>,
    max_backoff: Option<Duration>,
    max_retry_after: Option<Duration>,
) -> tokenkeeper::RetryPolicy {
    let mut retry = tokenkeeper::RetryPolicy::default();
    set(&mut retry.max_attempts, max_attempts);
    set(&mut retry.initial_backoff, initial_backoff);
    set(&mut retry.max_backoff, max_backoff);
    set(&mut retry.max_retry_after, max_retry_after);
    retry
}

pub(crate) fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}
