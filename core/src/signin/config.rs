//! What a sign-in client is built from, the options of one login, and the login in progress.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::env;
use crate::error::{Error, Result};
use crate::http::{is_http_knob, HttpOptions, KnobValue};
use crate::oauth::credentials::{AuthMethod, Credentials};
use crate::shared_cache::SharedCache;

/// Parameters `/authorize` sets itself; extra parameters cannot override them.
pub(crate) const RESERVED: [&str; 11] = [
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
///
/// Built with [`Self::new`] and a few builder methods; the other fields are set directly.
/// Nothing is checked until [`crate::SignInClient::new`].
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tokenkeeper::{Credentials, SignInClient, SignInConfig};
///
/// let mut config = SignInConfig::new(
///     "tenant.auth0.com",
///     "client-id",
///     "https://app.example.com/callback",
/// )
/// // A regular web app; a public client (SPA, native app) has no credentials.
/// .with_credentials(Credentials::client_secret("…"))
/// .audience("https://api.example.com")
/// .scope("openid profile email read:things");
/// config.leeway = Duration::from_secs(30);
/// config.organization = Some("org_abc123".into());
/// let client = SignInClient::new(config)?; // no network
/// # Ok::<(), tokenkeeper::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SignInConfig {
    /// `tenant.auth0.com`, an `https://` URL (custom domain), or an `http://` loopback URL.
    pub domain: String,
    /// The application's client id (the `aud` of its ID tokens).
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
    /// Overrides `{domain}/authorize`.
    pub authorize_url: Option<String>,
    /// Overrides `{domain}/oauth/token` (revocation goes to `revoke` next to it).
    pub token_url: Option<String>,
    /// Overrides `{domain}/userinfo`.
    pub userinfo_url: Option<String>,
    /// Timeouts, size limit and retries. Retries apply to the idempotent requests (JWKS,
    /// `/userinfo`); the code exchange and the refresh grant are never retried.
    pub http: HttpOptions,
    /// Shares refresh-token renewals beyond this process (off by default): every
    /// [`crate::CredentialsManager`] of this app on the same level, in any process (file) or on
    /// any host (Redis), spends a refresh token at most once. See `docs/grants.md`.
    pub shared_cache: Option<SharedCache>,
}

/// The number knobs of [`SignInConfig::set`], beside the HTTP knobs: `leeway` (seconds) and
/// `offline_access` (0 or 1).
pub const SIGNIN_KNOBS: [&str; 2] = ["leeway", "offline_access"];

impl SignInConfig {
    /// Sets a knob of [`SIGNIN_KNOBS`] or an HTTP knob ([`crate::HTTP_KNOBS`]) by name, with
    /// durations in seconds (C `tk_signin_config_set`). An unknown name or a bad value is
    /// [`Error::Config`] at once.
    ///
    /// See the example on [`SignInConfig`].
    pub fn set(&mut self, name: &str, value: f64) -> Result<()> {
        if is_http_knob(name) {
            return self.http.set(name, value);
        }
        let v = KnobValue::new(name, value)?;
        match name {
            "leeway" => self.leeway = v.secs()?,
            "offline_access" if value == 0.0 || value == 1.0 => self.offline_access = value == 1.0,
            "offline_access" => return Err(v.bad("must be 0 or 1")),
            _ => {
                return Err(Error::config(format!(
                    "unknown sign-in option {name:?}: expected one of {} or an HTTP option",
                    SIGNIN_KNOBS.join(", ")
                )))
            }
        }
        Ok(())
    }

