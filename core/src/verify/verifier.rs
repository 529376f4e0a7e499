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
use serde_json::{Map, Value};

use super::claims::Claims;
use super::jwks::{printable, Jwks, Quick, VerifyKey};
use crate::counter::Counter;
use crate::error::{Error, Result, TokenCheck};
use crate::http::Transport;
use crate::oauth::credentials::SigningAlg;
use crate::oauth::tenant::{url_or, Tenant};
use crate::text::truncate;

use super::checks::{
    check_organization, check_type, constant_time_eq, invalid, missing, numeric_claim,
    string_claim, wrong_type, Organization,
};
pub use super::config::{VerifierConfig, VerifierStats, VerifyOptions, JWKS_MIN_REFETCH_FLOOR};
use super::jws::decode_object;

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
