//! What a client is built from. Construction is infallible; `TokenClient::new` validates.

use std::time::Duration;

use url::Url;

use crate::env;
use crate::error::{Error, Result};
use crate::http::{HttpOptions, KnobValue};
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::credentials::{AuthMethod, Credentials};
use crate::oauth::tenant::{url_or, Tenant};
use crate::shared_cache::SharedCache;

/// When cached tokens stop being served and when they are renewed.
///
/// The defaults: `expiry_margin` 30 s, `refresh_ahead` 0.10, `max_refresh_ahead` 1 h,
/// `jitter` 0.05, `enabled` true. [`crate::TokenClient::new`] checks that `refresh_ahead` is
/// in `[0, 1)` and `jitter` in `[0, 0.5]`.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tokenkeeper::{CachePolicy, ClientConfig, Credentials};
///
/// let policy = CachePolicy {
///     expiry_margin: Duration::from_secs(60),
///     refresh_ahead: 0.2,
///     ..CachePolicy::default()
/// };
/// // The same knobs by name (seconds for durations), as the Python keywords and C give them.
/// let mut by_name = CachePolicy::default();
/// by_name.set("expiry_margin", 60.0)?;
/// by_name.set("refresh_ahead", 0.2)?;
/// assert_eq!(policy, by_name);
///
/// let config = ClientConfig::new("tenant.auth0.com", "client-id", Credentials::client_secret("…"))
///     .cache_policy(policy);
/// # Ok::<(), tokenkeeper::Error>(())
/// ```
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

/// The cache knobs by name, for surfaces that take them so (Python keywords, C): seconds for
/// durations, a fraction for `refresh_ahead` and `jitter`, 0 or 1 for `enabled`.
///
/// See the example on [`CachePolicy`].
pub const CACHE_KNOBS: [&str; 5] = [
    "expiry_margin",
    "refresh_ahead",
    "max_refresh_ahead",
    "jitter",
    "enabled",
];

impl CachePolicy {
    /// Sets a knob of [`CACHE_KNOBS`] by name; checked when the client is built.
    ///
    /// See the example on [`CachePolicy`].
    pub fn set(&mut self, name: &str, value: f64) -> Result<()> {
        let v = KnobValue::new(name, value)?;
        match name {
            "expiry_margin" => self.expiry_margin = v.secs()?,
            "refresh_ahead" => self.refresh_ahead = v.get(),
            "max_refresh_ahead" => self.max_refresh_ahead = v.secs()?,
            "jitter" => self.jitter = v.get(),
            "enabled" if value == 0.0 || value == 1.0 => self.enabled = value == 1.0,
            "enabled" => return Err(v.bad("must be 0 or 1")),
            _ => {
                return Err(Error::config(format!(
                    "unknown cache option {name:?}: expected one of {}",
                    CACHE_KNOBS.join(", ")
                )))
            }
        }
        Ok(())
    }
}

/// Everything a [`crate::TokenClient`] is built from.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tokenkeeper::{AuthMethod, CachePolicy, ClientConfig, Credentials, HttpOptions};
///
/// let config = ClientConfig::new("tenant.auth0.com", "client-id", Credentials::client_secret("…"))
///     .auth_method(AuthMethod::ClientSecretBasic)
///     .default_audience("https://api.example.com")
///     .http_options(HttpOptions::default().request_timeout(Duration::from_secs(10)))
///     .cache_policy(CachePolicy {
///         expiry_margin: Duration::from_secs(60),
///         ..CachePolicy::default()
///     });
/// assert_eq!(config.domain(), "tenant.auth0.com");
/// assert_eq!(config.cache().expiry_margin, Duration::from_secs(60));
/// assert!(config.shared().is_none()); // no shared cache level unless asked for
/// ```
///
/// Nothing is checked here: [`crate::TokenClient::new`] validates the config.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub(crate) domain: String,
    pub(crate) client_id: String,
    pub(crate) credentials: Credentials,
    pub(crate) auth_method: Option<AuthMethod>,
    pub(crate) token_url: Option<String>,
    pub(crate) default_audience: Option<String>,
    pub(crate) cache: CachePolicy,
    pub(crate) http: HttpOptions,
    pub(crate) shared_cache: Option<SharedCache>,
}

