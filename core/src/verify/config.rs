//! What a verifier checks and how it gets keys (`VerifierConfig`), the per-call expectations
//! (`VerifyOptions`) and the counters (`VerifierStats`).

use std::time::Duration;

use crate::env;
use crate::error::{Error, Result};
use crate::http::{is_http_knob, HttpOptions, KnobValue};
use crate::oauth::credentials::SigningAlg;

/// What a [`TokenVerifier`](crate::TokenVerifier) checks, and how it gets keys.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tokenkeeper::{SigningAlg, TokenVerifier, VerifierConfig};
///
/// let mut config = VerifierConfig::new("tenant.auth0.com", "https://api.example.com");
/// // A custom domain: accept the issuers of both domains.
/// config.issuers = vec!["https://tenant.auth0.com/".into(), "https://login.example.com/".into()];
/// config.algorithms = vec![SigningAlg::RS256];
/// config.leeway = Duration::from_secs(30);
/// let verifier = TokenVerifier::new(config.clone())?;
/// assert_eq!(verifier.jwks_url(), "https://tenant.auth0.com/.well-known/jwks.json");
///
/// config.set("jwks_lifetime", 300.0)?; // by name, seconds (as C and Python take them)
/// config.set("request_timeout", 5.0)?; // an HTTP knob
/// assert!(config.set("lifetime", 1.0).is_err());
/// config.jwks_min_refetch_interval = Duration::from_millis(100); // below the floor
/// assert!(TokenVerifier::new(config).is_err());
/// # Ok::<(), tokenkeeper::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// `tenant.auth0.com`, an `https://` URL (custom domain), or an `http://` loopback URL.
    pub domain: String,
    /// The `aud` a token must contain: the API identifier for access tokens, the client id
    /// for ID tokens.
    pub audience: String,
    /// Accepted `iss` values, compared exactly. Empty: `https://{domain}/` only. A tenant with
    /// a custom domain issues tokens with the issuer of whichever domain the token was
    /// requested from: list both.
    pub issuers: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf`, `iat` and `auth_time` (at most 10 minutes).
    pub leeway: Duration,
    /// Required organization, by Auth0's rule: a value that starts with `org_` is an id and
    /// is compared with `org_id` only, exactly; any other value is a name and is compared with
    /// `org_name` only, case-insensitively (Auth0 lowercases names). A name that itself starts
    /// with `org_` goes in [`Self::organization_name`].
    pub organization: Option<String>,
    /// Required organization name, whatever it starts with: compared with `org_name` only,
    /// case-insensitively. With [`Self::organization`] too, both must match.
    pub organization_name: Option<String>,
    /// Required `azp` (the client the token was issued to).
    pub authorized_party: Option<String>,
    /// Accepted algorithms; a subset of RS256, PS256, ES256 (the default is all three).
    pub algorithms: Vec<SigningAlg>,
    /// Larger tokens are rejected as malformed before anything is decoded.
    pub max_token_bytes: usize,
    /// Overrides `{domain}/.well-known/jwks.json`.
    pub jwks_url: Option<String>,
    /// How long a fetched JWKS is used before it is fetched again.
    pub jwks_lifetime: Duration,
    /// A token naming an unknown `kid` refetches the JWKS, but at most once per interval;
    /// at least [`JWKS_MIN_REFETCH_FLOOR`] (a smaller value is a configuration error).
    pub jwks_min_refetch_interval: Duration,
    /// Timeouts, size limit and retries of the JWKS requests.
    pub http: HttpOptions,
}

/// The smallest `jwks_min_refetch_interval`: below it, a stream of tokens with made-up `kid`s
/// would make about one JWKS request each.
///
/// See the example on [`VerifierConfig`].
pub const JWKS_MIN_REFETCH_FLOOR: Duration = Duration::from_secs(1);

/// The number knobs of [`VerifierConfig::set`] (durations in seconds), beside the HTTP knobs.
pub const VERIFIER_KNOBS: [&str; 4] = [
    "leeway",
    "max_token_bytes",
    "jwks_lifetime",
    "jwks_min_refetch_interval",
];

impl VerifierConfig {
    /// Sets a knob of [`VERIFIER_KNOBS`] or an HTTP knob ([`crate::HTTP_KNOBS`]) by name, with
    /// durations in seconds: the one setter of every surface that takes knobs by name (C
    /// `tk_verifier_config_set`). Checked when the verifier is built; an unknown name, a
    /// negative or non-finite value is [`Error::Config`] at once.
    ///
    /// See the example on [`VerifierConfig`].
    pub fn set(&mut self, name: &str, value: f64) -> Result<()> {
        if is_http_knob(name) {
            return self.http.set(name, value);
        }
        let v = KnobValue::new(name, value)?;
        match name {
            "leeway" => self.leeway = v.secs()?,
            "max_token_bytes" => self.max_token_bytes = v.count()? as usize,
            "jwks_lifetime" => self.jwks_lifetime = v.secs()?,
            "jwks_min_refetch_interval" => self.jwks_min_refetch_interval = v.secs()?,
            _ => {
                return Err(Error::config(format!(
                    "unknown verifier option {name:?}: expected one of {} or an HTTP option",
                    VERIFIER_KNOBS.join(", ")
                )))
            }
        }
        Ok(())
    }

    /// The checks for tokens from `domain` for `audience`, with the defaults: issuer
    /// `https://{domain}/`, 60 s leeway, RS256/PS256/ES256, tokens up to 16 KiB, the JWKS at
    /// `{domain}/.well-known/jwks.json` used for 10 minutes and refetched for an unknown `kid`
    /// at most every 30 s.
    ///
    /// See the example on [`VerifierConfig`].
    pub fn new(domain: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            audience: audience.into(),
            issuers: Vec::new(),
            leeway: Duration::from_secs(60),
            organization: None,
            organization_name: None,
            authorized_party: None,
            algorithms: vec![SigningAlg::RS256, SigningAlg::PS256, SigningAlg::ES256],
            max_token_bytes: 16 * 1024,
            jwks_url: None,
            jwks_lifetime: Duration::from_secs(600),
            jwks_min_refetch_interval: Duration::from_secs(30),
            http: HttpOptions::default(),
        }
    }

    /// Reads `AUTH0_DOMAIN` and `AUTH0_AUDIENCE` (the API identifier), both required, and
    /// `TOKENKEEPER_CA_FILE` (optional) as the `ca_file` of [`HttpOptions`]. An empty variable is
    /// an unset one.
    ///
    /// See the example on [`VerifierConfig`].
    pub fn from_env() -> Result<Self> {
        let mut config = Self::new(env::var("AUTH0_DOMAIN")?, env::var("AUTH0_AUDIENCE")?);
        config.http.ca_file = env::opt("TOKENKEEPER_CA_FILE");
        Ok(config)
    }
}

