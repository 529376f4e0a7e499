//! The one conversion from the core's `Error` (and the binding's own failures) to a status and
//! its details, and the calling thread's last error (`tk_last_error_*`).

use std::cell::RefCell;
use std::ffi::{c_char, c_int};
use std::time::Duration;

use tk_core::{Error, TokenCheck};

use crate::boundary::{out_ptr, quiet, write_str};
use crate::status::tk_status;

/// A failure as C sees it: a status and the details `tk_last_error_*` report.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub status: tk_status,
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

/// The core's error causes, one status each. The only place a core error is converted.
impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let mut f = Failure::new(tk_status::Ok, e.to_string());
        f.transient = e.is_transient();
        match e {
            Error::OAuth {
                error,
                description,
                status,
            } => {
                f.status = tk_status::Oauth;
                f.oauth_error = Some(error);
                f.description = description;
                f.http_status = Some(status);
            }
            Error::RateLimited {
                retry_after,
                description,
            } => {
                f.status = tk_status::RateLimited;
                f.retry_after = retry_after;
                f.description = description;
                // The variant is HTTP 429 by definition (it carries no status of its own).
                f.http_status = Some(429);
            }
            Error::Network(_) => f.status = tk_status::Network,
            Error::Timeout(_) => f.status = tk_status::Timeout,
            Error::InvalidResponse { status, .. } => {
                f.status = tk_status::InvalidResponse;
                f.http_status = status;
            }
            // The core's Error has no variant for a host storage: the storage adapter
            // (credentials.rs) reports its failures as Config errors under STORAGE_PREFIX, a
            // text nothing else produces, and they get their own status here.
            Error::Config(m) if m.starts_with(STORAGE_PREFIX) => {
                f.status = tk_status::Storage;
                f.message = m;
            }
            Error::Config(_) => f.status = tk_status::Config,
            Error::InvalidToken { check, .. } => {
                f.status = tk_status::InvalidToken;
                f.token_check = Some(check);
            }
            Error::ReauthenticationRequired { error, description } => {
                f.status = tk_status::ReauthenticationRequired;
                f.oauth_error = Some(error);
                f.description = description;
            }
        }
        f
    }
}

/// The start of every error the host storage adapter reports (see `From<Error>`).
pub(crate) const STORAGE_PREFIX: &str = "credentials storage: ";

/// Which check rejected a token (`TK_STATUS_INVALID_TOKEN`): `tk_last_error_token_check_code`.
/// `tk_token_check_str` gives the name shared by every surface (`"expired"`…). Values are only
/// ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tk_token_check {
    /// No token check failed (the last error is not `TK_STATUS_INVALID_TOKEN`, or none).
    None = 0,
    /// Not a well-formed JWS compact token (segments, base64url, JSON), or too large.
    Malformed = 1,
    /// `alg` not accepted (`none`, HMAC…) or not matching the key.
    Algorithm = 2,
    /// No key in the JWKS with the token's `kid`, even after a refetch.
    UnknownKey = 3,
    /// The signature does not verify.
    Signature = 4,
    /// `iss` is not an accepted issuer.
    Issuer = 5,
    /// `aud` does not contain the expected audience.
    Audience = 6,
    /// `exp` is in the past (beyond the leeway).
    Expired = 7,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    NotYetValid = 8,
    /// A required claim is missing or has the wrong type.
    MissingClaim = 9,
    /// `azp` is not the expected authorized party.
    AuthorizedParty = 10,
    /// `org_id`/`org_name` does not match the required organization.
    Organization = 11,
    /// The ID token's `nonce` does not match.
    Nonce = 12,
    /// The ID token's `auth_time` is older than `max_age` allows.
    AuthTime = 13,
    /// The JWKS could not be fetched or used.
    Jwks = 14,
}

impl From<TokenCheck> for tk_token_check {
    fn from(c: TokenCheck) -> Self {
        match c {
            TokenCheck::Malformed => Self::Malformed,
            TokenCheck::Algorithm => Self::Algorithm,
            TokenCheck::UnknownKey => Self::UnknownKey,
            TokenCheck::Signature => Self::Signature,
            TokenCheck::Issuer => Self::Issuer,
            TokenCheck::Audience => Self::Audience,
            TokenCheck::Expired => Self::Expired,
            TokenCheck::NotYetValid => Self::NotYetValid,
            TokenCheck::MissingClaim => Self::MissingClaim,
            TokenCheck::AuthorizedParty => Self::AuthorizedParty,
            TokenCheck::Organization => Self::Organization,
            TokenCheck::Nonce => Self::Nonce,
            TokenCheck::AuthTime => Self::AuthTime,
            TokenCheck::Jwks => Self::Jwks,
        }
    }
}

