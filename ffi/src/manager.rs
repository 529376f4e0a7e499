//! The host's storage as C callbacks (`tk_credentials_store`, adapted here to the core's
//! `CredentialsStore`), and the credentials manager that keeps a user's credentials valid.
//!
//! Memory never changes hands across the boundary: `save` gets the credentials as JSON in a
//! buffer the library owns (valid during the call, wiped after it), and `load` hands JSON back
//! by calling `tk_store_sink_set`, which copies it.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use std::time::Duration;

use tk_core::{
    CredentialsManager, CredentialsStore, Error, HostError, HostMessage, UserCredentials,
};
use zeroize::Zeroizing;

use crate::boundary::{
    arg, arg_mut, call, free_handle, get, new_handle, opt_str_arg, quiet, write_sized,
};
use crate::failure::Failure;
use crate::signin::tk_signin_client;
use crate::status::tk_status;
use crate::user_credentials::tk_user_credentials;

// ---- the host's storage ---------------------------------------------------------------------

/// The most `tk_store_sink_set` takes: 1 MiB. Saved credentials are a few kilobytes (tokens
/// and their JSON); a larger `len` is a bug of the caller (a length of `SIZE_MAX`, say), not
/// something to allocate.
pub const TK_STORE_SINK_MAX_LEN: usize = 1048576;

/// Where `load` hands the stored credentials back (opaque; valid only during that call): see
/// `tk_store_sink_set`.
pub struct tk_store_sink {
    handed: Handed,
}

/// What a `load` callback handed back through its sink (the last `tk_store_sink_set` wins).
enum Handed {
    Nothing,
    Json(Zeroizing<Vec<u8>>),
    /// A `len` over `TK_STORE_SINK_MAX_LEN`: nothing was read.
    TooLarge(usize),
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
/// A non-zero return is the core's storage error, `TK_STATUS_STORAGE` for the caller of the
/// manager's function, with a message naming the method and the value (`load() failed:
/// callback returned 7`); so is a `load` that hands back something that is not saved
/// credentials.
///
/// Threads: the callbacks may run on any thread, often one of the library's own while the
/// calling thread waits, but never two at once for one manager (the core calls a manager's
/// store one call at a time, the first `load` included), so `user_data` needs no lock of its
/// own unless the host touches it elsewhere. A callback that calls a function of the same
/// manager on the same thread gets `TK_STATUS_CONFIG` from it at once (the manager is waiting for
/// the callback); one that hands such a call to another thread and waits for it deadlocks.
/// A callback must return promptly and must not unwind (no C++ exception, no `longjmp` out of
/// it). `user_data` must stay valid until `tk_credentials_manager_free` returns; no callback
/// runs after that.
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
/// A `len` over `TK_STORE_SINK_MAX_LEN` (1 MiB) is `TK_STATUS_STORAGE`: nothing is read or
/// allocated, and the `load` fails with `TK_STATUS_STORAGE` (its message names the length)
/// unless a later call hands back something else.
#[no_mangle]
pub unsafe extern "C" fn tk_store_sink_set(
    sink: *mut tk_store_sink,
    json: *const c_char,
    len: usize,
) -> tk_status {
    const F: &str = "tk_store_sink_set";
    quiet(|| {
        let sink = unsafe { arg_mut(F, sink, "sink") }?;
        if len > TK_STORE_SINK_MAX_LEN {
            sink.handed = Handed::TooLarge(len);
            return Err(Failure::store_too_large(
                F,
                "json",
                len,
                TK_STORE_SINK_MAX_LEN,
            ));
        }
        if json.is_null() && len > 0 {
            return Err(Failure::null(F, "json"));
        }
        let bytes = if len == 0 {
            Vec::new()
        } else {
            unsafe { std::slice::from_raw_parts(json.cast::<u8>(), len) }.to_vec()
        };
        let utf8 = std::str::from_utf8(&bytes).is_ok();
        sink.handed = Handed::Json(Zeroizing::new(bytes));
        if utf8 {
            Ok(())
        } else {
            Err(Failure::utf8(F, "json"))
        }
    })
}

/// The host's callbacks as the core's `CredentialsStore` (which the core calls one at a time).
struct HostStore(tk_credentials_store);

// SAFETY: the callbacks and `user_data` are documented as callable from any thread; the core
// never makes two calls at once to one manager's store.
unsafe impl Send for HostStore {}
unsafe impl Sync for HostStore {}

/// The core's storage error of a failed `method`, with the C side's reason as the host error.
fn failed(method: &str, why: String) -> Error {
    Error::storage(method, HostError::new(HostMessage(why)))
}

fn returned(method: &str, rc: c_int) -> tk_core::Result<()> {
    match rc {
        0 => Ok(()),
        rc => Err(failed(method, format!("callback returned {rc}"))),
    }
}

impl CredentialsStore for HostStore {
    fn load(&self) -> tk_core::Result<Option<UserCredentials>> {
        let load = self.0.load.expect("checked by tk_credentials_manager_new");
        let mut sink = tk_store_sink {
            handed: Handed::Nothing,
        };
        returned("load", unsafe { load(self.0.user_data, &mut sink) })?;
        let json = match sink.handed {
            Handed::Nothing => return Ok(None),
            Handed::Json(json) => json,
            Handed::TooLarge(len) => {
                let why = format!(
                    "callback handed back {len} bytes, more than {TK_STORE_SINK_MAX_LEN} \
                     (TK_STORE_SINK_MAX_LEN)"
                );
                return Err(failed("load", why));
            }
        };
        let text = std::str::from_utf8(&json)
            .map_err(|_| failed("load", "callback handed back invalid UTF-8".into()))?;
        UserCredentials::from_json(text).map(Some).map_err(|e| {
            let detail = match e {
                Error::Config(m) => m,
                e => e.to_string(),
            };
            failed(
                "load",
                format!("callback handed back unusable JSON: {detail}"),
            )
        })
    }

