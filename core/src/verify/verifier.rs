//! Verification of access tokens and ID tokens the way Auth0 issues them: JWS compact
//! serialization, RS256, PS256 or ES256 with a key from the tenant's JWKS, then the claims.
//!
//! Every rejection is an [`Error::InvalidToken`] whose [`TokenCheck`] names the check that
//! failed. The order is: size and shape (`Malformed`), header (`Algorithm`, `Malformed` for
//! `crit`), key (`UnknownKey`, `Jwks`, `Algorithm`), signature (`Signature`), then the claims:
//! `iss` (`Issuer`), `aud` (`Audience`), `exp` (`Expired`), `nbf`/`iat` (`NotYetValid`), `azp`
//! (`AuthorizedParty`), `org_id`/`org_name` (`Organization`), `nonce` (`Nonce`), `auth_time`
//! (`AuthTime`). A claim a check needs that is absent or of the wrong type is `MissingClaim`.
//! Nothing in a token is trusted before its signature verifies, except to pick the key; the
//! `jku`, `x5u`, `jwk` and `x5c` headers are never used (keys only ever come from the JWKS).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::claims::Claims;
use super::jwks::{printable, Jwks, Quick, VerifyKey};
use crate::counter::Counter;
use crate::error::{Error, Result, TokenCheck};
use crate::http::{HttpOptions, Transport};
use crate::oauth::credentials::SigningAlg;
use crate::oauth::tenant::{url_or, Tenant};
use crate::text::truncate;

/// What a [`TokenVerifier`] checks, and how it gets keys.
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

impl VerifierConfig {
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
    /// See the example on [`TokenVerifier`].
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
    /// Tokens rejected (any [`Error`], not only [`Error::InvalidToken`]).
    pub rejected: u64,
    /// JWKS requests made (successful or not).
    pub jwks_fetches: u64,
}

/// Verifies access tokens and ID tokens against a tenant's JWKS. Cheap to clone; share one
/// per tenant and audience: the JWKS cache lives in it.
///
/// # Example
///
/// ```no_run
/// use tokenkeeper::{Error, TokenCheck, TokenVerifier, VerifierConfig};
///
/// # async fn run(token: &str) -> tokenkeeper::Result<()> {
/// let config = VerifierConfig::new("tenant.auth0.com", "https://api.example.com");
/// let verifier = TokenVerifier::new(config)?; // no network until the first verification
/// match verifier.verify(token).await {
///     Ok(claims) if claims.has_scope("read:things") => println!("hello {:?}", claims.sub()),
///     Ok(_) => println!("403: missing scope"),
///     Err(Error::InvalidToken { check: TokenCheck::Expired, .. }) => println!("401: expired"),
///     Err(Error::InvalidToken { check, .. }) => println!("401: {}", check.as_str()),
///     Err(e) => return Err(e), // the JWKS could not be fetched…
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    audience: String,
    issuers: Vec<String>,
    leeway: f64,
    organization: Option<String>,
    organization_name: Option<String>,
    authorized_party: Option<String>,
    algorithms: Vec<SigningAlg>,
    max_token_bytes: usize,
    jwks: Jwks,
    verified: Counter,
    rejected: Counter,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("audience", &self.inner.audience)
            .field("issuers", &self.inner.issuers)
            .field("jwks_url", &self.inner.jwks.url().as_str())
            .finish_non_exhaustive()
    }
}

/// A token split and decoded, not yet verified.
pub(crate) struct Parsed<'a> {
    alg: SigningAlg,
    kid: Option<String>,
    /// `header.payload`, the signed bytes.
    message: &'a str,
    signature: Vec<u8>,
    /// The header's `typ`, lowercased, without an `application/` prefix.
    typ: Option<String>,
    claims: Map<String, Value>,
}

