//! The core's errors as a Kotlin exception hierarchy (`TokenException.OAuth`, …) and a Swift
//! `Error` enum (`TokenError.oAuth(…)`), converted in one place.
//!
//! uniffi builds the Kotlin `message` from the variant's fields (`error=…, status=…`) and Swift's
//! `errorDescription` from `String(reflecting:)` of the case: both show only these fields, and the
//! core never puts a secret in any of them.

/// Which validation check rejected a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum TokenCheck {
    Malformed,
    Algorithm,
    UnknownKey,
    Signature,
    Issuer,
    Audience,
    Expired,
    NotYetValid,
    MissingClaim,
    AuthorizedParty,
    Organization,
    Nonce,
    AuthTime,
    Jwks,
}

impl From<tokenkeeper::TokenCheck> for TokenCheck {
    fn from(c: tokenkeeper::TokenCheck) -> Self {
        use tokenkeeper::TokenCheck as C;
        match c {
            C::Malformed => Self::Malformed,
            C::Algorithm => Self::Algorithm,
            C::UnknownKey => Self::UnknownKey,
            C::Signature => Self::Signature,
            C::Issuer => Self::Issuer,
            C::Audience => Self::Audience,
            C::Expired => Self::Expired,
            C::NotYetValid => Self::NotYetValid,
            C::MissingClaim => Self::MissingClaim,
            C::AuthorizedParty => Self::AuthorizedParty,
            C::Organization => Self::Organization,
            C::Nonce => Self::Nonce,
            C::AuthTime => Self::AuthTime,
            C::Jwks => Self::Jwks,
        }
    }
}

/// Everything that can go wrong; one case per cause a caller can act on (the core's `Error`).
#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
pub enum TokenError {
    /// The authorization server answered with an OAuth error (`access_denied`,
    /// `invalid_client`, `unauthorized_client`, `invalid_request`, …) and this HTTP status.
    #[error("OAuth error from the server (HTTP {status}): {error}")]
    OAuth {
        error: String,
        error_description: Option<String>,
        status: u16,
    },
    /// HTTP 429: retry after this many seconds (from `Retry-After` or `X-RateLimit-Reset`).
    #[error("rate limited by the server (HTTP 429)")]
    RateLimited {
        retry_after_seconds: Option<f64>,
        error_description: Option<String>,
    },
    /// The server could not be reached, or the connection broke.
    #[error("network error: {detail}")]
    Network { detail: String },
    /// A connect or request timeout elapsed.
    #[error("timed out: {detail}")]
    Timeout { detail: String },
    /// The server answered, but not with something usable (bad JSON, missing fields, too large…).
    #[error("invalid response from the server: {detail}")]
    InvalidResponse { status: Option<u16>, detail: String },
    /// The client was configured in a way that cannot work.
    #[error("configuration error: {detail}")]
    Config { detail: String },
    /// A token failed validation; `check` names the check that failed.
    #[error("invalid token ({check:?}): {detail}")]
    InvalidToken { check: TokenCheck, detail: String },
    /// The user's session cannot be renewed: the user must sign in again.
    #[error("re-authentication required: {error}")]
    ReauthenticationRequired {
        error: String,
        error_description: Option<String>,
    },
}

impl From<tokenkeeper::Error> for TokenError {
    fn from(e: tokenkeeper::Error) -> Self {
        use tokenkeeper::Error as E;
        match e {
            E::OAuth {
                error,
                description,
                status,
            } => Self::OAuth {
                error,
                error_description: description,
                status,
            },
            E::RateLimited {
                retry_after,
                description,
            } => Self::RateLimited {
                retry_after_seconds: retry_after.map(|d| d.as_secs_f64()),
                error_description: description,
            },
            E::Network(detail) => Self::Network { detail },
            E::Timeout(detail) => Self::Timeout { detail },
            E::InvalidResponse { status, detail } => Self::InvalidResponse { status, detail },
            E::Config(detail) => Self::Config { detail },
            E::InvalidToken { check, detail } => Self::InvalidToken {
                check: check.into(),
                detail,
            },
            E::ReauthenticationRequired { error, description } => Self::ReauthenticationRequired {
                error,
                error_description: description,
            },
        }
    }
}

impl From<TokenCheck> for tokenkeeper::TokenCheck {
    fn from(c: TokenCheck) -> Self {
        use TokenCheck as C;
        match c {
            C::Malformed => Self::Malformed,
            C::Algorithm => Self::Algorithm,
            C::UnknownKey => Self::UnknownKey,
            C::Signature => Self::Signature,
            C::Issuer => Self::Issuer,
            C::Audience => Self::Audience,
            C::Expired => Self::Expired,
            C::NotYetValid => Self::NotYetValid,
            C::MissingClaim => Self::MissingClaim,
            C::AuthorizedParty => Self::AuthorizedParty,
            C::Organization => Self::Organization,
            C::Nonce => Self::Nonce,
            C::AuthTime => Self::AuthTime,
            C::Jwks => Self::Jwks,
        }
    }
}

/// An error thrown by the host's `CredentialsStorage` (a `TokenException`/`TokenError` it threw
/// on purpose) goes through the core unchanged, and comes back to the caller as itself.
impl From<TokenError> for tokenkeeper::Error {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::OAuth {
                error,
                error_description,
                status,
            } => Self::OAuth {
                error,
                description: error_description,
                status,
            },
            TokenError::RateLimited {
                retry_after_seconds,
                error_description,
            } => Self::RateLimited {
                retry_after: retry_after_seconds
                    .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok()),
                description: error_description,
            },
            TokenError::Network { detail } => Self::Network(detail),
            TokenError::Timeout { detail } => Self::Timeout(detail),
            TokenError::InvalidResponse { status, detail } => {
                Self::InvalidResponse { status, detail }
            }
            TokenError::Config { detail } => Self::Config(detail),
            TokenError::InvalidToken { check, detail } => Self::InvalidToken {
                check: check.into(),
                detail,
            },
            TokenError::ReauthenticationRequired {
                error,
                error_description,
            } => Self::ReauthenticationRequired {
                error,
                description: error_description,
            },
        }
    }
}

/// Any other exception or error thrown by the host's `CredentialsStorage` (an `IOException`, a
/// Keychain `OSStatus`, …): uniffi hands it over as its text. It becomes `Config`, the cause the
/// core gives a store that cannot work, with the host's message: the caller gets a typed error,
/// never a panic or a hang.
impl From<uniffi::UnexpectedUniFFICallbackError> for TokenError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        // Kotlin sends the whole stack trace: its first line is the exception and its message.
        let first = e.reason.lines().next().unwrap_or("").trim();
        let mut what: String = first.chars().take(300).collect();
        if what.len() < first.len() {
            what.push('…');
        }
        Self::Config {
            detail: format!("the credentials storage failed: {what}"),
        }
    }
}
