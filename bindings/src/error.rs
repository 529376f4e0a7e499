//! The core's errors as a Kotlin exception hierarchy (`TokenException.OAuth`, …) and a Swift
//! `Error` enum (`TokenError.OAuth(…)`), converted in one place.
//!
//! uniffi builds the Kotlin `message` from the variant's fields (`error=…, status=…`) and Swift's
//! `errorDescription` from `String(reflecting:)` of the case: both show only these fields, and the
//! core never puts a secret in any of them.

use tokenkeeper::TokenCheck;

/// Which validation check rejected a token: the core's `TokenCheck` itself (uniffi checks this
/// mirror against it at compile time).
#[uniffi::remote(Enum)]
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
    /// The header's `typ` does not fit the kind of token (`at+jwt`/`JWT` for an access token,
    /// `JWT` for an ID token), or an ID token (`nonce`, `at_hash`, `c_hash`) was offered as an
    /// access token.
    TokenType,
}

/// Everything that can go wrong; one case per cause of the core's `Error`.
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
    /// The host's `CredentialsStorage` failed: `detail` names the method and the host's error
    /// (`load() failed: java.io.IOException: …`).
    #[error("{detail}")]
    Storage { detail: String },
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
            E::InvalidToken { check, detail } => Self::InvalidToken { check, detail },
            E::ReauthenticationRequired { error, description } => Self::ReauthenticationRequired {
                error,
                error_description: description,
            },
            E::Storage { message, source } => match source.get().downcast_ref::<TokenError>() {
                // A TokenException/TokenError the host's storage threw on purpose: as itself.
                Some(thrown) if !matches!(thrown, Self::Storage { .. }) => thrown.clone(),
                // Any other exception (see below), or a Storage error: the core's message,
                // which names the method.
                _ => Self::Storage { detail: message },
            },
        }
    }
}

/// Any other exception or error thrown by the host's `CredentialsStorage` (an `IOException`, a
/// Keychain `OSStatus`, …), which uniffi hands over as its text. The store adapter then wraps it
/// in the core's `Error::Storage` (`credentials.rs`), which keeps the first line of this text.
impl From<uniffi::UnexpectedUniFFICallbackError> for TokenError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Storage { detail: e.reason }
    }
}
