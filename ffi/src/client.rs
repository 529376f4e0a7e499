//! `tk_client`: client-credentials tokens through the process-wide cache, blocking calls on the
//! core's shared runtime.

use std::ffi::c_char;

use tk_core::{TokenClient, TokenRequest};

use crate::boundary::{arg, call, free_handle, get, get_str, new_handle, opt_str_arg, write_sized};
use crate::config::tk_config;
use crate::failure::Failure;
use crate::status::tk_status;
use crate::token::tk_token;

/// A token client (opaque). Thread-safe: one client may be used by any number of threads at
/// once. Tokens are cached per process and shared by every client with the same key material.
/// Free with `tk_client_free` once no thread uses it.
pub struct tk_client {
    inner: TokenClient,
}

impl tk_client {
    pub(crate) fn core(&self) -> &TokenClient {
        &self.inner
    }
}

/// A client's counters (`tk_client_stats`). Fields are only ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tk_stats {
    /// Tokens received from the token endpoint on behalf of this client.
    pub tokens_minted: u64,
    /// Calls answered from the cache without waiting for the network.
    pub cache_hits: u64,
    /// Background refreshes started ahead of expiry.
    pub refreshes: u64,
    /// Failed fetches (each counted once, however many callers waited for it).
    pub errors: u64,
    /// Tokens taken from the shared cache level (`tk_config_set_shared_cache`): fetched by
    /// another process or client. Appended after the four fields of 0.1.0: a program built
    /// with an older header passes its smaller size and gets only the fields it knows.
    pub shared_hits: u64,
    /// Failures of the shared cache level (unusable directory, unreadable or unwritable
    /// entry…); each time the client fetched on its own. Appended, as `shared_hits`.
    pub shared_errors: u64,
}

/// Builds a client from a config (copied: the config may be freed or changed afterwards).
/// Anything unusable in the config is `TK_STATUS_CONFIG`. On success `*out` is a new client.
#[no_mangle]
pub unsafe extern "C" fn tk_client_new(
    config: *const tk_config,
    out: *mut *mut tk_client,
) -> tk_status {
    unsafe {
        get("tk_client_new", config, "config", out, |c| {
            let inner = TokenClient::new(c.client_config())?;
            Ok(new_handle(tk_client { inner }))
        })
    }
}

/// Frees a client. NULL is ignored. Tokens obtained from it stay valid until freed.
#[no_mangle]
pub unsafe extern "C" fn tk_client_free(client: *mut tk_client) {
    unsafe { free_handle(client) }
}

/// The core's request for `audience` (NULL or `""`: the configured default audience, else
/// `TK_STATUS_CONFIG`), `scope` (space separated, any order; NULL or `""` for none) and
/// `organization` (name or `org_…` id; NULL for none).
unsafe fn request(
    func: &str,
    client: &tk_client,
    audience: *const c_char,
    scope: *const c_char,
    organization: *const c_char,
) -> Result<TokenRequest, Failure> {
    let audience = unsafe { opt_str_arg(func, audience, "audience") }?;
    let scope = unsafe { opt_str_arg(func, scope, "scope") }?;
    let organization = unsafe { opt_str_arg(func, organization, "organization") }?;
    Ok(client.inner.request(audience, scope, organization)?)
}

/// A token for `audience`, `scope` and `organization`: from the cache when fresh, otherwise
/// from the token endpoint. Blocks the calling thread; concurrent callers for the same key
/// share one request. `audience` NULL (or `""`) means the configured default audience (none
/// configured: `TK_STATUS_CONFIG`); `scope` (space separated, any order) and `organization`
/// (name or `org_...` id) may be NULL. On success `*out` is a new token handle (free it with
/// `tk_token_free`); on failure `tk_last_error_*` has the details.
#[no_mangle]
pub unsafe extern "C" fn tk_client_get_token(
    client: *const tk_client,
    audience: *const c_char,
    scope: *const c_char,
    organization: *const c_char,
    out: *mut *mut tk_token,
) -> tk_status {
    const F: &str = "tk_client_get_token";
    unsafe {
        get(F, client, "client", out, |c| {
            let req = request(F, c, audience, scope, organization)?;
            Ok(tk_token::new_raw(c.inner.get_token_blocking(&req)?))
        })
    }
}

