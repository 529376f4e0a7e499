//! The parsers of outside input, reachable by the fuzz targets in `fuzz/` (feature `fuzzing`,
//! off by default; not an API). Each function is the core's own code path, with only the
//! network taken away: the targets assert what must hold of the results.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;

use crate::error::Result;
use crate::verify::verifier::{TokenVerifier, VerifierConfig, VerifyOptions};
use crate::{Claims, Error, Token, UserCredentials};

/// Who the fuzzed tokens are for: the fixed expectations of [`verifier`].
pub const ISSUER: &str = "http://127.0.0.1:9/";
pub const AUDIENCE: &str = "https://api.example.com";

/// A header map from fuzzed pairs; pairs that are not valid header names or values are dropped
/// (the HTTP client would not hand them to the parsers either).
fn headers(pairs: &[(&[u8], &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            map.append(n, v);
        }
    }
    map
}

/// A 200 body of the token endpoint (client credentials).
pub fn token_response(body: &[u8], sent_at: SystemTime) -> Result<Token> {
    crate::oauth::token::parse_token_response(body, sent_at)
}

/// A 200 body of the token endpoint for a user grant (code exchange, refresh).
pub fn user_token_response(body: &[u8], sent_at: SystemTime) -> Result<UserCredentials> {
    crate::signin::client::parse_user_tokens(body, sent_at)
}

/// A non-2xx answer: the typed error and the wait the server asked for (capped at the
/// default `retry_after_cap`). `None` when `status`
/// is not an HTTP status code.
pub fn error_response(
    status: u16,
    headers: &[(&[u8], &[u8])],
    body: &[u8],
) -> Option<(Error, Option<Duration>)> {
    let status = StatusCode::from_u16(status).ok()?;
    let cap = crate::http::DEFAULT_RETRY_AFTER_CAP;
    let f = crate::http::error_for(status, &self::headers(headers), body, cap);
    Some((f.error, f.retry_after))
}

/// `Retry-After` / `X-RateLimit-Reset` from a response's headers, relative to `now`.
pub fn retry_after(headers: &[(&[u8], &[u8])], now: SystemTime) -> Option<Duration> {
    crate::http::retry_after(&self::headers(headers), now)
}

/// The verifier the JWT target checks against: issuer [`ISSUER`], audience [`AUDIENCE`], the
/// default algorithms, a loopback JWKS URL that is never fetched.
pub fn verifier() -> &'static TokenVerifier {
    static V: OnceLock<TokenVerifier> = OnceLock::new();
    V.get_or_init(|| {
        TokenVerifier::new(VerifierConfig::new(ISSUER, AUDIENCE))
            .expect("a valid verifier configuration")
    })
}

/// A JWT through every check but the signature: size, segments, base64url, header, JSON, then
/// `typ` and the claims with `options`.
pub fn jwt(token: &str, options: &VerifyOptions) -> Result<Claims> {
    let v = verifier();
    let parsed = v.parse(token)?;
    v.check(parsed, options)
}

/// The payload of a JWT decoded without checks (stored ID tokens), as the core reads it.
pub fn unverified_claims(token: &str) -> Option<Claims> {
    crate::verify::jws::unverified_claims(token)
}

/// A JWKS document, then key selection: `Ok(number of usable keys)` and, for each
/// `(kid, alg)` asked, whether a key was found (or the error text of an incompatible key).
pub fn jwks(body: &[u8], lookups: &[(Option<&str>, &str)]) -> Result<(usize, Vec<bool>)> {
    use crate::verify::jwks::Miss;
    let set = crate::verify::jwks::parse_jwks(body)?;
    let found = lookups
        .iter()
        .filter_map(|(kid, alg)| {
            let alg = crate::SigningAlg::parse(alg).ok()?;
            Some(match set.select(*kid, alg) {
                Ok(k) => {
                    // A key is only ever handed out for an algorithm it accepts.
                    assert!(k.accepts(alg), "a selected key must accept the algorithm");
                    assert!(!k.verify(alg, b"message", b"not a signature"));
                    true
                }
                Err(Miss::Unknown | Miss::Incompatible(_)) => false,
            })
        })
        .collect();
    Ok((set.len(), found))
}

/// A `/userinfo` answer body.
pub fn userinfo(body: &[u8]) -> Result<Claims> {
    crate::signin::userinfo::parse(body)
}

/// A domain as the client configurations read it (`tenant.auth0.com`, an `https://` URL, a
/// loopback `http://` URL): the issuer it gives.
pub fn domain(domain: &str) -> Result<String> {
    crate::oauth::tenant::Tenant::parse(domain).map(|t| t.issuer())
}

/// A URL the library may talk to (HTTPS, or HTTP to loopback; no credentials).
pub fn checked_url(url: &str) -> Result<String> {
    crate::http::checked_url(url, "url").map(|u| u.to_string())
}

/// The shared cache's sealing, with a fixed credential: `open` of arbitrary bytes, and of the
/// sealed form of an arbitrary JSON value.
pub mod shared {
    use crate::shared_cache::{Entry, EntryKey, RateLimit, Stored};

    fn key() -> EntryKey {
        EntryKey::derive(
            b"fuzz credential",
            &["http://127.0.0.1:9/", "client", "aud"],
        )
    }

    /// What `open` made of bytes read from the cache: `(access_token, until_ms)` of a token
    /// entry a reader would serve (`Entry::usable`), and whether they were a remembered 429.
    pub fn open(bytes: &[u8]) -> (Option<(String, u64)>, bool) {
        let k = key();
        let entry = k
            .open::<Stored<Entry>>(bytes)
            .filter(|s| s.v.usable())
            .map(|s| (s.v.access_token.clone(), s.until_ms));
        (entry, k.open::<Stored<RateLimit>>(bytes).is_some())
    }

    /// Seals `value` as the file level would, for [`open`] to read back.
    pub fn seal(value: &serde_json::Value) -> Vec<u8> {
        key().seal(value)
    }
}
