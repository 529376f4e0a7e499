//! `tk_request`: the core's prepared request, the C hit path (no strings read, no request built
//! per call).

use std::ffi::c_char;

use tk_core::PreparedRequest;

use crate::boundary::{arg, call, free_handle, get, new_handle, opt_str_arg, write_str};
use crate::client::tk_client;
use crate::status::tk_status;
use crate::token::tk_token;

/// A prepared request (opaque): one request of one client, checked and normalised once
/// (`tk_client_prepare`). The cheapest way to ask for the same token again and again: a cache
/// hit reads no argument and builds nothing. Thread-safe; it keeps what it needs of its client
/// (the client may be freed first). Free with `tk_request_free`.
pub struct tk_request {
    inner: PreparedRequest,
}

/// Prepares the request of `audience`, `scope` and `organization`, as `tk_client_get_token`
/// reads them (`audience` NULL or `""`: the configured default audience, none configured:
/// `TK_STATUS_CONFIG`). On success `*out` is a new request handle.
#[no_mangle]
pub unsafe extern "C" fn tk_client_prepare(
    client: *const tk_client,
    audience: *const c_char,
    scope: *const c_char,
    organization: *const c_char,
    out: *mut *mut tk_request,
) -> tk_status {
    const F: &str = "tk_client_prepare";
    unsafe {
        get(F, client, "client", out, |c| {
            let audience = opt_str_arg(F, audience, "audience")?;
            let scope = opt_str_arg(F, scope, "scope")?;
            let organization = opt_str_arg(F, organization, "organization")?;
            let inner = c.core().prepare(audience, scope, organization)?;
            Ok(new_handle(tk_request { inner }))
        })
    }
}

/// Frees a prepared request. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tk_request_free(request: *mut tk_request) {
    unsafe { free_handle(request) }
}

/// A token for the request: from the cache when fresh, otherwise from the token endpoint, as
/// `tk_client_get_token`. On success `*out` is a new token handle (free it with
/// `tk_token_free`).
#[no_mangle]
pub unsafe extern "C" fn tk_request_get_token(
    request: *const tk_request,
    out: *mut *mut tk_token,
) -> tk_status {
    const F: &str = "tk_request_get_token";
    unsafe {
        get(F, request, "request", out, |r| {
            Ok(tk_token::new_raw(r.inner.get_token_blocking()?))
        })
    }
}

/// `"Bearer <access token>"` for the request in one call, with no token handle: the token as
/// `tk_request_get_token`'s, its header copied into `buf` with its NUL; `*out_len` receives the
/// length needed, NUL included, also with `TK_STATUS_BUFFER_TOO_SMALL` (then `buf` is left
/// untouched; call again with a larger buffer, a cache hit).
#[no_mangle]
pub unsafe extern "C" fn tk_request_authorization_header(
    request: *const tk_request,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    const F: &str = "tk_request_authorization_header";
    call(F, || {
        let r = unsafe { arg(F, request, "request") }?;
        r.inner
            .with_authorization_header(|h| unsafe { write_str(F, h, buf, len, out_len) })?
    })
}

/// Forgets the cached token of the request only if it is still `token`, as
/// `tk_client_invalidate_if_current`: `*out_dropped` says whether it was dropped.
#[no_mangle]
pub unsafe extern "C" fn tk_request_invalidate_if_current(
    request: *const tk_request,
    token: *const tk_token,
    out_dropped: *mut bool,
) -> tk_status {
    const F: &str = "tk_request_invalidate_if_current";
    unsafe {
        get(F, request, "request", out_dropped, |r| {
            let token = arg(F, token, "token")?;
            Ok(r.inner.invalidate_if_current(token.inner()))
        })
    }
}

/// The 401 rule: an API refused `rejected`. Drops it if it is still the cached token (never one
/// another thread renewed meanwhile), then `*out` is the token to retry the call with once (a
/// new handle), or NULL when the issuer serves the same token again (do not retry; still
/// `TK_STATUS_OK`).
#[no_mangle]
pub unsafe extern "C" fn tk_request_after_rejection(
    request: *const tk_request,
    rejected: *const tk_token,
    out: *mut *mut tk_token,
) -> tk_status {
    const F: &str = "tk_request_after_rejection";
    unsafe {
        get(F, request, "request", out, |r| {
            let rejected = arg(F, rejected, "rejected")?;
            let fresh = r.inner.after_rejection_blocking(rejected.inner())?;
            Ok(fresh.map_or(std::ptr::null_mut(), tk_token::new_raw))
        })
    }
}