    fn save(&self, credentials: &UserCredentials) -> tk_core::Result<()> {
        let save = self.0.save.expect("checked by tk_credentials_manager_new");
        // Both copies wiped; the second made at its final size, so never reallocated.
        let text = Zeroizing::new(credentials.to_json());
        let mut json = Zeroizing::new(Vec::with_capacity(text.len() + 1));
        json.extend_from_slice(text.as_bytes());
        json.push(0);
        let len = text.len();
        returned("save", unsafe {
            save(self.0.user_data, json.as_ptr().cast(), len)
        })
    }

    fn clear(&self) -> tk_core::Result<()> {
        let clear = self.0.clear.expect("checked by tk_credentials_manager_new");
        returned("clear", unsafe { clear(self.0.user_data) })
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
    unsafe {
        get(F, client, "client", out, |client| {
            let size = arg(F, store, "store")?.struct_size;
            if size < STORE_V1_SIZE {
                return Err(Failure::buffer(F, size, STORE_V1_SIZE));
            }
            // The fields both sides know: a newer caller's extra fields are ignored, an older
            // caller's missing ones stay zero (NULL).
            let mut s = std::mem::MaybeUninit::<tk_credentials_store>::zeroed();
            let n = size.min(size_of::<tk_credentials_store>());
            std::ptr::copy_nonoverlapping(store.cast::<u8>(), s.as_mut_ptr().cast::<u8>(), n);
            let store = s.assume_init();
            let given = [
                (store.load.is_some(), "store->load"),
                (store.save.is_some(), "store->save"),
            ];
            let given = given
                .into_iter()
                .chain([(store.clear.is_some(), "store->clear")]);
            if let Some((_, name)) = given.into_iter().find(|(set, _)| !set) {
                return Err(Failure::null(F, name));
            }
            let inner = CredentialsManager::new(client.inner.clone(), Arc::new(HostStore(store)));
            Ok(new_handle(tk_credentials_manager { inner }))
        })
    }
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
/// `no_refresh_token`, `invalid_grant`). `TK_STATUS_STORAGE` when a callback failed;
/// `TK_STATUS_CONFIG` when called from inside one of this manager's callbacks. A
/// `min_ttl_secs` longer than a renewed token lives is `TK_STATUS_CONFIG` (after the renewal,
/// which is saved; later calls without a grant). On success `*out` is new user credentials.
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_credentials(
    manager: *const tk_credentials_manager,
    min_ttl_secs: u64,
    scope: *const c_char,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_credentials_manager_credentials";
    unsafe {
        get(F, manager, "manager", out, |m| {
            let ttl = Duration::from_secs(min_ttl_secs);
            let scope = opt_str_arg(F, scope, "scope")?;
            Ok(tk_user_credentials::new_raw(
                m.inner.credentials_blocking(ttl, scope)?,
            ))
        })
    }
}

/// `tk_credentials_manager_credentials` for `audience` (NULL or `""`: the sign-in's own): an
/// access token for another API from the same refresh token (Auth0 Multi-Resource Refresh
/// Token), cached per audience and scope set, a rotated refresh token saved through the store.
/// `TK_STATUS_CONFIG` naming the audience when it is outside the application's refresh-token
/// policies (Auth0 then answers for the sign-in's own audience). The result holds no refresh
/// token nor ID token.
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_credentials_for(
    manager: *const tk_credentials_manager,
    min_ttl_secs: u64,
    scope: *const c_char,
    audience: *const c_char,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    const F: &str = "tk_credentials_manager_credentials_for";
    unsafe {
        get(F, manager, "manager", out, |m| {
            let ttl = Duration::from_secs(min_ttl_secs);
            let scope = opt_str_arg(F, scope, "scope")?;
            let audience = opt_str_arg(F, audience, "audience")?;
            Ok(tk_user_credentials::new_raw(
                m.inner.credentials_for_blocking(ttl, scope, audience)?,
            ))
        })
    }
}

/// Renews now with the refresh token, whatever the access token's lifetime (after an API
/// rejected it, say). Statuses as `tk_credentials_manager_credentials`.
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_renew(
    manager: *const tk_credentials_manager,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    let f = "tk_credentials_manager_renew";
    unsafe {
        get(f, manager, "manager", out, |m| {
            Ok(tk_user_credentials::new_raw(m.inner.renew_blocking()?))
        })
    }
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
        Ok(m.inner.save(&c.inner)?)
    })
}

/// Signs out locally: `store->clear`, and the manager forgets what it kept in memory.
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_clear(
    manager: *const tk_credentials_manager,
) -> tk_status {
    const F: &str = "tk_credentials_manager_clear";
    call(F, || {
        Ok(unsafe { arg(F, manager, "manager") }?.inner.clear()?)
    })
}

/// Signs out everywhere: `store->clear` (the manager forgets what it kept in memory), then the
/// refresh token is revoked at `/oauth/revoke` (every token rotated from that login). A failed
/// revocation returns its status (`TK_STATUS_NETWORK`, `TK_STATUS_OAUTH`…) with the user
/// signed out locally all the same; a failed `store->clear` is `TK_STATUS_STORAGE`.
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_clear_revoke(
    manager: *const tk_credentials_manager,
) -> tk_status {
    const F: &str = "tk_credentials_manager_clear_revoke";
    call(F, || {
        Ok(unsafe { arg(F, manager, "manager") }?
            .inner
            .clear_blocking(true)?)
    })
}

/// `*out` is true when there are stored credentials that are valid, or can be renewed (calls
/// `store->load` on the calling thread).
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_has_credentials(
    manager: *const tk_credentials_manager,
    out: *mut bool,
) -> tk_status {
    let f = "tk_credentials_manager_has_credentials";
    unsafe {
        get(f, manager, "manager", out, |m| {
            Ok(m.inner.has_credentials()?)
        })
    }
}

/// The stored credentials as they are, without renewing: `*out` is new user credentials, or
/// NULL when nothing is stored (still `TK_STATUS_OK`).
#[no_mangle]
pub unsafe extern "C" fn tk_credentials_manager_stored(
    manager: *const tk_credentials_manager,
    out: *mut *mut tk_user_credentials,
) -> tk_status {
    let f = "tk_credentials_manager_stored";
    unsafe {
        get(f, manager, "manager", out, |m| {
            let stored = m.inner.stored()?;
            Ok(stored.map_or(std::ptr::null_mut(), tk_user_credentials::new_raw))
        })
    }
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
        let s = unsafe { arg(F, manager, "manager") }?.inner.stats();
        let stats = tk_credentials_stats {
            renewals: s.renewals,
            rotations: s.rotations,
            hits: s.hits,
        };
        unsafe { write_sized(F, out, out_size, 3 * size_of::<u64>(), stats) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_store_version_is_the_struct_today() {
        assert_eq!(STORE_V1_SIZE, std::mem::size_of::<tk_credentials_store>());
    }

    #[test]
    fn the_sink_takes_at_most_its_bound_and_reads_nothing_beyond() {
        let mut sink = tk_store_sink {
            handed: Handed::Nothing,
        };
        // Neither pointer is read: a dangling one with a huge length must not be touched.
        let dangling = std::ptr::NonNull::<c_char>::dangling().as_ptr();
        for len in [usize::MAX, TK_STORE_SINK_MAX_LEN + 1] {
            let s = unsafe { tk_store_sink_set(&mut sink, dangling, len) };
            assert_eq!(s, tk_status::Storage);
            assert!(matches!(sink.handed, Handed::TooLarge(n) if n == len));
        }
        let at_bound = vec![b' '; TK_STORE_SINK_MAX_LEN];
        let s = unsafe { tk_store_sink_set(&mut sink, at_bound.as_ptr().cast(), at_bound.len()) };
        assert_eq!(s, tk_status::Ok);
        assert!(matches!(&sink.handed, Handed::Json(j) if j.len() == TK_STORE_SINK_MAX_LEN));
    }
}
