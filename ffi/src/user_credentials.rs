//! A signed-in user's credentials (`tk_user_credentials`): an immutable handle, its getters
//! and its JSON.

use std::borrow::Cow;
use std::ffi::c_char;
use std::time::Duration;

use tk_core::UserCredentials;

use crate::boundary::{free_handle, get, get_str, make, new_handle, str_arg};
use crate::claims::tk_claims;
use crate::status::tk_status;

/// A signed-in user's tokens (opaque, immutable, thread-safe): access token, token type,
/// expiry, scope, refresh token, ID token. No token ever appears in a message; the library's
/// copies are wiped when freed. Free with `tk_user_credentials_free`.
pub struct tk_user_credentials {
    pub(crate) inner: UserCredentials,
}

impl tk_user_credentials {
    pub(crate) fn new_raw(inner: UserCredentials) -> *mut tk_user_credentials {
        new_handle(tk_user_credentials { inner })
    }
}

/// Frees user credentials. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_free(credentials: *mut tk_user_credentials) {
    unsafe { free_handle(credentials) }
}

/// A string of the credentials (`get_str` on the core's `UserCredentials`).
unsafe fn creds_str(
    func: &'static str,
    credentials: *const tk_user_credentials,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    get: impl FnOnce(&UserCredentials) -> Cow<'_, str>,
) -> tk_status {
    unsafe {
        get_str(func, credentials, "credentials", buf, len, out_len, |c| {
            Ok(get(&c.inner))
        })
    }
}

/// A value of the credentials (`get` on the core's `UserCredentials`).
unsafe fn creds_value<V>(
    func: &'static str,
    credentials: *const tk_user_credentials,
    out: *mut V,
    read: impl FnOnce(&UserCredentials) -> V,
) -> tk_status {
    unsafe {
        get(func, credentials, "credentials", out, |c| {
            Ok(read(&c.inner))
        })
    }
}

/// The access token, copied into `buf` (`len` bytes) with its NUL; `*out_len` receives the
/// length needed, NUL included, also with `TK_STATUS_BUFFER_TOO_SMALL` (then `buf` is left
/// untouched; `buf` may be NULL with `len` 0 to ask for the length). Wipe the buffer after use.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_access_token(
    credentials: *const tk_user_credentials,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_user_credentials_access_token";
    unsafe {
        creds_str(f, credentials, buf, len, out_len, |c| {
            (&*c.access_token).into()
        })
    }
}

/// The token type (`"Bearer"`). Buffer rules as `tk_user_credentials_access_token`.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_token_type(
    credentials: *const tk_user_credentials,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_user_credentials_token_type";
    unsafe {
        creds_str(f, credentials, buf, len, out_len, |c| {
            (&*c.token_type).into()
        })
    }
}

/// The granted scopes, space separated, `""` when the server named none. Buffer rules as
/// `tk_user_credentials_access_token`.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_scope(
    credentials: *const tk_user_credentials,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_user_credentials_scope";
    unsafe {
        creds_str(f, credentials, buf, len, out_len, |c| {
            c.scope.as_deref().unwrap_or("").into()
        })
    }
}

/// The refresh token, `""` when there is none (`tk_user_credentials_has_refresh_token`).
/// Buffer rules as `tk_user_credentials_access_token`.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_refresh_token(
    credentials: *const tk_user_credentials,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_user_credentials_refresh_token";
    unsafe {
        creds_str(f, credentials, buf, len, out_len, |c| {
            c.refresh_token.as_deref().unwrap_or("").into()
        })
    }
}

/// The ID token (a JWT, verified when it was received), `""` when there is none
/// (`tk_user_credentials_has_id_token`). Buffer rules as `tk_user_credentials_access_token`.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_id_token(
    credentials: *const tk_user_credentials,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_user_credentials_id_token";
    unsafe {
        creds_str(f, credentials, buf, len, out_len, |c| {
            c.id_token.as_deref().unwrap_or("").into()
        })
    }
}

/// `"Bearer <access token>"`, ready for an `Authorization` header. Buffer rules as
/// `tk_user_credentials_access_token`.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_authorization_header(
    credentials: *const tk_user_credentials,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_user_credentials_authorization_header";
    unsafe {
        creds_str(f, credentials, buf, len, out_len, |c| {
            c.authorization_header().into()
        })
    }
}

/// When the access token expires, in seconds since the Unix epoch.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_expires_at(
    credentials: *const tk_user_credentials,
    out: *mut u64,
) -> tk_status {
    let f = "tk_user_credentials_expires_at";
    unsafe { creds_value(f, credentials, out, |c| c.expires_at) }
}

/// Whether the access token has at least `min_ttl_secs` seconds left.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_is_valid_for(
    credentials: *const tk_user_credentials,
    min_ttl_secs: u64,
    out: *mut bool,
) -> tk_status {
    let f = "tk_user_credentials_is_valid_for";
    let ttl = Duration::from_secs(min_ttl_secs);
    unsafe { creds_value(f, credentials, out, |c| c.is_valid_for(ttl)) }
}

/// Whether the credentials hold a refresh token (asked with `offline_access`).
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_has_refresh_token(
    credentials: *const tk_user_credentials,
    out: *mut bool,
) -> tk_status {
    let f = "tk_user_credentials_has_refresh_token";
    unsafe { creds_value(f, credentials, out, |c| c.refresh_token.is_some()) }
}

/// Whether the credentials hold an ID token.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_has_id_token(
    credentials: *const tk_user_credentials,
    out: *mut bool,
) -> tk_status {
    let f = "tk_user_credentials_has_id_token";
    unsafe { creds_value(f, credentials, out, |c| c.id_token.is_some()) }
}

/// The ID token's claims (the user's `sub`, `email`, `name`…), decoded without verifying it
/// again (it was verified when received). `*out` is a new claims handle, or NULL when there is
/// no ID token (still `TK_STATUS_OK`).
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_id_token_claims(
    credentials: *const tk_user_credentials,
    out: *mut *mut tk_claims,
) -> tk_status {
    let f = "tk_user_credentials_id_token_claims";
    unsafe {
        creds_value(f, credentials, out, |c| {
            c.id_token_claims()
                .map_or(std::ptr::null_mut(), tk_claims::new_raw)
        })
    }
}

/// The credentials as JSON (what `tk_credentials_store.save` receives; restore with
/// `tk_user_credentials_from_json`). It holds every token: store it like a secret and wipe the
/// buffer after use. Buffer rules as `tk_user_credentials_access_token`.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_to_json(
    credentials: *const tk_user_credentials,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_user_credentials_to_json";
    unsafe { creds_str(f, credentials, buf, len, out_len, |c| c.to_json().into()) }
}

/// Credentials from the JSON of `tk_user_credentials_to_json`. Anything else is
/// `TK_STATUS_CONFIG`. On success `*out` is new user credentials.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_from_json(
    json: *const c_char,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_user_credentials_from_json";
    unsafe {
        make(F, out, || {
            let inner = UserCredentials::from_json(str_arg(F, json, "json")?)?;
            Ok(tk_user_credentials { inner })
        })
    }
}