/// Per-call expectations, on top of the verifier's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Overrides the configured audience.
    pub audience: Option<String>,
    /// Overrides the configured organization (id or name, as [`VerifierConfig::organization`]).
    /// Setting this or [`Self::organization_name`] replaces both configured requirements.
    pub organization: Option<String>,
    /// Overrides the configured organization name (as [`VerifierConfig::organization_name`]).
    pub organization_name: Option<String>,
    /// The ID token's `nonce` must equal this.
    pub nonce: Option<String>,
    /// The ID token's `auth_time` must be within this many seconds (plus leeway).
    pub max_age: Option<u64>,
    /// OpenID Connect ID token rules: `sub` and `iat` required, and when `aud` has several
    /// values, `azp` must be the audience (the client id).
    pub id_token: bool,
}

impl VerifyOptions {
    /// The checks of an ID token received with this `nonce`.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn id_token(nonce: Option<&str>) -> Self {
        Self {
            nonce: nonce.map(str::to_string),
            id_token: true,
            ..Self::default()
        }
    }
}

/// Counters of a verifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifierStats {
    /// Tokens that passed verification.
    pub verified: u64,
    /// Tokens rejected (any [`Error`](crate::Error), not only [`Error::InvalidToken`](crate::Error::InvalidToken)).
    pub rejected: u64,
    /// JWKS requests made (successful or not).
    pub jwks_fetches: u64,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{SignInConfig, VerifierConfig};

    /// K1: one by-name setter per config, seconds for durations, HTTP knobs included.
    #[test]
    fn verifier_and_sign_in_configs_take_their_knobs_by_name() {
        let mut v = VerifierConfig::new("tenant.auth0.com", "https://api.example.com");
        v.set("leeway", 30.0).unwrap();
        v.set("jwks_lifetime", 0.5).unwrap();
        v.set("max_token_bytes", 8192.0).unwrap();
        v.set("request_timeout", 2.5).unwrap();
        assert_eq!(v.leeway, Duration::from_secs(30));
        assert_eq!(v.jwks_lifetime, Duration::from_millis(500));
        assert_eq!(v.max_token_bytes, 8192);
        assert_eq!(v.http.request_timeout, Some(Duration::from_millis(2500)));
        for (name, value) in [("nope", 1.0), ("leeway", -1.0), ("max_token_bytes", 1.5)] {
            assert_eq!(v.set(name, value).unwrap_err().kind(), "config", "{name}");
        }
        let mut s = SignInConfig::new("tenant.auth0.com", "id", "https://app.example.com/cb");
        s.set("offline_access", 0.0).unwrap();
        s.set("leeway", 10.0).unwrap();
        s.set("max_attempts", 2.0).unwrap();
        assert!(!s.offline_access && s.leeway == Duration::from_secs(10));
        assert_eq!(s.http.max_attempts, Some(2));
        assert!(s.set("offline_access", 2.0).is_err() && s.set("jwks_lifetime", 1.0).is_err());
    }
}