/// The core's name of a check (`"expired"`, `"audience"`…: the same as
/// `tk_last_error_token_check` and every other surface), `""` for `TK_TOKEN_CHECK_NONE`,
/// `"unknown"` for a value that is none. A static string; never free it.
#[no_mangle]
pub extern "C" fn tk_token_check_str(check: c_int) -> *const c_char {
    const ALL: [TokenCheck; 14] = [
        TokenCheck::Malformed,
        TokenCheck::Algorithm,
        TokenCheck::UnknownKey,
        TokenCheck::Signature,
        TokenCheck::Issuer,
        TokenCheck::Audience,
        TokenCheck::Expired,
        TokenCheck::NotYetValid,
        TokenCheck::MissingClaim,
        TokenCheck::AuthorizedParty,
        TokenCheck::Organization,
        TokenCheck::Nonce,
        TokenCheck::AuthTime,
        TokenCheck::Jwks,
    ];
    // Static NUL-terminated copies of the core's names, built once.
    static NAMES: std::sync::LazyLock<Vec<(c_int, std::ffi::CString)>> =
        std::sync::LazyLock::new(|| {
            ALL.iter()
                .map(|c| {
                    let name = std::ffi::CString::new(c.as_str()).expect("no NUL in a name");
                    (tk_token_check::from(*c) as c_int, name)
                })
                .collect()
        });
    let found = std::panic::catch_unwind(|| {
        if check == tk_token_check::None as c_int {
            return Some(c"".as_ptr());
        }
        NAMES
            .iter()
            .find(|(v, _)| *v == check)
            .map(|(_, n)| n.as_ptr())
    });
    match found {
        Ok(Some(p)) => p,
        _ => c"unknown".as_ptr(),
    }
}

thread_local! {
    static LAST: RefCell<Option<Failure>> = const { RefCell::new(None) };
}

/// Called at the start of every recording entry point: the details always belong to the most
/// recent call of the thread.
pub(crate) fn clear() {
    let _ = LAST.try_with(|l| l.borrow_mut().take());
}

pub(crate) fn set(f: Failure) {
    let _ = LAST.try_with(|l| *l.borrow_mut() = Some(f));
}

fn with_last<R>(f: impl FnOnce(Option<&Failure>) -> R) -> R {
    // A thread being torn down has no error to report.
    match LAST.try_with(|l| l.borrow().clone()) {
        Ok(last) => f(last.as_ref()),
        Err(_) => f(None),
    }
}

// The accessors below never change the last error: their own failures (NULL, small buffer) are
// returned but not recorded, so the details survive a retry with a bigger buffer.

/// The status of the calling thread's most recent failed call, `TK_STATUS_OK` when its most
/// recent call succeeded (or there was none). Every function except `tk_last_error_*`,
/// `tk_status_str`, `tk_token_check_str`, `tk_version`, `tk_store_sink_set` and the `*_free`
/// functions resets the last error when called.
#[no_mangle]
pub extern "C" fn tk_last_error_status() -> tk_status {
    std::panic::catch_unwind(|| with_last(|l| l.map_or(tk_status::Ok, |l| l.status)))
        .unwrap_or(tk_status::Panic)
}

/// The last error's message (English, for logs; never a secret), `""` when there is none.
/// Copied into `buf` (`len` bytes) with its NUL; `*out_len` receives the length needed,
/// NUL included, also with `TK_STATUS_BUFFER_TOO_SMALL` (then `buf` is left untouched).
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_message(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    quiet(|| {
        let msg = with_last(|l| l.map(|l| l.message.clone()).unwrap_or_default());
        write_str("tk_last_error_message", &msg, buf, len, out_len)
    })
}

/// The OAuth `error` code of the last error (`access_denied`, `invalid_client`…) for
/// `TK_STATUS_OAUTH` and `TK_STATUS_REAUTHENTICATION_REQUIRED`, otherwise `""`. Buffer rules as
/// `tk_last_error_message`.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_oauth_error(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    quiet(|| {
        let s = with_last(|l| l.and_then(|l| l.oauth_error.clone()).unwrap_or_default());
        write_str("tk_last_error_oauth_error", &s, buf, len, out_len)
    })
}

/// The server's `error_description` of the last error, `""` when it gave none. Buffer rules as
/// `tk_last_error_message`.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_description(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    quiet(|| {
        let s = with_last(|l| l.and_then(|l| l.description.clone()).unwrap_or_default());
        write_str("tk_last_error_description", &s, buf, len, out_len)
    })
}

/// For `TK_STATUS_INVALID_TOKEN`, the name of the check that failed (`"signature"`,
/// `"audience"`, `"expired"`…), otherwise `""`. Buffer rules as `tk_last_error_message`.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_token_check(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    quiet(|| {
        let s = with_last(|l| l.and_then(|l| l.token_check).map(|c| c.as_str()));
        write_str(
            "tk_last_error_token_check",
            s.unwrap_or_default(),
            buf,
            len,
            out_len,
        )
    })
}

/// For `TK_STATUS_INVALID_TOKEN`, the check that failed as a `tk_token_check`, otherwise
/// `TK_TOKEN_CHECK_NONE`.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_token_check_code(out: *mut tk_token_check) -> tk_status {
    quiet(|| {
        let out = out_ptr("tk_last_error_token_check_code", out, "out")?;
        let v = with_last(|l| l.and_then(|l| l.token_check))
            .map_or(tk_token_check::None, tk_token_check::from);
        unsafe { out.write(v) };
        Ok(())
    })
}

