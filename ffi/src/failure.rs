//! A failure as C sees it (a status and its details), and the one conversion from the core's
//! `Error` (and the binding's own failures) to it.

use std::time::Duration;

use tk_core::{Error, TokenCheck};

use crate::status::tk_status;

/// A failure as C sees it: a status and the details `tk_last_error_*` report.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub status: tk_status,
    /// The core's `Error::kind()`, `""` for the binding's own failures.
    pub kind: &'static str,
    pub message: String,
    pub oauth_error: Option<String>,
    pub description: Option<String>,
    pub http_status: Option<u16>,
    pub retry_after: Option<Duration>,
    pub token_check: Option<TokenCheck>,
    pub transient: bool,
}

impl Failure {
    fn new(status: tk_status, message: String) -> Self {
        Self {
            status,
            kind: "",
            message,
            oauth_error: None,
            description: None,
            http_status: None,
            retry_after: None,
            token_check: None,
            transient: false,
        }
    }

    pub fn null(func: &str, arg: &str) -> Self {
        Self::new(tk_status::NullParameter, format!("{func}: `{arg}` is NULL"))
    }

    pub fn utf8(func: &str, arg: &str) -> Self {
        Self::new(
            tk_status::InvalidUtf8,
            format!("{func}: `{arg}` is not valid UTF-8"),
        )
    }

    pub fn buffer(func: &str, have: usize, need: usize) -> Self {
        Self::new(
            tk_status::BufferTooSmall,
            format!("{func}: a buffer of {have} bytes is too small, {need} needed"),
        )
    }

    /// A length over the bound of what a store callback may hand back (`TK_STATUS_STORAGE`).
    pub fn store_too_large(func: &str, arg: &str, len: usize, max: usize) -> Self {
        Self::new(
            tk_status::Storage,
            format!("{func}: `{arg}` of {len} bytes is more than the {max} taken"),
        )
    }

    /// A claim (or value) that does not exist.
    pub fn not_found(func: &str, what: &str) -> Self {
        Self::new(
            tk_status::NotFound,
            format!("{func}: {what} does not exist"),
        )
    }

    /// A claim of another JSON type than the getter reads.
    pub fn wrong_type(func: &str, name: &str, want: &str) -> Self {
        Self::new(
            tk_status::WrongType,
            format!("{func}: claim {name:?} is not {want}"),
        )
    }

    /// A string to copy out that holds a NUL character at byte `at` of `len`: C would read it
    /// cut there.
    pub fn embedded_nul(func: &str, at: usize, len: usize) -> Self {
        Self::new(
            tk_status::WrongType,
            format!(
                "{func}: the value holds a NUL character (byte {at} of {len}), which a C string \
                 cannot carry; it is not handed out cut short"
            ),
        )
    }

    pub fn panic(func: &str, payload: &(dyn std::any::Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown panic");
        Self::new(
            tk_status::Panic,
            format!("{func}: internal error (panic caught at the C boundary): {what}"),
        )
    }
}

/// The core's error causes, one status each, matched by variant. The only place a core error
/// is converted.
impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let mut f = Failure::new(tk_status::Ok, e.to_string());
        (f.kind, f.transient) = (e.kind(), e.is_transient());
        (f.http_status, f.token_check) = (e.http_status(), e.token_check());
        f.status = match e {
            Error::OAuth {
                error, description, ..
            } => {
                (f.oauth_error, f.description) = (Some(error), description);
                tk_status::Oauth
            }
            Error::RateLimited {
                retry_after,
                description,
            } => {
                (f.retry_after, f.description) = (retry_after, description);
                tk_status::RateLimited
            }
            Error::Network(_) => tk_status::Network,
            Error::Timeout(_) => tk_status::Timeout,
            Error::InvalidResponse { .. } => tk_status::InvalidResponse,
            Error::Config(_) => tk_status::Config,
            Error::InvalidToken { .. } => tk_status::InvalidToken,
            Error::ReauthenticationRequired { error, description } => {
                (f.oauth_error, f.description) = (Some(error), description);
                tk_status::ReauthenticationRequired
            }
            Error::Storage { .. } => tk_status::Storage,
        };
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_core_cause_has_its_status_and_details() {
        let f = Failure::from(Error::OAuth {
            error: "access_denied".into(),
            description: Some("Unauthorized".into()),
            status: 401,
        });
        assert_eq!(f.status, tk_status::Oauth);
        assert_eq!(f.oauth_error.as_deref(), Some("access_denied"));
        assert_eq!(f.description.as_deref(), Some("Unauthorized"));
        assert_eq!(f.http_status, Some(401));
        assert!(!f.transient);

        let f = Failure::from(Error::RateLimited {
            retry_after: Some(Duration::from_secs(120)),
            description: None,
        });
        assert_eq!(f.status, tk_status::RateLimited);
        assert_eq!(f.retry_after, Some(Duration::from_secs(120)));
        assert!(f.transient);

        assert_eq!(
            Failure::from(Error::Network("x".into())).status,
            tk_status::Network
        );
        assert_eq!(
            Failure::from(Error::Timeout("x".into())).status,
            tk_status::Timeout
        );
        let f = Failure::from(Error::InvalidResponse {
            status: Some(200),
            detail: "access_token is missing".into(),
        });
        assert_eq!(f.status, tk_status::InvalidResponse);
        assert_eq!(f.http_status, Some(200));
        assert!(f.message.contains("access_token is missing"));
        assert_eq!(
            Failure::from(Error::Config("x".into())).status,
            tk_status::Config
        );

        // Not reachable through the client-credentials API yet: checked here.
        let f = Failure::from(Error::InvalidToken {
            check: TokenCheck::Audience,
            detail: "aud does not contain https://api".into(),
        });
        assert_eq!(f.status, tk_status::InvalidToken);
        assert_eq!(f.token_check, Some(TokenCheck::Audience));
        assert!(f.message.contains("aud does not contain"));

        let f = Failure::from(Error::ReauthenticationRequired {
            error: "invalid_grant".into(),
            description: Some("Unknown or invalid refresh token.".into()),
        });
        assert_eq!(f.status, tk_status::ReauthenticationRequired);
        assert_eq!(f.oauth_error.as_deref(), Some("invalid_grant"));
        assert!(!f.transient);
    }

    #[test]
    fn a_storage_failure_is_the_core_variant_not_a_message() {
        use tk_core::{HostError, HostMessage};
        let host = HostError::new(HostMessage("callback returned 7".into()));
        let f = Failure::from(Error::storage("load", host));
        assert_eq!((f.status, f.kind), (tk_status::Storage, "storage"));
        assert!(
            f.message.contains("load() failed: callback returned 7"),
            "{}",
            f.message
        );
        assert!(!f.transient);
        // A config error whose text looks like a storage failure is still a config error.
        let f = Failure::from(Error::Config(
            "credentials store error: load() failed".into(),
        ));
        assert_eq!(f.status, tk_status::Config);
    }
}
