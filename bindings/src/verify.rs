//! `TokenVerifier`: the core's verifier of access tokens and ID tokens, and the `Claims` of a
//! verified token. Every check is the core's; a rejection is `TokenError.InvalidToken` naming
//! the check that failed.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokenkeeper::{HttpOptions, SigningAlg, VerifierStats};

use crate::config::set;
use crate::error::TokenError;
use crate::live;

/// Everything a `TokenVerifier` is built from. Every optional setting left `null`/`nil` takes
/// the core's default.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VerifierConfig {
    /// `tenant.auth0.com`, a full `https://` URL (custom domains), or an `http://` loopback URL.
    pub domain: String,
    /// The `aud` a token must contain: the API identifier for access tokens, the client id for
    /// ID tokens.
    pub audience: String,
    /// Accepted `iss` values, compared exactly; empty (the default): `https://{domain}/`. With
    /// a custom domain, list the issuer of each domain tokens are requested from.
    #[uniffi(default)]
    pub issuers: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf`, `iat` and `auth_time` (default 60 s, at most 600 s).
    #[uniffi(default)]
    pub leeway: Option<Duration>,
    /// Required organization: a value starting with `org_` is an id, matched with `org_id`
    /// only, exactly; any other value a name, matched with `org_name` only, case-insensitively.
    #[uniffi(default)]
    pub organization: Option<String>,
    /// Required organization name, even one that starts with `org_` (`org_name`, any case).
    #[uniffi(default)]
    pub organization_name: Option<String>,
    /// Required `azp` (the client the token was issued to).
    #[uniffi(default)]
    pub authorized_party: Option<String>,
    /// Accepted algorithms (default RS256, PS256 and ES256; never `none` nor HMAC).
    #[uniffi(default)]
    pub algorithms: Option<Vec<SigningAlg>>,
    /// Larger tokens are rejected as `Malformed` before anything is decoded (default 16 KiB).
    #[uniffi(default)]
    pub max_token_bytes: Option<u64>,
    /// Overrides `{domain}/.well-known/jwks.json`.
    #[uniffi(default)]
    pub jwks_url: Option<String>,
    /// How long a fetched JWKS is used before it is fetched again (default 600 s).
    #[uniffi(default)]
    pub jwks_lifetime: Option<Duration>,
    /// A token with an unknown `kid` refetches the JWKS at most once per interval (default 30 s).
    #[uniffi(default)]
    pub jwks_min_refetch_interval: Option<Duration>,
    /// Timeouts, size limit and retries of the JWKS requests.
    #[uniffi(default)]
    pub http: HttpOptions,
}

impl From<VerifierConfig> for tokenkeeper::VerifierConfig {
    fn from(c: VerifierConfig) -> Self {
        let mut cfg = tokenkeeper::VerifierConfig::new(c.domain, c.audience);
        cfg.issuers = c.issuers;
        set(&mut cfg.leeway, c.leeway);
        cfg.organization = c.organization;
        cfg.organization_name = c.organization_name;
        cfg.authorized_party = c.authorized_party;
        set(&mut cfg.algorithms, c.algorithms);
        set(
            &mut cfg.max_token_bytes,
            c.max_token_bytes
                .map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
        );
        cfg.jwks_url = c.jwks_url;
        set(&mut cfg.jwks_lifetime, c.jwks_lifetime);
        set(
            &mut cfg.jwks_min_refetch_interval,
            c.jwks_min_refetch_interval,
        );
        cfg.http = c.http;
        cfg
    }
}

/// A verifier's counters (the core's `VerifierStats`).
#[uniffi::remote(Record)]
pub struct VerifierStats {
    pub verified: u64,
    pub rejected: u64,
    /// JWKS requests made (successful or not).
    pub jwks_fetches: u64,
}

/// Verifies access tokens and ID tokens with the tenant's JWKS (fetched once, cached, refetched
/// on an unknown `kid` at most once per interval). Safe to share between threads; build one per
/// audience and keep it. Release it with `close()`/`use {}` (Kotlin) or by dropping it (Swift).
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct TokenVerifier {
    core: tokenkeeper::TokenVerifier,
    _live: live::Guard,
}

wraps!(TokenVerifier, core: tokenkeeper::TokenVerifier, VERIFIERS);

fn id_token_options(
    nonce: Option<String>,
    max_age: Option<Duration>,
) -> tokenkeeper::VerifyOptions {
    tokenkeeper::VerifyOptions {
        nonce,
        max_age: max_age.map(|d| d.as_secs()),
        id_token: true,
        ..tokenkeeper::VerifyOptions::default()
    }
}

#[uniffi::export]
impl TokenVerifier {
    /// Validates the configuration (no network until the first verification); throws `Config`.
    #[uniffi::constructor]
    pub fn new(config: VerifierConfig) -> Result<Arc<Self>, TokenError> {
        Ok(Self::wrap(tokenkeeper::TokenVerifier::new(config.into())?))
    }

    /// A verifier from the environment, read by the core's `VerifierConfig::from_env`:
    /// `AUTH0_DOMAIN` and `AUTH0_AUDIENCE`, and the optional `TOKENKEEPER_CA_FILE`. Throws
    /// `Config` naming what is missing.
    #[uniffi::constructor]
    pub fn from_env() -> Result<Arc<Self>, TokenError> {
        let config = tokenkeeper::VerifierConfig::from_env()?;
        Ok(Self::wrap(tokenkeeper::TokenVerifier::new(config)?))
    }

    /// Verifies an access token (signature, header `typ` absent, `JWT` or `at+jwt`, no ID-token
    /// claim `nonce`/`at_hash`/`c_hash`, `iss`, `aud`, `exp`/`nbf`/`iat`, and `azp` and the
    /// organization when configured), waiting on the calling thread; returns its claims.
    /// With the JWKS cached, the work happens on the calling thread.
    pub fn verify_blocking(&self, token: String) -> Result<Arc<Claims>, TokenError> {
        Ok(Claims::wrap(self.core.verify_blocking(&token)?))
    }

    /// `verifyBlocking` as Kotlin `suspend` / Swift `async` (the plain name awaits, on every
    /// class; `…Blocking` waits on the calling thread).
    pub async fn verify(&self, token: String) -> Result<Arc<Claims>, TokenError> {
        Ok(Claims::wrap(self.core.verify(&token).await?))
    }

    /// Verifies an ID token (audience = the client id): the OpenID Connect rules (header `typ`
    /// absent or `JWT`, `sub` and `iat` required, `azp`, whenever present, the client id), and
    /// `nonce` and `auth_time` (within `max_age`, plus the leeway) when given.
    #[uniffi::method(default(nonce = None, max_age = None))]
    pub fn verify_id_token_blocking(
        &self,
        token: String,
        nonce: Option<String>,
        max_age: Option<Duration>,
    ) -> Result<Arc<Claims>, TokenError> {
        let options = id_token_options(nonce, max_age);
        Ok(Claims::wrap(
            self.core.verify_with_blocking(&token, &options)?,
        ))
    }

    #[uniffi::method(default(nonce = None, max_age = None))]
    pub async fn verify_id_token(
        &self,
        token: String,
        nonce: Option<String>,
        max_age: Option<Duration>,
    ) -> Result<Arc<Claims>, TokenError> {
        let options = id_token_options(nonce, max_age);
        Ok(Claims::wrap(self.core.verify_with(&token, &options).await?))
    }

    /// Fetches the JWKS now (at start-up, or after a key rotation); returns the number of
    /// usable keys.
    pub fn refresh_jwks_blocking(&self) -> Result<u64, TokenError> {
        Ok(self.core.refresh_jwks_blocking()? as u64)
    }

    /// `refreshJwksBlocking` as Kotlin `suspend` / Swift `async`.
    pub async fn refresh_jwks(&self) -> Result<u64, TokenError> {
        Ok(self.core.refresh_jwks().await? as u64)
    }

    pub fn stats(&self) -> VerifierStats {
        self.core.stats()
    }

    pub fn audience(&self) -> String {
        self.core.audience().to_string()
    }

    /// The accepted issuers (the configured ones, or `https://{domain}/`).
    pub fn issuers(&self) -> Vec<String> {
        self.core.issuers().to_vec()
    }

    pub fn jwks_url(&self) -> String {
        self.core.jwks_url().to_string()
    }
}

