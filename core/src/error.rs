//! One error type; each variant is a cause a caller can act on differently.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Everything that can go wrong getting a token.
///
/// `Clone` because one failed fetch is delivered to every caller that waited for it.
/// No variant ever carries a secret: messages are built from server responses and our own text.
///
/// # Example
///
/// ```
/// use tokenkeeper::Error;
///
/// fn describe(e: &Error) -> String {
///     match e {
///         Error::RateLimited { retry_after: Some(wait), .. } => format!("retry in {wait:?}"),
///         Error::OAuth { error, status, .. } => format!("{error} (HTTP {status})"),
///         e if e.is_transient() => format!("try again later: {e}"),
///         e => format!("{}: {e}", e.kind()),
///     }
/// }
///
/// let e = Error::Config("the domain is empty".into());
/// assert_eq!(e.kind(), "config");
/// assert!(!e.is_transient());
/// assert_eq!(describe(&e), "config: configuration error: the domain is empty");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The authorization server answered with an OAuth error (`invalid_client`, `access_denied`,
    /// `unauthorized_client`, `invalid_request`, `invalid_grant`, `server_error`…).
    #[error("OAuth error from the server (HTTP {status}): {error}{}", describe(.description))]
    OAuth {
        /// The OAuth `error` code (`invalid_client`…).
        error: String,
        /// The `error_description`, when there is one.
        description: Option<String>,
        /// The HTTP status of the response (400 for an `error` in a sign-in callback URL).
        status: u16,
    },
    /// HTTP 429: try again after `retry_after` (from `Retry-After` or `X-RateLimit-Reset`).
    #[error("rate limited by the server (HTTP 429){}{}", retry_in(.retry_after), describe(.description))]
    RateLimited {
        /// How long to wait before trying again (what is left of it, for a 429 remembered by
        /// the cache); `None` when the server did not say.
        retry_after: Option<Duration>,
        /// The body's `error_description`, or a note that the 429 was remembered; `None` when
        /// there is neither.
        description: Option<String>,
    },
    /// The server could not be reached, or the connection broke.
    #[error("network error: {0}")]
    Network(String),
    /// A connect or request timeout elapsed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The server answered, but not with something we can use.
    #[error("invalid response from the server{}: {detail}", status_part(.status))]
    InvalidResponse {
        /// The HTTP status of the response; `None` when the failure was not tied to one.
        status: Option<u16>,
        /// What was wrong with the response.
        detail: String,
    },
    /// The client was configured in a way that cannot work.
    #[error("configuration error: {0}")]
    Config(String),
    /// A token failed validation; `check` names the check that failed.
    #[error("invalid token ({}): {detail}", .check.as_str())]
    InvalidToken {
        /// The check that rejected the token.
        check: TokenCheck,
        /// What the check found, in words.
        detail: String,
    },
    /// The user's session cannot be renewed (refresh token unknown, expired, revoked or
    /// rotated out): the user must sign in again.
    #[error("re-authentication required: {error}{}", describe(.description))]
    ReauthenticationRequired {
        /// The OAuth `error` code (`invalid_grant`…), or the core's own (`no_credentials`…).
        error: String,
        /// A description of why, when there is one.
        description: Option<String>,
    },
    /// The host's credentials store failed. `message` names the store method and the host
    /// error's type and first line; `source` is the host's error itself, so a binding can hand
    /// the original back to its caller.
    #[error("credentials store error: {message}")]
    Storage {
        /// The store method that failed and the host error's type and first line.
        message: String,
        /// The host's own error.
        #[source]
        source: HostError,
    },
}

/// An error raised by host code (a credentials store), carried through the core unchanged.
/// Equality is identity: two `HostError`s are equal when they are the same error.
#[derive(Clone)]
pub struct HostError {
    error: Arc<dyn std::error::Error + Send + Sync + 'static>,
    /// Its text, taken once (formatting a host error later may need the host, e.g. the GIL).
    text: Arc<str>,
}

