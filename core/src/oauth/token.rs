//! The token a caller gets, and the strict parsing of the token endpoint's answer.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::text::truncate;

/// Auth0's default lifetime when a response leaves `expires_in` out.
pub const DEFAULT_EXPIRES_IN: u64 = 86_400;
/// Anything longer is not a lifetime but a bug or an attack on the cache.
const MAX_EXPIRES_IN: u64 = 10 * 365 * 86_400;
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// An access token. Cheap to clone; the token text is zeroized when the last clone is dropped
/// and never appears in `Debug`.
///
/// Tokens come from [`crate::TokenClient::get_token`] and its variants.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tokenkeeper::Token;
///
/// /// The `Authorization` header for a call, unless the token is about to expire.
/// fn header_for(token: &Token) -> Option<&str> {
///     if token.remaining() < Duration::from_secs(5) {
///         return None;
///     }
///     println!("{} token, scopes {:?}, granted for {} s", token.token_type(),
///         token.scope(), token.expires_in());
///     Some(token.authorization_header()) // `Bearer <access token>`
/// }
/// ```
#[derive(Clone)]
pub struct Token(Arc<Inner>);

struct Inner {
    /// `Bearer <token>`: built once, so a header costs nothing per call; the token is its tail.
    header: SecretString,
    token_type: String,
    expires_in: u64,
    expires_at: SystemTime,
    scope: Option<String>,
}

impl Token {
    /// The access token itself (the text after `Bearer `).
    ///
    /// See the example on [`Token`].
    pub fn access_token(&self) -> &str {
        &self.0.header.expose_secret()[BEARER.len()..]
    }

    /// `Bearer`, as the server spelled it.
    ///
    /// See the example on [`Token`].
    pub fn token_type(&self) -> &str {
        &self.0.token_type
    }

    /// Lifetime granted by the server, in seconds.
    ///
    /// See the example on [`Token`].
    pub fn expires_in(&self) -> u64 {
        self.0.expires_in
    }

    /// When the token expires (measured from when the request was sent, so never late).
    ///
    /// See the example on [`Token`].
    pub fn expires_at(&self) -> SystemTime {
        self.0.expires_at
    }

    /// Seconds since the Unix epoch of [`Self::expires_at`].
    ///
    /// See the example on [`Token`].
    pub fn expires_at_unix(&self) -> f64 {
        self.0
            .expires_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }

    /// Time left before expiry (zero once expired).
    ///
    /// See the example on [`Token`].
    pub fn remaining(&self) -> Duration {
        self.0
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    }

    /// Granted scopes, when the server said (Auth0 does for client credentials).
    ///
    /// See the example on [`Token`].
    pub fn scope(&self) -> Option<&str> {
        self.0.scope.as_deref()
    }

    /// `Bearer <token>`, ready for an `Authorization` header (built once per token).
    ///
    /// See the example on [`Token`].
    pub fn authorization_header(&self) -> &str {
        self.0.header.expose_secret()
    }

    /// A token read back from the shared cache level.
    pub(crate) fn from_shared(
        access_token: &str,
        token_type: &str,
        scope: Option<&str>,
        expires_in: u64,
        expires_at: SystemTime,
    ) -> Self {
        Token(Arc::new(Inner {
            header: header_of(access_token),
            token_type: token_type.to_string(),
            expires_in,
            expires_at,
            scope: scope.map(str::to_string),
        }))
    }

    /// This token, expiring no later than `at` (an exchange's answer ends with its subject).
    /// Its lifetime shrinks with it, so the cache's deadlines follow.
    pub(crate) fn capped_at(self, at: SystemTime) -> Self {
        if at >= self.0.expires_at {
            return self;
        }
        let cut = self
            .0
            .expires_at
            .duration_since(at)
            .unwrap_or_default()
            .as_secs();
        let expires_in = self.0.expires_in.saturating_sub(cut.max(1)).max(1);
        Token(Arc::new(Inner {
            header: self.0.header.clone(),
            token_type: self.0.token_type.clone(),
            expires_in,
            expires_at: at,
            scope: self.0.scope.clone(),
        }))
    }

