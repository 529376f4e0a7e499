//! The core's configuration types as uniffi sees them: its enums and `HttpOptions` themselves
//! (`#[uniffi::remote]`: uniffi checks each mirror against the core's definition at compile
//! time, and converts nothing), the `Credentials` object that holds the secret (an object, so
//! that no generated `toString`/`description` of a record can show it), and `ClientConfig`.

use std::sync::Arc;
use std::time::Duration;

use tokenkeeper::{AuthMethod, CachePolicy, HttpOptions, SigningAlg};

use crate::live;

/// How the client authenticates at the token endpoint.
#[uniffi::remote(Enum)]
pub enum AuthMethod {
    /// `client_id` and `client_secret` in the form body (the default for a secret).
    ClientSecretPost,
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// A JWT client assertion signed with the app's private key (the only method for a key).
    PrivateKeyJwt,
}

/// Algorithm of a `private_key_jwt` client assertion, or one a verifier accepts.
#[uniffi::remote(Enum)]
pub enum SigningAlg {
    RS256,
    PS256,
    ES256,
}

/// Timeouts, size limit and retries of one client's, verifier's or sign-in client's HTTP
/// exchanges; every field `null`/`nil` (the default) takes the core's default (see the README's
/// table of knobs). Retries cover network errors, timeouts, 429 and 5xx.
#[uniffi::remote(Record)]
pub struct HttpOptions {
    /// TCP + TLS connect timeout.
    #[uniffi(default)]
    pub connect_timeout: Option<Duration>,
    /// Whole request, from sending to the last byte of the body.
    #[uniffi(default)]
    pub request_timeout: Option<Duration>,
    /// Larger response bodies are rejected as invalid (at least 256).
    #[uniffi(default)]
    pub max_response_bytes: Option<u64>,
    /// Total attempts, including the first (1 = no retry; at most 10).
    #[uniffi(default)]
    pub max_attempts: Option<u32>,
    /// First backoff; doubled per retry, with jitter.
    #[uniffi(default)]
    pub initial_backoff: Option<Duration>,
    /// Upper bound of one backoff.
    #[uniffi(default)]
    pub max_backoff: Option<Duration>,
    /// A longer `Retry-After` is not waited for: the error is returned at once.
    #[uniffi(default)]
    pub max_retry_after: Option<Duration>,
    /// The longest wait a server's `Retry-After` can impose: a longer one is remembered and
    /// reported as this (default 1 h).
    #[uniffi(default)]
    pub retry_after_cap: Option<Duration>,
    /// A PEM file of extra CA certificates trusted for HTTPS, besides the system's roots.
    #[uniffi(default)]
    pub ca_file: Option<String>,
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

wraps!(Credentials, inner: tokenkeeper::Credentials, CREDENTIALS);

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
        let c = tokenkeeper::Credentials::private_key_jwt(pem, alg);
        Self::wrap(match key_id {
            Some(kid) => c.with_key_id(kid),
            None => c,
        })
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
    /// The audience of a `TokenRequest` without one, and of `TokenClient.defaultRequest()`.
    #[uniffi(default)]
    pub default_audience: Option<String>,
    /// Overrides `{domain}/oauth/token`.
    #[uniffi(default)]
    pub token_url: Option<String>,
    /// Timeouts, size limit and retries of the token requests.
    #[uniffi(default)]
    pub http: HttpOptions,
    /// Whether tokens are cached and shared in the process (default true).
    #[uniffi(default)]
    pub cache_enabled: Option<bool>,
    /// A token with less than this left is never returned (capped at a fifth of its lifetime).
    #[uniffi(default)]
    pub cache_expiry_margin: Option<Duration>,
    /// Fraction of the usable lifetime at the end of which a background refresh starts.
    #[uniffi(default)]
    pub cache_refresh_ahead: Option<f64>,
    /// Upper bound on how early a refresh starts.
    #[uniffi(default)]
    pub cache_max_refresh_ahead: Option<Duration>,
    /// Random extra lead, as a fraction of the usable lifetime.
    #[uniffi(default)]
    pub cache_jitter: Option<f64>,
    /// A second cache level shared by the processes of this user on this host, or by a fleet
    /// through Redis (off by default). A failure of the shared level never fails a call (it
    /// counts in `Stats.sharedErrors`).
    #[uniffi(default)]
    pub shared_cache: Option<Arc<SharedCache>>,
}

/// Where a client shares tokens beyond its process: `"file"` (the platform's cache directory +
/// `tokenkeeper`), `"file:/some/dir"`, or a Redis URL (`redis://…`, `rediss://…`,
/// `unix:///path/redis.sock`). An object, so that a Redis password never shows in the generated
/// `toString`/`description` of `ClientConfig`; its own text shows the password `redacted`.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct SharedCache {
    /// `None`: off (`""` or blank, as on every surface).
    pub(crate) inner: Option<tokenkeeper::SharedCache>,
}

#[uniffi::export]
impl SharedCache {
    /// Parsed by the core's `SharedCache::parse_optional`: `""` or blank is off, as on every
    /// surface; anything else (a malformed Redis URL, `"file:"`, a relative directory) throws
    /// `Config`.
    #[uniffi::constructor]
    pub fn new(spec: String) -> Result<Arc<Self>, crate::TokenError> {
        let inner = tokenkeeper::SharedCache::parse_optional(Some(&spec))?;
        Ok(Arc::new(Self { inner }))
    }
}

impl std::fmt::Display for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Some(level) => level.fmt(f),
            None => f.write_str("Off"),
        }
    }
}

impl TryFrom<ClientConfig> for tokenkeeper::ClientConfig {
    type Error = tokenkeeper::Error;

    fn try_from(c: ClientConfig) -> Result<Self, Self::Error> {
        let mut cfg =
            tokenkeeper::ClientConfig::new(c.domain, c.client_id, c.credentials.inner.clone())
                .http_options(c.http);
        if let Some(m) = c.auth_method {
            cfg = cfg.auth_method(m);
        }
        if let Some(a) = c.default_audience {
            cfg = cfg.default_audience(a);
        }
        if let Some(u) = c.token_url {
            cfg = cfg.token_url(u);
        }
        let cache: &mut CachePolicy = cfg.cache_mut();
        set(&mut cache.enabled, c.cache_enabled);
        set(&mut cache.expiry_margin, c.cache_expiry_margin);
        set(&mut cache.refresh_ahead, c.cache_refresh_ahead);
        set(&mut cache.max_refresh_ahead, c.cache_max_refresh_ahead);
        set(&mut cache.jitter, c.cache_jitter);
        if let Some(s) = c.shared_cache.and_then(|s| s.inner.clone()) {
            cfg = cfg.shared_cache(s);
        }
        Ok(cfg)
    }
}

/// Overrides a core default when the caller gave a value.
pub(crate) fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}