/// The cached token for the request if one can be served now, without any network: `*out` is
/// a new token handle, or NULL when there is none (still `TK_STATUS_OK`).
#[no_mangle]
pub unsafe extern "C" fn tk_client_cached_token(
    client: *const tk_client,
    audience: *const c_char,
    scope: *const c_char,
    organization: *const c_char,
    out: *mut *mut tk_token,
) -> tk_status {
    const F: &str = "tk_client_cached_token";
    unsafe {
        get(F, client, "client", out, |c| {
            let req = request(F, c, audience, scope, organization)?;
            let token = c.inner.cached(&req);
            Ok(token.map_or(std::ptr::null_mut(), tk_token::new_raw))
        })
    }
}

/// Forgets the cached token for the request (after an API rejected it, say), for every client
/// of the process that shares it, and its entry in the shared cache level if one is set. The
/// next `tk_client_get_token` fetches a new one.
#[no_mangle]
pub unsafe extern "C" fn tk_client_invalidate(
    client: *const tk_client,
    audience: *const c_char,
    scope: *const c_char,
    organization: *const c_char,
) -> tk_status {
    const F: &str = "tk_client_invalidate";
    call(F, || {
        let client = unsafe { arg(F, client, "client") }?;
        let req = unsafe { request(F, client, audience, scope, organization) }?;
        client.inner.invalidate(&req);
        Ok(())
    })
}

/// Forgets the cached token for the request only if it is still `token` (the one an API
/// rejected): `*out_dropped` is true when it was dropped, false when the cache holds another
/// token by now (another thread renewed it meanwhile: use that one) or none. So a retry after
/// a 401 never throws away a token that is newer than the one rejected. The shared cache
/// level's entry is forgotten only if it holds `token`. The request's parts as
/// `tk_client_invalidate`.
#[no_mangle]
pub unsafe extern "C" fn tk_client_invalidate_if_current(
    client: *const tk_client,
    audience: *const c_char,
    scope: *const c_char,
    organization: *const c_char,
    token: *const tk_token,
    out_dropped: *mut bool,
) -> tk_status {
    const F: &str = "tk_client_invalidate_if_current";
    unsafe {
        get(F, client, "client", out_dropped, |c| {
            let token = arg(F, token, "token")?;
            let req = request(F, c, audience, scope, organization)?;
            Ok(c.inner.invalidate_if_current(&req, token.inner()))
        })
    }
}

/// A snapshot of the client's counters. Pass `sizeof(tk_stats)` as `out_size`: fields may be
/// appended to `tk_stats` in later versions, and the library writes only the first `out_size`
/// bytes (at least the four fields of version 0.1, else `TK_STATUS_BUFFER_TOO_SMALL`), so a
/// program built with an older header gets the fields it knows and nothing past its struct.
#[no_mangle]
pub unsafe extern "C" fn tk_client_stats(
    client: *const tk_client,
    out: *mut tk_stats,
    out_size: usize,
) -> tk_status {
    const F: &str = "tk_client_stats";
    call(F, || {
        let s = unsafe { arg(F, client, "client") }?.inner.stats();
        let stats = tk_stats {
            tokens_minted: s.tokens_minted,
            cache_hits: s.cache_hits,
            refreshes: s.refreshes,
            errors: s.errors,
            shared_hits: s.shared_hits,
            shared_errors: s.shared_errors,
        };
        unsafe { write_sized(F, out, out_size, 4 * size_of::<u64>(), stats) }
    })
}

/// The issuer, `https://{domain}/` (the `iss` of the tokens), copied into `buf` with its NUL;
/// `*out_len` receives the length needed, NUL included, also with
/// `TK_STATUS_BUFFER_TOO_SMALL` (then `buf` is left untouched).
#[no_mangle]
pub unsafe extern "C" fn tk_client_issuer(
    client: *const tk_client,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_client_issuer";
    unsafe {
        get_str(f, client, "client", buf, len, out_len, |c| {
            Ok(c.inner.issuer().into())
        })
    }
}