impl HostError {
    /// Wraps a host error; its text (first line, bounded) is taken once, here.
    ///
    /// See the example on [`CredentialsStore`](crate::CredentialsStore).
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        let text = first_line(&e.to_string()).into();
        Self {
            error: Arc::new(e),
            text,
        }
    }

    /// The host's error, to downcast to the binding's own type (`PyErr`, a foreign exception…).
    ///
    /// See the example on [`CredentialsStore`](crate::CredentialsStore).
    pub fn get(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.error
    }
}

impl PartialEq for HostError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.error, &other.error)
    }
}

impl Eq for HostError {}

impl fmt::Debug for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Host text may hold anything (a token, a path): only its first line, bounded.
        write!(f, "HostError({:?})", self.text)
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for HostError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// A host error's text as it may appear in our messages: its first line, printable, bounded.
pub(crate) fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    crate::text::truncate(&line.replace(|c: char| c.is_control(), " "), 200)
}

/// A host error that is only text (a C status and message, say).
#[derive(Debug)]
pub struct HostMessage(
    /// The host's message.
    pub String,
);

impl fmt::Display for HostMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostMessage {}

/// Which validation check rejected a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenCheck {
    /// Not a well-formed JWS compact token (segments, base64url, JSON), or too large.
    Malformed,
    /// `alg` not on the allow-list (`none`, HMAC, …) or not matching the key.
    Algorithm,
    /// No key in the JWKS with the token's `kid`, even after a refetch.
    UnknownKey,
    /// The signature does not verify.
    Signature,
    /// `iss` is not one of the accepted issuers.
    Issuer,
    /// `aud` does not contain the expected audience.
    Audience,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    NotYetValid,
    /// A required claim is missing or has the wrong type.
    MissingClaim,
    /// `azp` is not the expected authorized party.
    AuthorizedParty,
    /// `org_id`/`org_name` does not match the required organization.
    Organization,
    /// ID token `nonce` does not match.
    Nonce,
    /// ID token `auth_time` is older than `max_age` allows.
    AuthTime,
    /// The JWKS could not be fetched or used.
    Jwks,
    /// The header's `typ` does not fit the kind of token expected (`at+jwt` or `JWT` for an
    /// access token, `JWT` for an ID token), or an ID token was sent where an access token
    /// is expected.
    TokenType,
}

impl TokenCheck {
    /// Every check, in the order a verification runs them.
    pub const ALL: [TokenCheck; 15] = [
        Self::Malformed,
        Self::Algorithm,
        Self::UnknownKey,
        Self::Jwks,
        Self::Signature,
        Self::TokenType,
        Self::Issuer,
        Self::Audience,
        Self::Expired,
        Self::NotYetValid,
        Self::MissingClaim,
        Self::AuthorizedParty,
        Self::Organization,
        Self::Nonce,
        Self::AuthTime,
    ];

    /// The check of a stable name (`"audience"`…), the inverse of [`Self::as_str`].
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Stable name of the check; the same on every surface.
    ///
    /// See the example on [`TokenVerifier`](crate::TokenVerifier).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Algorithm => "algorithm",
            Self::UnknownKey => "unknown_key",
            Self::Signature => "signature",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::MissingClaim => "missing_claim",
            Self::AuthorizedParty => "authorized_party",
            Self::Organization => "organization",
            Self::Nonce => "nonce",
            Self::AuthTime => "auth_time",
            Self::Jwks => "jwks",
            Self::TokenType => "token_type",
        }
    }

    /// Stable number of the check (C's `tk_token_check`; 0 is "none"). Numbers are only ever
    /// appended, never reused.
    pub fn code(self) -> u8 {
        match self {
            Self::Malformed => 1,
            Self::Algorithm => 2,
            Self::UnknownKey => 3,
            Self::Signature => 4,
            Self::Issuer => 5,
            Self::Audience => 6,
            Self::Expired => 7,
            Self::NotYetValid => 8,
            Self::MissingClaim => 9,
            Self::AuthorizedParty => 10,
            Self::Organization => 11,
            Self::Nonce => 12,
            Self::AuthTime => 13,
            Self::Jwks => 14,
            Self::TokenType => 15,
        }
    }
}