/// The claims of a verified token, or of a `/userinfo` answer: typed getters for the common
/// ones, every claim through `getString`/`getJson`/`toJson`.
///
/// `toString()`/`description` shows `iss`, `sub`, `aud` and `exp` only (claims are personal
/// data, kept out of logs); `toJson()` has them all.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct Claims {
    inner: tokenkeeper::Claims,
    _live: live::Guard,
}

wraps!(Claims, inner: tokenkeeper::Claims, CLAIMS);

#[uniffi::export]
impl Claims {
    pub fn iss(&self) -> Option<String> {
        self.inner.iss().map(str::to_string)
    }

    pub fn sub(&self) -> Option<String> {
        self.inner.sub().map(str::to_string)
    }

    /// `aud` as a list, whether the token has a string or an array.
    pub fn aud(&self) -> Vec<String> {
        self.inner.aud().into_iter().map(str::to_string).collect()
    }

    pub fn azp(&self) -> Option<String> {
        self.inner.azp().map(str::to_string)
    }

    /// The space-separated `scope` claim.
    pub fn scope(&self) -> Option<String> {
        self.inner.scope().map(str::to_string)
    }

    /// Whether every scope of the space-separated `scope` was granted (one or several).
    pub fn has_scope(&self, scope: String) -> bool {
        self.inner.has_scope(&scope)
    }

