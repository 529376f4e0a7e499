//! A signed-in user's credentials (`tk_user_credentials`), the host's storage as C callbacks
//! (`tk_credentials_store`, adapted here to the core's `CredentialsStore`), and the credentials
//! manager that keeps them valid.
//!
//! Memory never changes hands across the boundary: `save` gets the credentials as JSON in a
//! buffer the library owns (valid during the call, wiped after it), and `load` hands JSON back
//! by calling `tk_store_sink_set`, which copies it.

use std::ffi::{c_char, c_int, c_void};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tk_core::{CredentialsManager, CredentialsStore, Error, UserCredentials};
use zeroize::{Zeroize, Zeroizing};

use crate::boundary::{
    arg, call, free_handle, new_handle, opt_str_arg, out_ptr, quiet, str_arg, write_sized,
    write_str,
};
use crate::claims::tk_claims;
use crate::error::{Failure, STORAGE_PREFIX};
use crate::signin::tk_signin_client;
use crate::status::tk_status;

// ---- user credentials -----------------------------------------------------------------------

/// A signed-in user's tokens (opaque, immutable, thread-safe): access token, token type,
/// expiry, scope, refresh token, ID token. No token ever appears in a message; the library's
/// copies are wiped when freed. Free with `tk_user_credentials_free`.
pub struct tk_user_credentials {
    inner: UserCredentials,
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

/// Copies one string of the credentials.
unsafe fn creds_str(
    func: &'static str,
    credentials: *const tk_user_credentials,
    get: impl FnOnce(&UserCredentials) -> &str,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    call(func, || {
        let c = unsafe { arg(func, credentials, "credentials") }?;
        unsafe { write_str(func, get(&c.inner), buf, len, out_len) }
    })
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
    unsafe {
        creds_str(
            "tk_user_credentials_access_token",
            credentials,
            |c| &c.access_token,
            buf,
            len,
            out_len,
        )
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
    unsafe {
        creds_str(
            "tk_user_credentials_token_type",
            credentials,
            |c| &c.token_type,
            buf,
            len,
            out_len,
        )
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
    unsafe {
        creds_str(
            "tk_user_credentials_scope",
            credentials,
            |c| c.scope.as_deref().unwrap_or(""),
            buf,
            len,
            out_len,
        )
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
    unsafe {
        creds_str(
            "tk_user_credentials_refresh_token",
            credentials,
            |c| c.refresh_token.as_deref().unwrap_or(""),
            buf,
            len,
            out_len,
        )
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
    unsafe {
        creds_str(
            "tk_user_credentials_id_token",
            credentials,
            |c| c.id_token.as_deref().unwrap_or(""),
            buf,
            len,
            out_len,
        )
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
    const F: &str = "tk_user_credentials_authorization_header";
    call(F, || {
        let c = unsafe { arg(F, credentials, "credentials") }?;
        let header = Zeroizing::new(c.inner.authorization_header());
        unsafe { write_str(F, &header, buf, len, out_len) }
    })
}

/// When the access token expires, in seconds since the Unix epoch.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_expires_at(
    credentials: *const tk_user_credentials,
    out: *mut u64,
) -> tk_status {
    const F: &str = "tk_user_credentials_expires_at";
    call(F, || {
        let c = unsafe { arg(F, credentials, "credentials") }?;
        let out = out_ptr(F, out, "out")?;
        unsafe { out.write(c.inner.expires_at) };
        Ok(())
    })
}

/// Whether the access token has at least `min_ttl_secs` seconds left.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_is_valid_for(
    credentials: *const tk_user_credentials,
    min_ttl_secs: u64,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_user_credentials_is_valid_for";
    call(F, || {
        let c = unsafe { arg(F, credentials, "credentials") }?;
        let out = out_ptr(F, out, "out")?;
        unsafe { out.write(c.inner.is_valid_for(Duration::from_secs(min_ttl_secs))) };
        Ok(())
    })
}

/// Whether the credentials hold a refresh token (asked with `offline_access`).
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_has_refresh_token(
    credentials: *const tk_user_credentials,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_user_credentials_has_refresh_token";
    call(F, || {
        let c = unsafe { arg(F, credentials, "credentials") }?;
        let out = out_ptr(F, out, "out")?;
        unsafe { out.write(c.inner.refresh_token.is_some()) };
        Ok(())
    })
}

/// Whether the credentials hold an ID token.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_has_id_token(
    credentials: *const tk_user_credentials,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_user_credentials_has_id_token";
    call(F, || {
        let c = unsafe { arg(F, credentials, "credentials") }?;
        let out = out_ptr(F, out, "out")?;
        unsafe { out.write(c.inner.id_token.is_some()) };
        Ok(())
    })
}

/// The ID token's claims (the user's `sub`, `email`, `name`…), decoded without verifying it
/// again (it was verified when received). `*out` is a new claims handle, or NULL when there is
/// no ID token (still `TK_STATUS_OK`).
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_id_token_claims(
    credentials: *const tk_user_credentials,
    out: *mut *mut tk_claims,
) -> tk_status {
    const F: &str = "tk_user_credentials_id_token_claims";
    call(F, || {
        let c = unsafe { arg(F, credentials, "credentials") }?;
        let out = out_ptr(F, out, "out")?;
        let claims = c.inner.id_token_claims();
        unsafe { out.write(claims.map_or(std::ptr::null_mut(), tk_claims::new_raw)) };
        Ok(())
    })
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
    const F: &str = "tk_user_credentials_to_json";
    call(F, || {
        let c = unsafe { arg(F, credentials, "credentials") }?;
        let json = Zeroizing::new(c.inner.to_json());
        unsafe { write_str(F, &json, buf, len, out_len) }
    })
}

/// Credentials from the JSON of `tk_user_credentials_to_json`. Anything else is
/// `TK_STATUS_CONFIG`. On success `*out` is new user credentials.
#[no_mangle]
pub unsafe extern "C" fn tk_user_credentials_from_json(
    json: *const c_char,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_user_credentials_from_json";
    call(F, || {
        let json = unsafe { str_arg(F, json, "json") }?;
        let out = out_ptr(F, out, "out")?;
        let inner = UserCredentials::from_json(json)?;
        unsafe { out.write(tk_user_credentials::new_raw(inner)) };
        Ok(())
    })
}

// ---- the host's storage ---------------------------------------------------------------------

/// Where `load` hands the stored credentials back (opaque; valid only during that call): see
/// `tk_store_sink_set`.
pub struct tk_store_sink {
    json: Option<Zeroizing<Vec<u8>>>,
}

/// The host's storage of a user's credentials, as callbacks (Keychain, a file, a database…).
/// Fill every field; the library copies the struct, so it may live on the caller's stack.
///
/// - `load(user_data, sink)`: give the stored credentials back by calling
///   `tk_store_sink_set(sink, json, len)` with the JSON `save` received; call nothing when
///   nothing is stored. Return 0, or non-zero for a failure.
/// - `save(user_data, json, len)`: store `json` (`len` bytes, NUL-terminated as well), the
///   credentials as by `tk_user_credentials_to_json`, replacing what was stored. The buffer
///   belongs to the library and is wiped after the call: copy it. Return 0, or non-zero.
/// - `clear(user_data)`: forget the stored credentials (sign-out). Return 0, or non-zero.
///
/// A non-zero return becomes `TK_STATUS_STORAGE` for the caller of the manager's function,
/// with a message naming the callback and the value; so does a `load` that hands back
/// something that is not saved credentials.
///
/// Threads: the callbacks may run on any thread, often one of the library's own while the
/// calling thread waits, but never two at once for one manager (the library serializes
/// them), so `user_data` needs no lock of its own unless the host touches it elsewhere. A
/// callback must return promptly, must not unwind (no C++ exception, no `longjmp` out of it),
/// and must not call a blocking tokenkeeper function (`tk_credentials_manager_*`,
/// `tk_signin_*`…): that can deadlock. `user_data` must stay valid until
/// `tk_credentials_manager_free` returns; no callback runs after that.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct tk_credentials_store {
    /// `sizeof(tk_credentials_store)`: fields may be appended in later versions.
    pub struct_size: usize,
    /// Passed to every callback as is.
    pub user_data: *mut c_void,
    /// Gives the stored JSON back through `tk_store_sink_set` (nothing when nothing is
    /// stored); 0 or a failure.
    pub load:
        Option<unsafe extern "C" fn(user_data: *mut c_void, sink: *mut tk_store_sink) -> c_int>,
    /// Stores a copy of `json` (`len` bytes, followed by a NUL); 0 or a failure.
    pub save: Option<
        unsafe extern "C" fn(user_data: *mut c_void, json: *const c_char, len: usize) -> c_int,
    >,
    /// Forgets the stored credentials; 0 or a failure.
    pub clear: Option<unsafe extern "C" fn(user_data: *mut c_void) -> c_int>,
}

/// Hands the stored credentials' JSON (`len` bytes; a NUL is not needed) back from inside a
/// `load` callback; the library copies it (and wipes its copy after use). Called again, the
/// last call wins. `TK_STATUS_INVALID_UTF8` when the bytes are not UTF-8 (the `load` then fails
/// with `TK_STATUS_STORAGE` whatever the callback returns). Does not change the calling
/// thread's last error.
#[no_mangle]
pub unsafe extern "C" fn tk_store_sink_set(
    sink: *mut tk_store_sink,
    json: *const c_char,
    len: usize,
) -> tk_status {
    const F: &str = "tk_store_sink_set";
    quiet(|| {
        let sink = unsafe { crate::boundary::arg_mut(F, sink, "sink") }?;
        if json.is_null() && len > 0 {
            return Err(Failure::null(F, "json"));
        }
        let bytes = if len == 0 {
            Vec::new()
        } else {
            unsafe { std::slice::from_raw_parts(json.cast::<u8>(), len) }.to_vec()
        };
        let utf8 = std::str::from_utf8(&bytes).is_ok();
        sink.json = Some(Zeroizing::new(bytes));
        if utf8 {
            Ok(())
        } else {
            Err(Failure::utf8(F, "json"))
        }
    })
}

/// The host's callbacks as the core's `CredentialsStore`, one call at a time.
struct HostStore {
    store: tk_credentials_store,
    one_at_a_time: Mutex<()>,
}

// SAFETY: the callbacks and `user_data` are documented as callable from any thread; the mutex
// makes sure that never happens twice at once.
unsafe impl Send for HostStore {}
unsafe impl Sync for HostStore {}

fn storage_error(what: String) -> Error {
    Error::Config(format!("{STORAGE_PREFIX}{what}"))
}

fn failed(callback: &str, rc: c_int) -> Error {
    storage_error(format!("the {callback} callback failed (returned {rc})"))
}

impl HostStore {
    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.one_at_a_time.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CredentialsStore for HostStore {
    fn load(&self) -> tk_core::Result<Option<UserCredentials>> {
        let load = self
            .store
            .load
            .expect("checked by tk_credentials_manager_new");
        let mut sink = tk_store_sink { json: None };
        let rc = {
            let _one = self.guard();
            unsafe { load(self.store.user_data, &mut sink) }
        };
        if rc != 0 {
            return Err(failed("load", rc));
        }
        let Some(json) = sink.json else {
            return Ok(None);
        };
        let text = std::str::from_utf8(&json)
            .map_err(|_| storage_error("the load callback handed back invalid UTF-8".into()))?;
        UserCredentials::from_json(text).map(Some).map_err(|e| {
            let detail = match e {
                Error::Config(m) => m,
                e => e.to_string(),
            };
            storage_error(format!(
                "the load callback handed back unusable JSON: {detail}"
            ))
        })
    }

    fn save(&self, credentials: &UserCredentials) -> tk_core::Result<()> {
        let save = self
            .store
            .save
            .expect("checked by tk_credentials_manager_new");
        let mut json = credentials.to_json().into_bytes();
        let len = json.len();
        json.push(0);
        let rc = {
            let _one = self.guard();
            unsafe { save(self.store.user_data, json.as_ptr().cast(), len) }
        };
        json.zeroize();
        if rc != 0 {
            return Err(failed("save", rc));
        }
        Ok(())
    }

    fn clear(&self) -> tk_core::Result<()> {
        let clear = self
            .store
            .clear
            .expect("checked by tk_credentials_manager_new");
        let rc = {
            let _one = self.guard();
            unsafe { clear(self.store.user_data) }
        };
        if rc != 0 {
            return Err(failed("clear", rc));
        }
        Ok(())
    }
}

// ---- the manager ----------------------------------------------------------------------------

/// Keeps a signed-in user's credentials valid over the host's storage (opaque, thread-safe):
/// one per user and storage. Free with `tk_credentials_manager_free` once no thread uses it.
pub struct tk_credentials_manager {
    inner: CredentialsManager,
}

/// A manager's counters (`tk_credentials_manager_stats`). Fields are only ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct tk_credentials_stats {
    /// Refresh-token grants sent.
    pub renewals: u64,
    /// Renewals that returned a new refresh token.
    pub rotations: u64,
    /// Calls answered with the stored credentials, no renewal needed.
    pub hits: u64,
}

/// The size of the first version of `tk_credentials_store`.
const STORE_V1_SIZE: usize = std::mem::size_of::<usize>()
    + std::mem::size_of::<*mut c_void>()
    + 3 * std::mem::size_of::<usize>();

/// A manager for the user signed in with `client` (the manager keeps what it needs: the client
/// may be freed afterwards) whose credentials live in the host's `store` (copied; every callback
/// is required). `store->struct_size` smaller than the first version's is
/// `TK_STATUS_BUFFER_TOO_SMALL`. No callback runs here. On success `*out` is a new manager.
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_new(
    client: *const tk_signin_client,
    store: *const tk_credentials_store,
    out: *mut *mut tk_credentials_manager,
) -> tk_status {
    const F: &str = "tk_credentials_manager_new";
    call(F, || {
        let client = unsafe { arg(F, client, "client") }?;
        let store_ptr = store;
        let size = unsafe { arg(F, store_ptr, "store") }?.struct_size;
        if size < STORE_V1_SIZE {
            return Err(Failure::buffer(F, size, STORE_V1_SIZE));
        }
        // The fields both sides know: a newer caller's extra fields are ignored, an older
        // caller's missing ones stay zero (NULL).
        let store = unsafe {
            let mut s = std::mem::MaybeUninit::<tk_credentials_store>::zeroed();
            let n = size.min(std::mem::size_of::<tk_credentials_store>());
            std::ptr::copy_nonoverlapping(store_ptr.cast::<u8>(), s.as_mut_ptr().cast::<u8>(), n);
            s.assume_init()
        };
        if store.load.is_none() {
            return Err(Failure::null(F, "store->load"));
        }
        if store.save.is_none() {
            return Err(Failure::null(F, "store->save"));
        }
        if store.clear.is_none() {
            return Err(Failure::null(F, "store->clear"));
        }
        let out = out_ptr(F, out, "out")?;
        let host = Arc::new(HostStore {
            store,
            one_at_a_time: Mutex::new(()),
        });
        let inner = CredentialsManager::new(client.inner.clone(), host);
        unsafe { out.write(new_handle(tk_credentials_manager { inner })) };
        Ok(())
    })
}

/// Frees a manager. NULL is ignored. No storage callback runs after it returns.
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_free(manager: *mut tk_credentials_manager) {
    unsafe { free_handle(manager) }
}

/// Valid credentials: the stored ones when the access token has at least `min_ttl_secs` left
/// and carries every scope of `scope` (space separated; NULL for no requirement), otherwise
/// renewed with the refresh token (asking for `scope`), saved through `store->save` (with the
/// rotated refresh token) before this returns. Concurrent callers share one renewal. Blocks the
/// calling thread.
///
/// `TK_STATUS_REAUTHENTICATION_REQUIRED` when the user must sign in again: nothing stored, no
/// refresh token, or the server refused it (`tk_last_error_oauth_error`: `no_credentials`,
/// `no_refresh_token`, `invalid_grant`). `TK_STATUS_STORAGE` when a callback failed. A
/// `min_ttl_secs` longer than a renewed token lives is `TK_STATUS_CONFIG` (after the renewal,
/// which is saved). On success `*out` is new user credentials.
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_credentials(
    manager: *const tk_credentials_manager,
    min_ttl_secs: u64,
    scope: *const c_char,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_credentials_manager_credentials";
    call(F, || {
        let m = unsafe { arg(F, manager, "manager") }?;
        let scope = unsafe { opt_str_arg(F, scope, "scope") }?;
        let out = out_ptr(F, out, "out")?;
        let creds = m
            .inner
            .credentials_blocking(Duration::from_secs(min_ttl_secs), scope)?;
        unsafe { out.write(tk_user_credentials::new_raw(creds)) };
        Ok(())
    })
}

/// Renews now with the refresh token, whatever the access token's lifetime (after an API
/// rejected it, say). Statuses as `tk_credentials_manager_credentials`.
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_renew(
    manager: *const tk_credentials_manager,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_credentials_manager_renew";
    call(F, || {
        let m = unsafe { arg(F, manager, "manager") }?;
        let out = out_ptr(F, out, "out")?;
        let creds = m.inner.renew_blocking()?;
        unsafe { out.write(tk_user_credentials::new_raw(creds)) };
        Ok(())
    })
}

/// Saves credentials obtained at sign-in (through `store->save`, on the calling thread).
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_save(
    manager: *const tk_credentials_manager,
    credentials: *const tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_credentials_manager_save";
    call(F, || {
        let m = unsafe { arg(F, manager, "manager") }?;
        let c = unsafe { arg(F, credentials, "credentials") }?;
        m.inner.save(&c.inner)?;
        Ok(())
    })
}

/// Signs out locally: `store->clear`, and the manager forgets what it kept in memory.
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_clear(
    manager: *const tk_credentials_manager,
) -> tk_status {
    const F: &str = "tk_credentials_manager_clear";
    call(F, || {
        let m = unsafe { arg(F, manager, "manager") }?;
        m.inner.clear()?;
        Ok(())
    })
}

/// `*out` is true when there are stored credentials that are valid, or can be renewed (calls
/// `store->load` on the calling thread).
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_has_credentials(
    manager: *const tk_credentials_manager,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_credentials_manager_has_credentials";
    call(F, || {
        let m = unsafe { arg(F, manager, "manager") }?;
        let out = out_ptr(F, out, "out")?;
        let has = m.inner.has_credentials()?;
        unsafe { out.write(has) };
        Ok(())
    })
}

/// The stored credentials as they are, without renewing: `*out` is new user credentials, or
/// NULL when nothing is stored (still `TK_STATUS_OK`).
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_stored(
    manager: *const tk_credentials_manager,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_credentials_manager_stored";
    call(F, || {
        let m = unsafe { arg(F, manager, "manager") }?;
        let out = out_ptr(F, out, "out")?;
        let stored = m.inner.stored()?;
        unsafe { out.write(stored.map_or(std::ptr::null_mut(), tk_user_credentials::new_raw)) };
        Ok(())
    })
}

/// A snapshot of the manager's counters. Pass `sizeof(tk_credentials_stats)` as `out_size`
/// (at least the three fields of version 0.1, else `TK_STATUS_BUFFER_TOO_SMALL`).
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_stats(
    manager: *const tk_credentials_manager,
    out: *mut tk_credentials_stats,
    out_size: usize,
) -> tk_status {
    const F: &str = "tk_credentials_manager_stats";
    call(F, || {
        let m = unsafe { arg(F, manager, "manager") }?;
        let s = m.inner.stats();
        let stats = tk_credentials_stats {
            renewals: s.renewals,
            rotations: s.rotations,
            hits: s.hits,
        };
        unsafe { write_sized(F, out, out_size, 3 * std::mem::size_of::<u64>(), stats) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_store_version_is_the_struct_today() {
        assert_eq!(STORE_V1_SIZE, std::mem::size_of::<tk_credentials_store>());
    }
}