impl TokenVerifier {
    /// Validates the configuration; no network until the first verification.
    ///
    /// See the example on [`TokenVerifier`].
    pub fn new(config: VerifierConfig) -> Result<Self> {
        let tenant = Tenant::parse(&config.domain)?;
        if config.audience.trim().is_empty() {
            return Err(Error::config("audience is empty"));
        }
        let issuers = if config.issuers.is_empty() {
            vec![tenant.issuer()]
        } else {
            for i in &config.issuers {
                crate::http::checked_url(i, "issuer")?;
            }
            config.issuers.clone()
        };
        if config.leeway > Duration::from_secs(600) {
            return Err(Error::config("leeway must be at most 600 s"));
        }
        if config.algorithms.is_empty() {
            return Err(Error::config("no algorithm accepted"));
        }
        if !(256..=1024 * 1024).contains(&config.max_token_bytes) {
            return Err(Error::config(
                "max_token_bytes must be between 256 and 1048576",
            ));
        }
        if config.jwks_lifetime.is_zero() {
            return Err(Error::config("jwks_lifetime must be greater than zero"));
        }
        if config.jwks_min_refetch_interval < JWKS_MIN_REFETCH_FLOOR {
            return Err(Error::config(format!(
                "jwks_min_refetch_interval must be at least {} s (its floor)",
                JWKS_MIN_REFETCH_FLOOR.as_secs()
            )));
        }
        let jwks_url = url_or(
            config.jwks_url.as_deref(),
            "jwks_url",
            tenant.endpoint(".well-known/jwks.json"),
        )?;
        let transport = Transport::new(&config.http)?;
        let empty = |o: &Option<String>| o.as_ref().filter(|s| !s.trim().is_empty()).cloned();
        Ok(Self {
            inner: Arc::new(Inner {
                audience: config.audience.clone(),
                issuers,
                leeway: config.leeway.as_secs_f64(),
                organization: empty(&config.organization),
                organization_name: empty(&config.organization_name),
                authorized_party: empty(&config.authorized_party),
                algorithms: config.algorithms.clone(),
                max_token_bytes: config.max_token_bytes,
                jwks: Jwks::new(
                    jwks_url,
                    transport,
                    config.jwks_lifetime,
                    config.jwks_min_refetch_interval,
                ),
                verified: Counter::default(),
                rejected: Counter::default(),
            }),
        })
    }

    /// Verifies a token with the configured expectations; returns its claims.
    ///
    /// See the example on [`TokenVerifier`].
    pub async fn verify(&self, token: &str) -> Result<Claims> {
        self.verify_with(token, &VerifyOptions::default()).await
    }

    /// [`Self::verify`] for synchronous callers. With the JWKS cached, the work happens on
    /// the calling thread; a JWKS fetch runs on the shared runtime.
    ///
    /// See the example on [`TokenVerifier`].
    pub fn verify_blocking(&self, token: &str) -> Result<Claims> {
        self.verify_with_blocking(token, &VerifyOptions::default())
    }

    /// Verifies a token with per-call expectations (an ID token's nonce, an organization…).
    ///
    /// See the example on [`TokenVerifier`].
    pub async fn verify_with(&self, token: &str, options: &VerifyOptions) -> Result<Claims> {
        let result = crate::runtime::on_runtime(async {
            let parsed = self.parse(token)?;
            let key = self
                .inner
                .jwks
                .resolve(parsed.kid.as_deref(), parsed.alg)
                .await?;
            self.finish(parsed, &key, options)
        })
        .await;
        self.count(result)
    }

    /// [`Self::verify_with`] for synchronous callers. With the JWKS cached, the work happens on
    /// the calling thread; a JWKS fetch runs on the shared runtime.
    ///
    /// See the example on [`TokenVerifier`].
    pub fn verify_with_blocking(&self, token: &str, options: &VerifyOptions) -> Result<Claims> {
        let result = (|| {
            let parsed = self.parse(token)?;
            match self.inner.jwks.quick(parsed.kid.as_deref(), parsed.alg)? {
                Quick::Key(key) => self.finish(parsed, &key, options),
                Quick::Slow => {
                    let this = self.clone();
                    let (kid, alg) = (parsed.kid.clone(), parsed.alg);
                    let key = crate::runtime::block_on(async move {
                        this.inner.jwks.resolve(kid.as_deref(), alg).await
                    })?;
                    self.finish(parsed, &key, options)
                }
            }
        })();
        self.count(result)
    }

    /// Fetches the JWKS now (at start-up, or after learning of a key rotation); returns the
    /// number of usable keys.
    ///
    /// See the example on [`TokenVerifier`].
    pub async fn refresh_jwks(&self) -> Result<usize> {
        crate::runtime::on_runtime(self.inner.jwks.refresh()).await
    }

    /// [`Self::refresh_jwks`] for synchronous callers, on the shared runtime.
    ///
    /// See the example on [`TokenVerifier`].
    pub fn refresh_jwks_blocking(&self) -> Result<usize> {
        let this = self.clone();
        crate::runtime::block_on(async move { this.refresh_jwks().await })
    }

    /// A snapshot of this verifier's counters.
    ///
    /// See the example on [`TokenVerifier`].
    pub fn stats(&self) -> VerifierStats {
        VerifierStats {
            verified: self.inner.verified.get(),
            rejected: self.inner.rejected.get(),
            jwks_fetches: self.inner.jwks.fetches(),
        }
    }

