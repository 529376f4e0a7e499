//! `tk_client`: client-credentials tokens through the process-wide cache, blocking calls on the
//! core's shared runtime.

use std::ffi::c_char;

use tk_core::{TokenClient, TokenRequest};

use crate::boundary::{arg, call, call_void, opt_str_arg, out_ptr, write_str};
use crate::config::tk_config;
use crate::error::Failure;
use crate::status::tk_status;
use crate::token::tk_token;

/// A token client (opaque). Thread-safe: one client may be used by any number of threads at
/// once. Tokens are cached per process and shared by every client with the same key material.
/// Free with `tk_client_free` once no thread uses it.
pub struct tk_client {
    inner: TokenClient,
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
}

/// Builds a client from a config (copied: the config may be freed or changed afterwards).
/// Anything unusable in the config is `TK_STATUS_CONFIG`. On success `*out` is a new client.
#[no_mangle]
pub unsafe extern "C" fn tk_client_new(
    config: *const tk_config,
    out: *mut *mut tk_client,
) -> tk_status {
    const F: &str = "tk_client_new";
    call(F, || {
        let config = unsafe { arg(F, config, "config") }?;
        let out = out_ptr(F, out, "out")?;
        let inner = TokenClient::new(config.build())?;
        unsafe { out.write(Box::into_raw(Box::new(tk_client { inner }))) };
        Ok(())
    })
}

/// Frees a client. NULL is ignored. Tokens obtained from it stay valid until freed.
#[no_mangle]
pub unsafe extern "C" fn tk_client_free(client: *mut tk_client) {
    call_void(|| {
        if !client.is_null() {
            drop(unsafe { Box::from_raw(client) });
        }
    })
}

/// The request for `audience` (NULL: the configured default audience), `scope` (space
/// separated, any order; NULL or `""` for none) and `organization` (name or `org_…` id; NULL
/// for none).
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
    let mut req = match audience {
        Some(a) => TokenRequest::new(a),
        None => client.inner.default_request()?,
    };
    if let Some(s) = scope {
        req = req.scope(s);
    }
    if let Some(o) = organization {
        req = req.organization(o);
    }
    Ok(req)
}

/// A token for `audience`, `scope` and `organization`: from the cache when fresh, otherwise
/// from the token endpoint. Blocks the calling thread; concurrent callers for the same key
/// share one request. `audience` NULL means the configured default audience; `scope` (space
/// separated, any order) and `organization` (name or `org_...` id) may be NULL. On success
/// `*out` is a new token handle (free it with `tk_token_free`); on failure `tk_last_error_*`
/// has the details.
#[no_mangle]
pub unsafe extern "C" fn tk_client_get_token(
    client: *const tk_client,
    audience: *const c_char,
    scope: *const c_char,
    organization: *const c_char,
    out: *mut *mut tk_token,
) -> tk_status {
    const F: &str = "tk_client_get_token";
    call(F, || {
        let client = unsafe { arg(F, client, "client") }?;
        let req = unsafe { request(F, client, audience, scope, organization) }?;
        let out = out_ptr(F, out, "out")?;
        let token = client.inner.get_token_blocking(&req)?;
        unsafe { out.write(tk_token::new_raw(token)) };
        Ok(())
    })
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
    call(F, || {
        let client = unsafe { arg(F, client, "client") }?;
        let req = unsafe { request(F, client, audience, scope, organization) }?;
        let out = out_ptr(F, out, "out")?;
        let token = client.inner.cached(&req);
        unsafe { out.write(token.map_or(std::ptr::null_mut(), tk_token::new_raw)) };
        Ok(())
    })
}

/// Forgets the cached token for the request (after an API rejected it, say), for every client
/// of the process that shares it. The next `tk_client_get_token` fetches a new one.
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

/// A snapshot of the client's counters. Pass `sizeof(tk_stats)` as `out_size`: fields may be
/// appended to `tk_stats` in later versions, and the library writes only the first `out_size`
/// bytes (at least the four fields of version 0.1, else `TK_STATUS_BUFFER_TOO_SMALL`).
#[no_mangle]
pub unsafe extern "C" fn tk_client_stats(
    client: *const tk_client,
    out: *mut tk_stats,
    out_size: usize,
) -> tk_status {
    const F: &str = "tk_client_stats";
    /// The size of the first version of `tk_stats`; older callers pass no less.
    const MIN_SIZE: usize = 4 * std::mem::size_of::<u64>();
    call(F, || {
        let client = unsafe { arg(F, client, "client") }?;
        let out = out_ptr(F, out, "out")?;
        if out_size < MIN_SIZE {
            return Err(Failure::buffer(F, out_size, MIN_SIZE));
        }
        let s = client.inner.stats();
        let stats = tk_stats {
            tokens_minted: s.tokens_minted,
            cache_hits: s.cache_hits,
            refreshes: s.refreshes,
            errors: s.errors,
        };
        let n = out_size.min(std::mem::size_of::<tk_stats>());
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&stats as *const tk_stats).cast::<u8>(),
                out.cast::<u8>(),
                n,
            )
        };
        Ok(())
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
    const F: &str = "tk_client_issuer";
    call(F, || {
        let client = unsafe { arg(F, client, "client") }?;
        unsafe { write_str(F, client.inner.issuer(), buf, len, out_len) }
    })
}
