//! `tk_token`: an access token handle, read by copying into the caller's buffers.

use std::ffi::c_char;

use tk_core::Token;

use crate::boundary::{arg, free_handle, get, get_str, new_handle};
use crate::status::tk_status;

/// An access token (opaque, immutable, thread-safe). Its text never appears in any message.
/// Free with `tk_token_free`.
pub struct tk_token {
    inner: Token,
}

impl tk_token {
    pub(crate) fn new_raw(inner: Token) -> *mut tk_token {
        new_handle(tk_token { inner })
    }

    pub(crate) fn inner(&self) -> &Token {
        &self.inner
    }
}

/// Frees a token handle. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tk_token_free(token: *mut tk_token) {
    unsafe { free_handle(token) }
}

/// The access token (a JWT for Auth0 APIs), copied into `buf` (`len` bytes) with its NUL.
/// `*out_len` receives the length needed, NUL included, on success and with
/// `TK_STATUS_BUFFER_TOO_SMALL`, in which case `buf` is left untouched. `buf` may be NULL
/// with `len` 0 to ask for the length. Wipe the buffer when done with it.
#[no_mangle]
pub unsafe extern "C" fn tk_token_access_token(
    token: *const tk_token,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_token_access_token";
    unsafe {
        get_str(f, token, "token", buf, len, out_len, |t| {
            Ok(t.inner.access_token().into())
        })
    }
}

/// `"Bearer <access token>"`, ready for an `Authorization` header. Buffer rules as
/// `tk_token_access_token`.
#[no_mangle]
pub unsafe extern "C" fn tk_token_authorization_header(
    token: *const tk_token,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_token_authorization_header";
    unsafe {
        get_str(f, token, "token", buf, len, out_len, |t| {
            Ok(t.inner.authorization_header().into())
        })
    }
}

/// The token type as the server spelled it (`"Bearer"`). Buffer rules as
/// `tk_token_access_token`.
#[no_mangle]
pub unsafe extern "C" fn tk_token_type(
    token: *const tk_token,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_token_type";
    unsafe {
        get_str(f, token, "token", buf, len, out_len, |t| {
            Ok(t.inner.token_type().into())
        })
    }
}

/// The granted scopes, space separated and sorted, `""` when the server named none. Buffer
/// rules as `tk_token_access_token`.
#[no_mangle]
pub unsafe extern "C" fn tk_token_scope(
    token: *const tk_token,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_token_scope";
    unsafe {
        get_str(f, token, "token", buf, len, out_len, |t| {
            Ok(t.inner.scope().unwrap_or_default().into())
        })
    }
}

/// The lifetime the server granted, in seconds.
#[no_mangle]
pub unsafe extern "C" fn tk_token_expires_in(token: *const tk_token, out: *mut u64) -> tk_status {
    unsafe {
        get("tk_token_expires_in", token, "token", out, |t| {
            Ok(t.inner.expires_in())
        })
    }
}

/// When the token expires, in seconds since the Unix epoch (measured from when the request was
/// sent, so never late).
#[no_mangle]
pub unsafe extern "C" fn tk_token_expires_at(token: *const tk_token, out: *mut f64) -> tk_status {
    unsafe {
        get("tk_token_expires_at", token, "token", out, |t| {
            Ok(t.inner.expires_at_unix())
        })
    }
}

/// Time left before expiry in milliseconds (0 once expired).
#[no_mangle]
pub unsafe extern "C" fn tk_token_remaining_ms(token: *const tk_token, out: *mut u64) -> tk_status {
    unsafe {
        get("tk_token_remaining_ms", token, "token", out, |t| {
            Ok(u64::try_from(t.inner.remaining().as_millis()).unwrap_or(u64::MAX))
        })
    }
}

/// `*out` is true when both handles hold the same fetched token (one request, served twice).
#[no_mangle]
pub unsafe extern "C" fn tk_token_same(
    a: *const tk_token,
    b: *const tk_token,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_token_same";
    unsafe {
        get(F, a, "a", out, |a| {
            Ok(a.inner.ptr_eq(&arg(F, b, "b")?.inner))
        })
    }
}