impl ClientConfig {
    /// `domain` is `tenant.auth0.com`, a full `https://` URL (custom domains), or an `http://`
    /// URL of a loopback host (tests).
    ///
    /// See the example on [`ClientConfig`].
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
            http: HttpOptions::default(),
            shared_cache: None,
        }
    }

    /// Reads `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, the credential, `AUTH0_AUDIENCE` (optional) as
    /// the default audience, `TOKENKEEPER_SHARED_CACHE` (optional, e.g. `file`) as the shared
    /// cache level, and `TOKENKEEPER_CA_FILE` (optional) as the `ca_file` of [`HttpOptions`] (a
    /// PEM file of extra CAs, read when the client is built). The credential is exactly one of
    /// `AUTH0_CLIENT_SECRET`, `AUTH0_CLIENT_SECRET_FILE` (a file holding the secret, trimmed) and
    /// `AUTH0_PRIVATE_KEY_FILE` (a PEM key for `private_key_jwt`, with the optional
    /// `AUTH0_PRIVATE_KEY_ALG`, RS256 by default, and `AUTH0_PRIVATE_KEY_ID`). An empty
    /// variable is an unset one; an unreadable file is `Config` naming the variable and the
    /// path, never the contents.
    ///
    /// See the example on [`ClientConfig`].
    pub fn from_env() -> Result<Self> {
        let (domain, client_id) = (env::var("AUTH0_DOMAIN")?, env::var("AUTH0_CLIENT_ID")?);
        let credentials = env::credentials()?.ok_or_else(|| {
            Error::config(
                "AUTH0_CLIENT_SECRET is not set (nor AUTH0_CLIENT_SECRET_FILE or \
                 AUTH0_PRIVATE_KEY_FILE)",
            )
        })?;
        let mut config = Self::new(domain, client_id, credentials);
        config.default_audience = env::opt("AUTH0_AUDIENCE");
        config.shared_cache = SharedCache::from_env()?;
        config.http.ca_file = env::opt("TOKENKEEPER_CA_FILE");
        Ok(config)
    }

    /// The audience used when a caller names none (see [`crate::TokenClient::default_request`]).
    ///
    /// See the example on [`ClientConfig`].
    pub fn default_audience(mut self, audience: impl Into<String>) -> Self {
        self.default_audience = Some(audience.into());
        self
    }

    /// Only meaningful for a client secret; a private key always uses `private_key_jwt`.
    ///
    /// See the example on [`ClientConfig`].
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// Overrides `{domain}/oauth/token`.
    ///
    /// See the example on [`ClientConfig`].
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// When cached tokens stop being served and when they are renewed (default:
    /// [`CachePolicy::default`]).
    ///
    /// See the example on [`ClientConfig`].
    pub fn cache_policy(mut self, cache: CachePolicy) -> Self {
        self.cache = cache;
        self
    }

    /// Shares tokens beyond this process (off by default): see [`SharedCache`].
    ///
    /// See the example on [`ClientConfig`].
    pub fn shared_cache(mut self, shared: SharedCache) -> Self {
        self.shared_cache = Some(shared);
        self
    }

    /// No shared cache level (overrides `TOKENKEEPER_SHARED_CACHE` after `from_env`).
    ///
    /// See the example on [`ClientConfig`].
    pub fn without_shared_cache(mut self) -> Self {
        self.shared_cache = None;
        self
    }

    /// The shared cache level in use, if any.
    ///
    /// See the example on [`ClientConfig`].
    pub fn shared(&self) -> Option<&SharedCache> {
        self.shared_cache.as_ref()
    }

    /// Timeouts, size limit and retries of the token requests.
    ///
    /// See the example on [`ClientConfig`].
    pub fn http_options(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// The domain as given to [`Self::new`].
    ///
    /// See the example on [`ClientConfig`].
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The client id as given to [`Self::new`].
    ///
    /// See the example on [`ClientConfig`].
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The cache policy in effect (so a binding can change one field and keep the rest).
    ///
    /// See the example on [`ClientConfig`].
    pub fn cache(&self) -> &CachePolicy {
        &self.cache
    }

    /// The HTTP options in effect (so a binding can change one knob and keep the rest).
    ///
    /// See the example on [`ClientConfig`].
    pub fn http(&self) -> &HttpOptions {
        &self.http
    }

    /// The HTTP options, to change in place (checked when the client is built).
    ///
    /// See the example on [`ClientConfig`].
    pub fn http_mut(&mut self) -> &mut HttpOptions {
        &mut self.http
    }

    /// The cache policy, to change in place (checked when the client is built).
    ///
    /// See the example on [`ClientConfig`].
    pub fn cache_mut(&mut self) -> &mut CachePolicy {
        &mut self.cache
    }

    /// Checks every field and resolves the URLs.
    pub(crate) fn validate(&self) -> Result<Resolved> {
        let tenant = Tenant::parse(&self.domain)?;
        let token_url = url_or(
            self.token_url.as_deref(),
            "token_url",
            tenant.endpoint("oauth/token"),
        )?;
        let issuer = tenant.issuer();
        let auth = ClientAuth::new(
            &self.client_id,
            Some(&self.credentials),
            self.auth_method,
            &issuer,
        )?;
        let c = &self.cache;
        if !(0.0..1.0).contains(&c.refresh_ahead) || !(0.0..=0.5).contains(&c.jitter) {
            return Err(Error::config(
                "cache policy: refresh_ahead must be in [0, 1) and jitter in [0, 0.5]",
            ));
        }
        self.http.effective()?;
        Ok(Resolved {
            issuer,
            token_url,
            method: auth.method().unwrap_or(AuthMethod::ClientSecretPost),
            auth,
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
    pub auth: ClientAuth,
}
