//! The core's errors as a Kotlin exception hierarchy (`TokenException.OAuth`, …) and a Swift
//! `Error` enum (`TokenError.OAuth(…)`), converted in one place.
//!
//! Every case answers with the core's own words: `toString()` / `description` is the core's
//! message, and `kind()`, `isTransient()`, `httpStatus()` and `checkName()` are the core's
//! answers (the same as Python's attributes and C's `tk_last_error_*`). uniffi builds the Kotlin
//! `message` from the variant's fields (`error=…, status=…`); the core never puts a secret in
//! any of them.

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
#[derive(Debug, Clone, PartialEq, uniffi::Error)]
#[uniffi::export(Display)]
pub enum TokenError {
    /// The authorization server answered with an OAuth error (`access_denied`,
    /// `invalid_client`, `unauthorized_client`, `invalid_request`, …) and this HTTP status.
    OAuth {
        error: String,
        error_description: Option<String>,
        status: u16,
    },
    /// HTTP 429: retry after this many seconds (from `Retry-After` or `X-RateLimit-Reset`).
    RateLimited {
        retry_after_seconds: Option<f64>,
        error_description: Option<String>,
    },
    /// The server could not be reached, or the connection broke.
    Network { detail: String },
    /// A connect or request timeout elapsed.
    Timeout { detail: String },
    /// The server answered, but not with something usable (bad JSON, missing fields, too large…).
    InvalidResponse { status: Option<u16>, detail: String },
    /// The client was configured in a way that cannot work.
    Config { detail: String },
    /// A token failed validation; `check` names the check that failed.
    InvalidToken { check: TokenCheck, detail: String },
    /// The user's session cannot be renewed: the user must sign in again.
    ReauthenticationRequired {
        error: String,
        error_description: Option<String>,
    },
    /// The host's `CredentialsStore` failed: `detail` names the method and the host's error
    /// (`load() failed: java.io.IOException: …`).
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

impl TokenError {
    /// The core's error again, for the core's own answers about it.
    fn core(&self) -> tokenkeeper::Error {
        use tokenkeeper::Error as E;
        match self.clone() {
            Self::OAuth {
                error,
                error_description,
                status,
            } => E::OAuth {
                error,
                description: error_description,
                status,
            },
            Self::RateLimited {
                retry_after_seconds,
                error_description,
            } => E::RateLimited {
                retry_after: retry_after_seconds
                    .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok()),
                description: error_description,
            },
            Self::Network { detail } => E::Network(detail),
            Self::Timeout { detail } => E::Timeout(detail),
            Self::InvalidResponse { status, detail } => E::InvalidResponse { status, detail },
            Self::Config { detail } => E::Config(detail),
            Self::InvalidToken { check, detail } => E::InvalidToken { check, detail },
            Self::ReauthenticationRequired {
                error,
                error_description,
            } => E::ReauthenticationRequired {
                error,
                description: error_description,
            },
            Self::Storage { detail } => E::Storage {
                message: detail.clone(),
                source: tokenkeeper::HostError::new(tokenkeeper::HostMessage(detail)),
            },
        }
    }
}

#[uniffi::export]
impl TokenError {
    /// The cause, as the core names it on every surface: `oauth`, `rate_limited`, `network`,
    /// `timeout`, `invalid_response`, `config`, `invalid_token`, `reauthentication_required`,
    /// `storage`.
    pub fn kind(&self) -> String {
        self.core().kind().to_string()
    }

    /// Whether the same call may succeed later without any change (a 429, a network failure,
    /// a timeout, a 5xx).
    pub fn is_transient(&self) -> bool {
        self.core().is_transient()
    }

    /// The HTTP status of the answer this error comes from, when there was one (429 for
    /// `RateLimited`).
    pub fn http_status(&self) -> Option<u16> {
        self.core().http_status()
    }

    /// The name of the check that rejected a token (`"expired"`, `"audience"`…, the same on
    /// every surface), for `InvalidToken`.
    pub fn check_name(&self) -> Option<String> {
        self.core().token_check().map(|c| c.as_str().to_string())
    }
}

/// The core's message, word for word.
impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.core().fmt(f)
    }
}

impl std::error::Error for TokenError {}

/// Any other exception or error thrown by the host's `CredentialsStore` (an `IOException`, a
/// Keychain `OSStatus`, …), which uniffi hands over as its text. The store adapter then wraps it
/// in the core's `Error::Storage` (`credentials.rs`), which keeps the first line of this text.
impl From<uniffi::UnexpectedUniFFICallbackError> for TokenError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Storage { detail: e.reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `core()` undoes `From<tokenkeeper::Error>`: the two matches agree, so every answer a
    /// Kotlin/Swift error gives is the core's for the error it came from.
    #[test]
    fn each_case_gives_back_the_core_error_it_came_from() {
        use tokenkeeper::Error as E;
        let all = [
            E::OAuth {
                error: "access_denied".into(),
                description: Some("Unauthorized".into()),
                status: 401,
            },
            E::RateLimited {
                retry_after: Some(Duration::from_millis(1500)),
                description: Some("Global limit has been reached".into()),
            },
            E::Network("connection refused".into()),
            E::Timeout("request timed out".into()),
            E::InvalidResponse {
                status: Some(502),
                detail: "not JSON".into(),
            },
            E::Config("client_id is empty".into()),
            E::InvalidToken {
                check: TokenCheck::Expired,
                detail: "exp is in the past".into(),
            },
            E::ReauthenticationRequired {
                error: "invalid_grant".into(),
                description: None,
            },
        ];
        for e in all {
            let back = TokenError::from(e.clone()).core();
            assert_eq!(back, e);
            assert_eq!(TokenError::from(e.clone()).to_string(), e.to_string());
        }
        let host = tokenkeeper::HostError::new(tokenkeeper::HostMessage("disk full".into()));
        let stored = TokenError::from(E::storage("load", host));
        assert_eq!(stored.kind(), "storage");
        assert_eq!(
            stored.to_string(),
            "credentials store error: load() failed: disk full"
        );
    }
}