    pub fn exp(&self) -> Option<SystemTime> {
        self.inner.time("exp")
    }

    pub fn iat(&self) -> Option<SystemTime> {
        self.inner.time("iat")
    }

    pub fn nbf(&self) -> Option<SystemTime> {
        self.inner.time("nbf")
    }

    pub fn auth_time(&self) -> Option<SystemTime> {
        self.inner.time("auth_time")
    }

    pub fn org_id(&self) -> Option<String> {
        self.inner.org_id().map(str::to_string)
    }

    pub fn org_name(&self) -> Option<String> {
        self.inner.org_name().map(str::to_string)
    }

    /// The `act` chain, the current actor first (its `sub`), then each earlier one; empty
    /// when the token has no `act`.
    pub fn actor_chain(&self) -> Vec<String> {
        self.inner
            .actor_chain()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    pub fn nonce(&self) -> Option<String> {
        self.inner.nonce().map(str::to_string)
    }

    /// A string claim (`email`, `name`, a namespaced custom claim…); `null`/`nil` when absent
    /// or not a string.
    pub fn get_string(&self, name: String) -> Option<String> {
        self.inner.get_str(&name).map(str::to_string)
    }

    /// A numeric claim as an integer, truncated toward zero (`1.5` → 1); `null`/`nil` when
    /// absent, not a number, or out of range.
    pub fn get_i64(&self, name: String) -> Option<i64> {
        self.inner.get_i64(&name)
    }

    /// A numeric claim as a float; `null`/`nil` when absent or not a number.
    pub fn get_f64(&self, name: String) -> Option<f64> {
        self.inner.get_f64(&name)
    }

    /// A boolean claim; `null`/`nil` when absent or not a boolean.
    pub fn get_bool(&self, name: String) -> Option<bool> {
        self.inner.get_bool(&name)
    }

    /// Any claim as JSON text (`true`, `42`, `"text"`, `[…]`, `{…}`); `null`/`nil` when absent.
    pub fn get_json(&self, name: String) -> Option<String> {
        self.inner.get(&name).map(|v| v.to_string())
    }

    /// The claim names.
    pub fn names(&self) -> Vec<String> {
        self.inner.as_map().keys().cloned().collect()
    }

    /// Every claim, as a JSON object text.
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }
}