    /// Whether two handles are the same token object (same fetch).
    ///
    /// See the example on [`Token`].
    pub fn ptr_eq(&self, other: &Token) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.0.token_type)
            .field("expires_in", &self.0.expires_in)
            .field("scope", &self.0.scope)
            .finish()
    }
}

const BEARER: &str = "Bearer ";

/// Whether `access_token` can go into an `Authorization` header as the token endpoint's answer
/// would have to: non-empty, at most 16 KiB, visible ASCII only.
pub(crate) fn header_safe(access_token: &str) -> bool {
    !access_token.is_empty()
        && access_token.len() <= MAX_TOKEN_LEN
        && access_token.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether the parts of a token read back from elsewhere (the shared cache level) are ones the
/// token endpoint's parser would have accepted.
pub(crate) fn plausible(access_token: &str, token_type: &str, expires_in: u64) -> bool {
    header_safe(access_token)
        && token_type.eq_ignore_ascii_case("bearer")
        && (1..=MAX_EXPIRES_IN).contains(&expires_in)
}

fn header_of(access_token: &str) -> SecretString {
    let mut h = String::with_capacity(BEARER.len() + access_token.len());
    h.push_str(BEARER);
    h.push_str(access_token);
    SecretString::from(h)
}

#[derive(Deserialize)]
struct Wire {
    access_token: Option<serde_json::Value>,
    token_type: Option<serde_json::Value>,
    expires_in: Option<serde_json::Value>,
    scope: Option<serde_json::Value>,
}

/// Parses a 200 body from the token endpoint; `sent_at` is when the request left.
pub(crate) fn parse_token_response(body: &[u8], sent_at: SystemTime) -> Result<Token> {
    let invalid = |d: &str| Error::invalid(Some(200), d);
    if !crate::text::is_json_object(body) {
        return Err(invalid("body is not a JSON object"));
    }
    let wire: Wire = serde_json::from_slice(body).map_err(|e| {
        Error::invalid(
            Some(200),
            format!(
                "body is not a JSON token response ({})",
                crate::text::json_error(&e)
            ),
        )
    })?;
    let access_token = match wire.access_token {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s,
        Some(serde_json::Value::String(_)) => return Err(invalid("access_token is empty")),
        Some(_) => return Err(invalid("access_token is not a string")),
        None => return Err(invalid("access_token is missing")),
    };
    if access_token.len() > MAX_TOKEN_LEN {
        return Err(invalid("access_token is too long"));
    }
    if !header_safe(&access_token) {
        return Err(invalid(
            "access_token contains characters not allowed in a header",
        ));
    }
    let header = header_of(&access_token);
    // The body's copy is wiped like every other (the header is the one kept).
    drop(secrecy::SecretString::from(access_token));
    let token_type = match wire.token_type {
        Some(serde_json::Value::String(t)) if t.eq_ignore_ascii_case("bearer") => t,
        Some(serde_json::Value::String(t)) => {
            return Err(invalid(&format!(
                "token_type {:?} is not Bearer",
                truncate(&t, 32)
            )))
        }
        Some(_) => return Err(invalid("token_type is not a string")),
        None => return Err(invalid("token_type is missing")),
    };
    let expires_in = match wire.expires_in {
        None | Some(serde_json::Value::Null) => DEFAULT_EXPIRES_IN,
        Some(v) => parse_expires_in(&v).ok_or_else(|| {
            invalid(&format!(
                "expires_in {} is not a lifetime between 1 s and 10 years",
                truncate(&v.to_string(), 32)
            ))
        })?,
    };
    let scope = match wire.scope {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => crate::oauth::scope::normalize(&s),
        Some(_) => return Err(invalid("scope is not a string")),
    };
    Ok(Token(Arc::new(Inner {
        header,
        token_type,
        expires_in,
        expires_at: sent_at + Duration::from_secs(expires_in),
        scope,
    })))
}

fn parse_expires_in(v: &serde_json::Value) -> Option<u64> {
    let secs = match v {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        })?,
        // Some servers send the number as a string.
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (1..=MAX_EXPIRES_IN).contains(&secs).then_some(secs)
}
