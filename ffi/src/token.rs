//! `tk_token`: an access token handle, read by copying into the caller's buffers.

use std::ffi::c_char;

use tk_core::Token;
use zeroize::Zeroize;

use crate::boundary::{arg, call, call_void, out_ptr, write_str};
use crate::status::tk_status;

/// An access token (opaque, immutable, thread-safe). Its text never appears in any message.
/// Free with `tk_token_free`.
pub struct tk_token {
    inner: Token,
}

impl tk_token {
    pub(crate) fn new_raw(inner: Token) -> *mut tk_token {
        Box::into_raw(Box::new(tk_token { inner }))
    }
}

/// Frees a token handle. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tk_token_free(token: *mut tk_token) {
    call_void(|| {
        if !token.is_null() {
            drop(unsafe { Box::from_raw(token) });
        }
    })
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
    const F: &str = "tk_token_access_token";
    call(F, || {
        let token = unsafe { arg(F, token, "token") }?;
        unsafe { write_str(F, token.inner.access_token(), buf, len, out_len) }
    })
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
    const F: &str = "tk_token_authorization_header";
    call(F, || {
        let token = unsafe { arg(F, token, "token") }?;
        let mut header = token.inner.authorization_header();
        let r = unsafe { write_str(F, &header, buf, len, out_len) };
        header.zeroize();
        r
    })
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
    const F: &str = "tk_token_type";
    call(F, || {
        let token = unsafe { arg(F, token, "token") }?;
        unsafe { write_str(F, token.inner.token_type(), buf, len, out_len) }
    })
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
    const F: &str = "tk_token_scope";
    call(F, || {
        let token = unsafe { arg(F, token, "token") }?;
        let scope = token.inner.scope().unwrap_or_default();
        unsafe { write_str(F, scope, buf, len, out_len) }
    })
}

/// The lifetime the server granted, in seconds.
#[no_mangle]
pub unsafe extern "C" fn tk_token_expires_in(token: *const tk_token, out: *mut u64) -> tk_status {
    const F: &str = "tk_token_expires_in";
    call(F, || {
        let token = unsafe { arg(F, token, "token") }?;
        let out = out_ptr(F, out, "out")?;
        unsafe { out.write(token.inner.expires_in()) };
        Ok(())
    })
}

/// When the token expires, in seconds since the Unix epoch (measured from when the request was
/// sent, so never late).
#[no_mangle]
pub unsafe extern "C" fn tk_token_expires_at(token: *const tk_token, out: *mut f64) -> tk_status {
    const F: &str = "tk_token_expires_at";
    call(F, || {
        let token = unsafe { arg(F, token, "token") }?;
        let out = out_ptr(F, out, "out")?;
        unsafe { out.write(token.inner.expires_at_unix()) };
        Ok(())
    })
}

/// Time left before expiry in milliseconds (0 once expired).
#[no_mangle]
pub unsafe extern "C" fn tk_token_remaining_ms(token: *const tk_token, out: *mut u64) -> tk_status {
    const F: &str = "tk_token_remaining_ms";
    call(F, || {
        let token = unsafe { arg(F, token, "token") }?;
        let out = out_ptr(F, out, "out")?;
        let ms = u64::try_from(token.inner.remaining().as_millis()).unwrap_or(u64::MAX);
        unsafe { out.write(ms) };
        Ok(())
    })
}

/// `*out` is true when both handles hold the same fetched token (one request, served twice).
#[no_mangle]
pub unsafe extern "C" fn tk_token_same(
    a: *const tk_token,
    b: *const tk_token,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_token_same";
    call(F, || {
        let a = unsafe { arg(F, a, "a") }?;
        let b = unsafe { arg(F, b, "b") }?;
        let out = out_ptr(F, out, "out")?;
        unsafe { out.write(a.inner.ptr_eq(&b.inner)) };
        Ok(())
    })
}