    /// The configured audience (the `aud` a token must contain).
    ///
    /// See the example on [`TokenVerifier`].
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The accepted issuers: the configured ones, else `https://{domain}/`.
    ///
    /// See the example on [`TokenVerifier`].
    pub fn issuers(&self) -> &[String] {
        &self.inner.issuers
    }

    /// The URL the JWKS is fetched from.
    ///
    /// See the example on [`TokenVerifier`].
    pub fn jwks_url(&self) -> &str {
        self.inner.jwks.url().as_str()
    }

    fn count(&self, r: Result<Claims>) -> Result<Claims> {
        match &r {
            Ok(_) => self.inner.verified.bump(),
            Err(e) => {
                self.inner.rejected.bump();
                tracing::debug!(error = %e, "token rejected");
            }
        }
        r
    }

    /// Size, segments, base64url, JSON, header: everything before a key is needed.
    pub(crate) fn parse<'a>(&self, token: &'a str) -> Result<Parsed<'a>> {
        let bad = |d: &str| invalid(TokenCheck::Malformed, d);
        if token.len() > self.inner.max_token_bytes {
            return Err(invalid(
                TokenCheck::Malformed,
                format!(
                    "the token is {} bytes, over the limit of {}",
                    token.len(),
                    self.inner.max_token_bytes
                ),
            ));
        }
        if token.is_empty() {
            return Err(bad("the token is empty"));
        }
        if !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(bad(
                "the token has characters outside base64url and '.' (spaces, padding, a \"Bearer \" prefix?)",
            ));
        }
        let parts: Vec<&str> = token.split('.').collect();
        match parts.len() {
            3 => {}
            5 => {
                return Err(bad(
                    "the token is a JWE (5 segments); only signed JWTs are accepted",
                ))
            }
            n => {
                return Err(invalid(
                    TokenCheck::Malformed,
                    format!("the token has {n} segments, a JWS has 3"),
                ))
            }
        }
        let (h, p, s) = (parts[0], parts[1], parts[2]);
        if h.is_empty() || p.is_empty() {
            return Err(bad("the token has an empty header or payload"));
        }
        let header = decode_object(h, "header")?;
        let alg = match header.get("alg") {
            Some(Value::String(a)) => a.as_str(),
            Some(_) => return Err(bad("the header's alg is not a string")),
            None => return Err(bad("the header has no alg")),
        };
        let alg = SigningAlg::parse(alg)
            .ok()
            .filter(|a| self.inner.algorithms.contains(a))
            .ok_or_else(|| {
                invalid(
                    TokenCheck::Algorithm,
                    format!(
                        "alg {:?} is not accepted (accepted: {})",
                        truncate(&printable(alg), 16),
                        self.inner
                            .algorithms
                            .iter()
                            .map(|a| a.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
        if header.contains_key("crit") {
            // RFC 7515 §4.1.11: extensions we do not understand make the token invalid; we
            // understand none.
            return Err(bad(
                "the header has crit extensions, which are not supported",
            ));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) if !k.is_empty() && k.len() <= 256 => Some(k.clone()),
            Some(_) => return Err(bad("the header's kid is not a short non-empty string")),
        };
        let typ = match header.get("typ") {
            None => None,
            Some(Value::String(t)) => {
                let t = t.to_ascii_lowercase();
                Some(t.strip_prefix("application/").unwrap_or(&t).to_string())
            }
            Some(_) => return Err(bad("the header's typ is not a string")),
        };
        if s.is_empty() {
            return Err(invalid(TokenCheck::Signature, "the token has no signature"));
        }
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad("the signature is not base64url"))?;
        let claims = decode_object(p, "payload")?;
        Ok(Parsed {
            alg,
            kid,
            message: &token[..h.len() + 1 + p.len()],
            signature,
            typ,
            claims,
        })
    }

    /// Signature, then claims.
    fn finish(
        &self,
        parsed: Parsed<'_>,
        key: &VerifyKey,
        options: &VerifyOptions,
    ) -> Result<Claims> {
        if !key.verify(parsed.alg, parsed.message.as_bytes(), &parsed.signature) {
            return Err(invalid(
                TokenCheck::Signature,
                "the signature does not verify with the JWKS key",
            ));
        }
        self.check(parsed, options)
    }

    /// The checks after the signature (the fuzz targets reach them without a key).
    pub(crate) fn check(&self, parsed: Parsed<'_>, options: &VerifyOptions) -> Result<Claims> {
        check_type(parsed.typ.as_deref(), &parsed.claims, options.id_token)?;
        self.check_claims(&parsed.claims, options)?;
        Ok(Claims::new(parsed.claims))
    }

    fn check_claims(&self, c: &Map<String, Value>, o: &VerifyOptions) -> Result<()> {
        let inner = &self.inner;
        let leeway = inner.leeway;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        // iss
        let iss = string_claim(c, "iss")?;
        if !inner.issuers.iter().any(|i| i == iss) {
            return Err(invalid(
                TokenCheck::Issuer,
                format!(
                    "iss {:?} is not an accepted issuer ({})",
                    truncate(&printable(iss), 100),
                    inner.issuers.join(", ")
                ),
            ));
        }
        // aud
        let audience = o.audience.as_deref().unwrap_or(&inner.audience);
        let auds: Vec<&str> = match c.get("aud") {
            None => return Err(missing("aud")),
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().ok_or_else(|| wrong_type("aud", "strings")))
                .collect::<Result<_>>()?,
            Some(_) => return Err(wrong_type("aud", "a string or an array of strings")),
        };
        if !auds.contains(&audience) {
            return Err(invalid(
                TokenCheck::Audience,
                format!(
                    "aud {} does not contain {:?}",
                    truncate(&printable(&format!("{auds:?}")), 200),
                    audience
                ),
            ));
        }
        // exp, nbf, iat
        let exp = numeric_claim(c, "exp")?.ok_or_else(|| missing("exp"))?;
        if now - leeway >= exp {
            return Err(invalid(
                TokenCheck::Expired,
                format!(
                    "the token expired {:.0} s ago (leeway {leeway:.0} s)",
                    now - exp
                ),
            ));
        }
        if let Some(nbf) = numeric_claim(c, "nbf")? {
            if nbf > now + leeway {
                return Err(invalid(
                    TokenCheck::NotYetValid,
                    format!(
                        "nbf is {:.0} s in the future (leeway {leeway:.0} s)",
                        nbf - now
                    ),
                ));
            }
        }
        let iat = numeric_claim(c, "iat")?;
        if o.id_token && iat.is_none() {
            return Err(missing("iat"));
        }
        if let Some(iat) = iat {
            if iat > now + leeway {
                return Err(invalid(
                    TokenCheck::NotYetValid,
                    format!(
                        "iat is {:.0} s in the future (leeway {leeway:.0} s)",
                        iat - now
                    ),
                ));
            }
        }
        if o.id_token {
            string_claim(c, "sub")?;
        }
        // azp
        let azp = match c.get("azp") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(wrong_type("azp", "a string")),
        };
        // An ID token's azp, whenever present (and always with several audiences), must be
        // the client it was issued to: the audience.
        let wanted_azp = inner
            .authorized_party
            .as_deref()
            .or_else(|| (o.id_token && (auds.len() > 1 || azp.is_some())).then_some(audience));
        if let Some(want) = wanted_azp {
            let azp = azp.ok_or_else(|| missing("azp"))?;
            if azp != want {
                return Err(invalid(
                    TokenCheck::AuthorizedParty,
                    format!("azp {:?} is not {want:?}", truncate(&printable(azp), 100)),
                ));
            }
        }
        // organization
        let (org, org_name) = if o.organization.is_some() || o.organization_name.is_some() {
            (&o.organization, &o.organization_name)
        } else {
            (&inner.organization, &inner.organization_name)
        };
        if let Some(org) = org {
            check_organization(c, Organization::parse(org))?;
        }
        if let Some(name) = org_name {
            check_organization(c, Organization::Name(name))?;
        }
        // nonce
        if let Some(nonce) = &o.nonce {
            let got = string_claim(c, "nonce")?;
            if !constant_time_eq(got.as_bytes(), nonce.as_bytes()) {
                return Err(invalid(
                    TokenCheck::Nonce,
                    "nonce does not match the one sent to /authorize",
                ));
            }
        }
        // max_age
        if let Some(max_age) = o.max_age {
            let auth_time = numeric_claim(c, "auth_time")?.ok_or_else(|| missing("auth_time"))?;
            if now - leeway > auth_time + max_age as f64 {
                return Err(invalid(
                    TokenCheck::AuthTime,
                    format!(
                        "the user authenticated {:.0} s ago, more than max_age {max_age} s",
                        now - auth_time
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// RFC 8725 §3.11 / RFC 9068: an access token is `at+jwt` or plain `JWT` (Auth0's default),
/// an ID token `JWT`; a token with ID-token claims is never accepted as an access token.
fn check_type(typ: Option<&str>, c: &Map<String, Value>, id_token: bool) -> Result<()> {
    let fits = match typ {
        None | Some("jwt") => true,
        Some("at+jwt") => !id_token,
        Some(_) => false,
    };
    if !fits {
        return Err(invalid(
            TokenCheck::TokenType,
            format!(
                "typ {:?} is not that of {}",
                truncate(&printable(typ.unwrap_or_default()), 32),
                if id_token {
                    "an ID token"
                } else {
                    "an access token"
                }
            ),
        ));
    }
    if !id_token {
        if let Some(claim) = ["nonce", "at_hash", "c_hash"]
            .into_iter()
            .find(|k| c.contains_key(*k))
        {
            return Err(invalid(
                TokenCheck::TokenType,
                format!("the token has {claim}: an ID token, not an access token"),
            ));
        }
    }
    Ok(())
}

/// A required organization. Auth0's rule: a value that starts with `org_` is an id, anything
/// else a name. Nothing else is inferred: an id is never matched against `org_name` (an
/// organization may be *named* after another's id), nor a name against `org_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Organization<'a> {
    /// Compared with `org_id`, exactly.
    Id(&'a str),
    /// Compared with `org_name`, case-insensitively (Auth0 stores names in lower case).
    Name(&'a str),
}

impl<'a> Organization<'a> {
    /// An id when `value` starts with `org_`, otherwise a name.
    pub(crate) fn parse(value: &'a str) -> Self {
        if value.starts_with("org_") {
            Self::Id(value)
        } else {
            Self::Name(value)
        }
    }
}

fn check_organization(c: &Map<String, Value>, org: Organization<'_>) -> Result<()> {
    let (claim, want, matches) = match org {
        Organization::Id(id) => ("org_id", id, string_claim(c, "org_id")? == id),
        Organization::Name(name) => {
            let got = string_claim(c, "org_name")?;
            ("org_name", name, got.to_lowercase() == name.to_lowercase())
        }
    };
    if matches {
        return Ok(());
    }
    let got = string_claim(c, claim)?;
    Err(invalid(
        TokenCheck::Organization,
        format!(
            "{claim} {:?} is not {want:?}",
            truncate(&printable(got), 100)
        ),
    ))
}

fn invalid(check: TokenCheck, detail: impl Into<String>) -> Error {
    Error::InvalidToken {
        check,
        detail: detail.into(),
    }
}

fn missing(name: &str) -> Error {
    invalid(TokenCheck::MissingClaim, format!("the token has no {name}"))
}

fn wrong_type(name: &str, expected: &str) -> Error {
    invalid(
        TokenCheck::MissingClaim,
        format!("{name} is not {expected}"),
    )
}

fn string_claim<'a>(c: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match c.get(name) {
        None => Err(missing(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(wrong_type(name, "a string")),
    }
}

/// A NumericDate (seconds since the epoch, integer or not).
fn numeric_claim(c: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    match c.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(Some)
            .ok_or_else(|| wrong_type(name, "a NumericDate")),
        Some(_) => Err(wrong_type(name, "a number")),
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A base64url JSON object with no duplicate member (a header with two `alg`s, or claims with
/// two `aud`s, must not mean one thing to us and another to someone else).
fn decode_object(segment: &str, what: &str) -> Result<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| {
        invalid(
            TokenCheck::Malformed,
            format!("the {what} is not base64url"),
        )
    })?;
    serde_json::from_slice::<UniqueObject>(&bytes)
        .map(|o| o.0)
        .map_err(|e| {
            // Only our own reason (a duplicate member, by name) is shown: serde's text for a
            // wrong type quotes the value (found by fuzzing).
            let text = e.to_string();
            let why = if e.is_data() && text.starts_with(DUPLICATE) {
                truncate(&printable(&text), 120)
            } else {
                format!("{:?} error at column {}", e.classify(), e.column())
            };
            invalid(
                TokenCheck::Malformed,
                format!("the {what} is not a JSON object: {why}"),
            )
        })
}

struct UniqueObject(Map<String, Value>);

const DUPLICATE: &str = "duplicate member";

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<UniqueObject, A::Error> {
                let mut m = Map::new();
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    if m.contains_key(&k) {
                        return Err(A::Error::custom(format!(
                            "{DUPLICATE} {:?}",
                            truncate(&k, 32)
                        )));
                    }
                    m.insert(k, v);
                }
                Ok(UniqueObject(m))
            }
        }
        d.deserialize_map(V)
    }
}

/// Decodes a JWT's payload without verifying anything (for tokens verified earlier).
pub(crate) fn unverified_claims(token: &str) -> Option<Claims> {
    let payload = token.split('.').nth(1)?;
    decode_object(payload, "payload").ok().map(Claims::new)
}