    /// A public client.
    ///
    /// Defaults: scopes `openid profile email`, `offline_access` on, a leeway of 60 s, no
    /// audience, organization or credentials.
    ///
    /// See the example on [`SignInConfig`].
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
            http: HttpOptions::default(),
            shared_cache: None,
        }
    }

    /// Reads `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID` and `AUTH0_REDIRECT_URI` (required), the app's
    /// credential if it is a confidential client (the same variables as
    /// [`crate::ClientConfig::from_env`]: `AUTH0_CLIENT_SECRET`, `AUTH0_CLIENT_SECRET_FILE` or
    /// `AUTH0_PRIVATE_KEY_FILE`; none set is a public client), and the optional
    /// `AUTH0_AUDIENCE`, `AUTH0_SCOPE`, `TOKENKEEPER_CA_FILE` and `TOKENKEEPER_SHARED_CACHE` (the
    /// level renewals are shared on). An empty variable is an unset one.
    ///
    /// See the example on [`SignInConfig`].
    pub fn from_env() -> Result<Self> {
        let mut config = Self::new(
            env::var("AUTH0_DOMAIN")?,
            env::var("AUTH0_CLIENT_ID")?,
            env::var("AUTH0_REDIRECT_URI")?,
        );
        config.credentials = env::credentials()?;
        config.audience = env::opt("AUTH0_AUDIENCE");
        if let Some(scope) = env::opt("AUTH0_SCOPE") {
            config.scope = scope;
        }
        config.http.ca_file = env::opt("TOKENKEEPER_CA_FILE");
        config.shared_cache = SharedCache::from_env()?;
        Ok(config)
    }

    /// A confidential client.
    ///
    /// See the example on [`SignInConfig`].
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets the default API audience ([`Self::audience`](field@Self::audience)).
    ///
    /// See the example on [`SignInConfig`].
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Sets the default scopes, space-separated ([`Self::scope`](field@Self::scope)).
    ///
    /// See the example on [`SignInConfig`].
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }
}

/// Per-login options of [`SignInClient::authorize`](crate::SignInClient::authorize); each
/// overrides the config's default. See the example on [`SignInClient`](crate::SignInClient).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    /// The API audience of the access token.
    pub audience: Option<String>,
    /// The scopes, space-separated (`openid` is always added).
    pub scope: Option<String>,
    /// The organization to log in to (id `org_…` or name).
    pub organization: Option<String>,
    /// Seconds since the user's last authentication beyond which they must log in again;
    /// checked against the ID token's `auth_time`.
    pub max_age: Option<u64>,
    /// Where the browser is sent back to, instead of the config's `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// More query parameters (`prompt`, `login_hint`, `connection`, `screen_hint`,
    /// `invitation`, `ui_locales`…). They follow the library's own parameters in the URL,
    /// sorted by name (then value), so the URL is the same whatever order a surface gives.
    pub extra: Vec<(String, String)>,
}

/// One login in progress: what the callback is checked against. Keep it until the browser
/// comes back (persist it, `to_json`/`from_json`, if the app may be restarted meanwhile);
/// `Debug` hides the verifier.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginTransaction {
    /// The `/authorize` URL to open in the browser.
    pub url: String,
    /// The `state` sent to `/authorize`; the callback's must equal it.
    pub state: String,
    /// The `nonce` sent to `/authorize`; the ID token's must equal it.
    pub nonce: String,
    /// PKCE code verifier (a secret until the code is exchanged).
    pub code_verifier: String,
    /// The redirect URI sent to `/authorize` (sent again with the code).
    pub redirect_uri: String,
    /// The scopes asked for, space-separated.
    pub scope: String,
    /// The API audience asked for, if any.
    pub audience: Option<String>,
    /// The organization asked for, if any; the ID token must match it.
    pub organization: Option<String>,
    /// The `max_age` asked for, in seconds; checked against the ID token's `auth_time`.
    pub max_age: Option<u64>,
}

impl LoginTransaction {
    /// The transaction as JSON (it holds the PKCE verifier: store it like a secret).
    ///
    /// See the example on [`SignInClient`](crate::SignInClient).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a transaction serializes")
    }

    /// A transaction saved with [`Self::to_json`]; anything else is [`Error::Config`] (its
    /// message gives the error's category and position, never a value).
    ///
    /// See the example on [`SignInClient`](crate::SignInClient).
    pub fn from_json(json: &str) -> Result<Self> {
        if !crate::text::is_json_object(json.as_bytes()) {
            return Err(Error::config(
                "not a saved login transaction (not a JSON object)",
            ));
        }
        serde_json::from_str(json).map_err(|e| {
            Error::config(format!(
                "not a saved login transaction ({})",
                crate::text::json_error(&e)
            ))
        })
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
