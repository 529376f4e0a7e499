//! What C reads of the calling thread's last error (`tk_last_error_*`), and the checks that
//! reject a token (`tk_token_check`).

use std::ffi::{c_char, c_int, CString};
use std::sync::LazyLock;

use tk_core::TokenCheck;

use crate::boundary::{out_ptr, quiet, write_str};
use crate::failure::Failure;
use crate::last_error::{clear, with_last};
use crate::status::tk_status;

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

/// Every `tk_token_check` at the index of its number.
const BY_CODE: [tk_token_check; 16] = {
    use tk_token_check::*;
    [
        None,
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
        TokenType,
    ]
};

/// By the core's stable number of the check (`TokenCheck::code`).
impl From<TokenCheck> for tk_token_check {
    fn from(c: TokenCheck) -> Self {
        BY_CODE[usize::from(c.code())]
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
    use crate::last_error::set;
    use tk_core::Error;

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
            assert_eq!(code, c_int::from(check.code()), "the core's number");
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