/// The HTTP status of the last error's response (401, 403, 429, 200 for an unusable 200…),
/// 0 when there was no response.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_http_status(out: *mut u16) -> tk_status {
    quiet(|| {
        let out = out_ptr("tk_last_error_http_status", out, "out")?;
        let v = with_last(|l| l.and_then(|l| l.http_status).unwrap_or(0));
        unsafe { out.write(v) };
        Ok(())
    })
}

/// For `TK_STATUS_RATE_LIMITED`, how long to wait before trying again, in milliseconds (from
/// `Retry-After` or `X-RateLimit-Reset`); -1 when the server did not say or for other errors.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_retry_after_ms(out: *mut i64) -> tk_status {
    quiet(|| {
        let out = out_ptr("tk_last_error_retry_after_ms", out, "out")?;
        let v = with_last(|l| {
            l.and_then(|l| l.retry_after)
                .map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        });
        unsafe { out.write(v) };
        Ok(())
    })
}

/// Whether the same call may succeed later without any change (rate limit, network, timeout,
/// 5xx): the core's judgement. False when there is no last error.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_is_transient(out: *mut bool) -> tk_status {
    quiet(|| {
        let out = out_ptr("tk_last_error_is_transient", out, "out")?;
        let v = with_last(|l| l.is_some_and(|l| l.transient));
        unsafe { out.write(v) };
        Ok(())
    })
}

/// Forgets the calling thread's last error.
#[no_mangle]
pub extern "C" fn tk_last_error_clear() {
    let _ = std::panic::catch_unwind(clear);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tk_core::TokenCheck;

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
    fn a_storage_failure_has_its_own_status_and_no_config_prefix() {
        let f = Failure::from(Error::Config(format!(
            "{STORAGE_PREFIX}the load callback failed (returned 7)"
        )));
        assert_eq!(f.status, tk_status::Storage);
        assert_eq!(
            f.message,
            "credentials storage: the load callback failed (returned 7)"
        );
        assert!(!f.transient);
        let f = Failure::from(Error::Config("credentials are fine".into()));
        assert_eq!(f.status, tk_status::Config);
    }

    #[test]
    fn every_check_has_a_code_and_the_core_name() {
        use std::ffi::CStr;
        let name = |c: c_int| {
            unsafe { CStr::from_ptr(tk_token_check_str(c)) }
                .to_str()
                .unwrap()
        };
        for (check, code) in [
            (TokenCheck::Malformed, 1),
            (TokenCheck::Algorithm, 2),
            (TokenCheck::UnknownKey, 3),
            (TokenCheck::Signature, 4),
            (TokenCheck::Issuer, 5),
            (TokenCheck::Audience, 6),
            (TokenCheck::Expired, 7),
            (TokenCheck::NotYetValid, 8),
            (TokenCheck::MissingClaim, 9),
            (TokenCheck::AuthorizedParty, 10),
            (TokenCheck::Organization, 11),
            (TokenCheck::Nonce, 12),
            (TokenCheck::AuthTime, 13),
            (TokenCheck::Jwks, 14),
        ] {
            assert_eq!(tk_token_check::from(check) as c_int, code);
            assert_eq!(name(code), check.as_str());
        }
        assert_eq!(name(0), "");
        assert_eq!(name(99), "unknown");
        assert_eq!(name(-1), "unknown");

        set(Failure::from(Error::InvalidToken {
            check: TokenCheck::Nonce,
            detail: "nonce does not match".into(),
        }));
        let mut code = tk_token_check::None;
        assert_eq!(
            unsafe { tk_last_error_token_check_code(&mut code) },
            tk_status::Ok
        );
        assert_eq!(code, tk_token_check::Nonce);
        clear();
        assert_eq!(
            unsafe { tk_last_error_token_check_code(&mut code) },
            tk_status::Ok
        );
        assert_eq!(code, tk_token_check::None);
    }

    #[test]
    fn the_last_error_is_per_thread_and_survives_its_accessors() {
        set(Failure::from(Error::InvalidToken {
            check: TokenCheck::Expired,
            detail: "exp is in the past".into(),
        }));
        assert_eq!(tk_last_error_status(), tk_status::InvalidToken);
        let mut buf = [0 as c_char; 4];
        let mut n = 0usize;
        let s = unsafe { tk_last_error_token_check(buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(s, tk_status::BufferTooSmall);
        assert_eq!(n, "expired".len() + 1);
        assert_eq!(tk_last_error_status(), tk_status::InvalidToken);
        let other = std::thread::spawn(|| tk_last_error_status())
            .join()
            .unwrap();
        assert_eq!(other, tk_status::Ok);
        tk_last_error_clear();
        assert_eq!(tk_last_error_status(), tk_status::Ok);
    }
}
