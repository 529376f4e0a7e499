//! The one conversion from the core's `Error` (and the binding's own failures) to a status and
//! its details, and the calling thread's last error (`tk_last_error_*`).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::sync::LazyLock;
use std::time::Duration;

use tk_core::{Error, TokenCheck};

use crate::boundary::{out_ptr, quiet, write_str};
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
        f.status = match e {
            Error::OAuth {
                error,
                description,
                status,
            } => {
                (f.oauth_error, f.description) = (Some(error), description);
                f.http_status = Some(status);
                tk_status::Oauth
            }
            Error::RateLimited {
                retry_after,
                description,
            } => {
                (f.retry_after, f.description) = (retry_after, description);
                // The variant is HTTP 429 by definition (it carries no status of its own).
                f.http_status = Some(429);
                tk_status::RateLimited
            }
            Error::Network(_) => tk_status::Network,
            Error::Timeout(_) => tk_status::Timeout,
            Error::InvalidResponse { status, .. } => {
                f.http_status = status;
                tk_status::InvalidResponse
            }
            Error::Config(_) => tk_status::Config,
            Error::InvalidToken { check, .. } => {
                f.token_check = Some(check);
                tk_status::InvalidToken
            }
            Error::ReauthenticationRequired { error, description } => {
                (f.oauth_error, f.description) = (Some(error), description);
                tk_status::ReauthenticationRequired
            }
            Error::Storage { .. } => tk_status::Storage,
        };
        f
    }
}

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
    /// The header's `typ` does not fit the kind of token expected (`at+jwt` or `JWT` for an
    /// access token, `JWT` for an ID token), or an ID token (it has a `nonce`, `at_hash` or
    /// `c_hash`) was verified as an access token.
    TokenType = 15,
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
            TokenCheck::TokenType => Self::TokenType,
        }
    }
}

/// The core's name of a check (`"expired"`, `"audience"`…: the same as
/// `tk_last_error_token_check` and every other surface), `""` for `TK_TOKEN_CHECK_NONE`,
/// `"unknown"` for a value that is none. A static string; never free it.
#[no_mangle]
pub extern "C" fn tk_token_check_str(check: c_int) -> *const c_char {
    // NUL-terminated copies of the core's names, by code, built once.
    static NAMES: LazyLock<Vec<(c_int, CString)>> = LazyLock::new(|| {
        let name = |c: TokenCheck| CString::new(c.as_str()).expect("no NUL in a name");
        let all = TokenCheck::ALL.into_iter();
        all.map(|c| (tk_token_check::from(c) as c_int, name(c)))
            .collect()
    });
    let found = std::panic::catch_unwind(|| match check {
        0 => Some(c"".as_ptr()),
        _ => NAMES
            .iter()
            .find(|(v, _)| *v == check)
            .map(|(_, n)| n.as_ptr()),
    });
    found.ok().flatten().unwrap_or(c"unknown".as_ptr())
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

/// A string of the last error (`""` when there is none), copied as by `write_str`.
unsafe fn last_str(
    func: &str,
    get: impl FnOnce(&Failure) -> Option<&str>,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    quiet(|| {
        let s = with_last(|l| l.and_then(get).unwrap_or_default().to_string());
        unsafe { write_str(func, &s, buf, len, out_len) }
    })
}

/// A value of the last error (`get(None)` when there is none), written to `*out`.
unsafe fn last_value<V>(
    func: &str,
    out: *mut V,
    get: impl FnOnce(Option<&Failure>) -> V,
) -> tk_status {
    quiet(|| {
        let out = out_ptr(func, out, "out")?;
        unsafe { out.write(with_last(get)) };
        Ok(())
    })
}

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
    let f = "tk_last_error_message";
    unsafe { last_str(f, |l| Some(&l.message), buf, len, out_len) }
}

/// The core's name of the kind of the last error (`"oauth"`, `"config"`, `"storage"`…: the same
/// on every surface, one per core status), `""` for the binding's own failures
/// (`TK_STATUS_NULL_PARAMETER`…) and when there is none. Buffer rules as
/// `tk_last_error_message`.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_kind(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    unsafe { last_str("tk_last_error_kind", |l| Some(l.kind), buf, len, out_len) }
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
    let f = "tk_last_error_oauth_error";
    unsafe { last_str(f, |l| l.oauth_error.as_deref(), buf, len, out_len) }
}

/// The server's `error_description` of the last error, `""` when it gave none. Buffer rules as
/// `tk_last_error_message`.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_description(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_last_error_description";
    unsafe { last_str(f, |l| l.description.as_deref(), buf, len, out_len) }
}

/// For `TK_STATUS_INVALID_TOKEN`, the name of the check that failed (`"signature"`,
/// `"audience"`, `"expired"`…), otherwise `""`. Buffer rules as `tk_last_error_message`.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_token_check(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_last_error_token_check";
    unsafe {
        last_str(
            f,
            |l| l.token_check.map(TokenCheck::as_str),
            buf,
            len,
            out_len,
        )
    }
}

/// For `TK_STATUS_INVALID_TOKEN`, the check that failed as a `tk_token_check`, otherwise
/// `TK_TOKEN_CHECK_NONE`.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_token_check_code(out: *mut tk_token_check) -> tk_status {
    unsafe {
        last_value("tk_last_error_token_check_code", out, |l| {
            l.and_then(|l| l.token_check)
                .map_or(tk_token_check::None, tk_token_check::from)
        })
    }
}

/// The HTTP status of the last error's response (401, 403, 429, 200 for an unusable 200…),
/// 0 when there was no response.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_http_status(out: *mut u16) -> tk_status {
    let f = "tk_last_error_http_status";
    unsafe { last_value(f, out, |l| l.and_then(|l| l.http_status).unwrap_or(0)) }
}

/// For `TK_STATUS_RATE_LIMITED`, how long to wait before trying again, in milliseconds (from
/// `Retry-After` or `X-RateLimit-Reset`); -1 when the server did not say or for other errors.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_retry_after_ms(out: *mut i64) -> tk_status {
    unsafe {
        last_value("tk_last_error_retry_after_ms", out, |l| {
            l.and_then(|l| l.retry_after)
                .map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        })
    }
}

/// Whether the same call may succeed later without any change (rate limit, network, timeout,
/// 5xx): the core's judgement. False when there is no last error.
#[no_mangle]
pub unsafe extern "C" fn tk_last_error_is_transient(out: *mut bool) -> tk_status {
    let f = "tk_last_error_is_transient";
    unsafe { last_value(f, out, |l| l.is_some_and(|l| l.transient)) }
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

    #[test]
    fn every_check_has_a_code_and_the_core_name() {
        use std::ffi::CStr;
        let name = |c: c_int| {
            unsafe { CStr::from_ptr(tk_token_check_str(c)) }
                .to_str()
                .unwrap()
        };
        // The codes are pinned by the committed header; each names the core's check.
        let mut codes: Vec<c_int> = TokenCheck::ALL
            .iter()
            .map(|&c| tk_token_check::from(c) as c_int)
            .collect();
        for (&check, &code) in TokenCheck::ALL.iter().zip(&codes) {
            assert_eq!(name(code), check.as_str());
        }
        codes.sort();
        assert_eq!(codes, (1..=15).collect::<Vec<_>>());
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