impl Error {
    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into())
    }

    /// A failure of the host's credentials store in `method` (`load`, `save`, `clear`).
    ///
    /// See the example on [`CredentialsStore`](crate::CredentialsStore).
    pub fn storage(method: &str, source: HostError) -> Self {
        let text = source.to_string();
        let message = if text.is_empty() {
            format!("{method}() failed")
        } else {
            format!("{method}() failed: {text}")
        };
        Error::Storage { message, source }
    }

    /// The host's own error, when this is a [`Error::Storage`].
    ///
    /// See the example on [`CredentialsStore`](crate::CredentialsStore).
    pub fn host_error(&self) -> Option<&HostError> {
        match self {
            Error::Storage { source, .. } => Some(source),
            _ => None,
        }
    }

    pub(crate) fn invalid(status: Option<u16>, detail: impl Into<String>) -> Self {
        Error::InvalidResponse {
            status,
            detail: detail.into(),
        }
    }

    /// Short, stable name of the cause; the same on every surface.
    ///
    /// See the example on [`Error`].
    pub fn kind(&self) -> &'static str {
        match self {
            Error::OAuth { .. } => "oauth",
            Error::RateLimited { .. } => "rate_limited",
            Error::Network(_) => "network",
            Error::Timeout(_) => "timeout",
            Error::InvalidResponse { .. } => "invalid_response",
            Error::Config(_) => "config",
            Error::InvalidToken { .. } => "invalid_token",
            Error::ReauthenticationRequired { .. } => "reauthentication_required",
            Error::Storage { .. } => "storage",
        }
    }

    /// The HTTP status of the answer this error comes from, when it comes from one: an OAuth
    /// error's, 429 for [`Error::RateLimited`], an invalid response's when it had one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::OAuth { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::InvalidResponse { status, .. } => *status,
            _ => None,
        }
    }

    /// The check that rejected a token, for [`Error::InvalidToken`].
    pub fn token_check(&self) -> Option<TokenCheck> {
        match self {
            Error::InvalidToken { check, .. } => Some(*check),
            _ => None,
        }
    }

    /// Whether the same request may succeed later without any change by the caller.
    ///
    /// See the example on [`Error`].
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Network(_) | Error::Timeout(_) => true,
            Error::OAuth { status, .. } => *status >= 500,
            Error::InvalidResponse { status, .. } => status.is_some_and(|s| s >= 500),
            Error::Config(_)
            | Error::InvalidToken { .. }
            | Error::ReauthenticationRequired { .. }
            | Error::Storage { .. } => false,
        }
    }
}

fn describe(d: &Option<String>) -> String {
    d.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
}

fn retry_in(r: &Option<Duration>) -> String {
    r.map(|r| format!(", retry after {:.1} s", r.as_secs_f64()))
        .unwrap_or_default()
}

fn status_part(s: &Option<u16>) -> String {
    s.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

/// `std::result::Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Scenario E1's core side: what every surface reads off an error.
    #[test]
    fn an_error_answers_for_its_status_and_check_and_codes_are_stable() {
        let limited = Error::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
            description: Some("Global limit has been reached".into()),
        };
        assert_eq!(limited.http_status(), Some(429));
        assert_eq!(
            limited.to_string(),
            "rate limited by the server (HTTP 429), retry after 30.0 s (Global limit has been reached)"
        );
        let expired = Error::InvalidToken {
            check: TokenCheck::Expired,
            detail: "exp is in the past".into(),
        };
        assert_eq!(expired.http_status(), None);
        assert_eq!(expired.token_check(), Some(TokenCheck::Expired));
        let mut codes: Vec<u8> = TokenCheck::ALL.iter().map(|c| c.code()).collect();
        codes.sort();
        assert_eq!(
            codes,
            (1..=15).collect::<Vec<u8>>(),
            "one number each, from 1"
        );
        assert_eq!(TokenCheck::Malformed.code(), 1);
        assert_eq!(TokenCheck::TokenType.code(), 15);
    }
}
