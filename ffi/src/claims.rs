//! `tk_claims`: the claims of a verified token or of a `/userinfo` answer, read through the
//! core's `Claims` accessors by copying into the caller's buffers.

use std::ffi::c_char;

use tk_core::Claims;

use crate::boundary::{free_handle, get, get_str, new_handle, str_arg};
use crate::failure::Failure;
use crate::status::tk_status;

/// The claims of a verified token or of a `/userinfo` answer: a JSON object (opaque,
/// immutable, thread-safe). Free with `tk_claims_free`.
pub struct tk_claims {
    inner: Claims,
}

impl tk_claims {
    pub(crate) fn new_raw(inner: Claims) -> *mut tk_claims {
        new_handle(tk_claims { inner })
    }
}

/// Frees a claims handle. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_free(claims: *mut tk_claims) {
    unsafe { free_handle(claims) }
}

/// The claim `name` read by the core's accessor `read`: `TK_STATUS_NOT_FOUND` when there is no
/// such claim, `TK_STATUS_WRONG_TYPE` (it is not `want`) when `read` gives nothing.
unsafe fn claim<'a, V>(
    func: &str,
    claims: &'a tk_claims,
    name: *const c_char,
    want: &str,
    read: impl FnOnce(&'a Claims, &str) -> Option<V>,
) -> Result<V, Failure> {
    let name = unsafe { str_arg(func, name, "name") }?;
    if claims.inner.get(name).is_none() {
        return Err(Failure::not_found(func, &format!("claim {name:?}")));
    }
    read(&claims.inner, name).ok_or_else(|| Failure::wrong_type(func, name, want))
}

/// All the claims as a JSON object text, copied into `buf` (`len` bytes) with its NUL;
/// `*out_len` receives the length needed, NUL included, also with `TK_STATUS_BUFFER_TOO_SMALL`
/// (then `buf` is left untouched; `buf` may be NULL with `len` 0 to ask for the length).
#[no_mangle]
pub unsafe extern "C" fn tk_claims_json(
    claims: *const tk_claims,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    let f = "tk_claims_json";
    unsafe {
        get_str(f, claims, "claims", buf, len, out_len, |c| {
            Ok(c.inner.to_json().into())
        })
    }
}

/// A string claim (`iss`, `sub`, `azp`, `scope`, `org_id`, `email`…), copied as by
/// `tk_claims_json`. `TK_STATUS_NOT_FOUND` when the claim is absent, `TK_STATUS_WRONG_TYPE`
/// when it is not a string (read it with `tk_claims_get_json`, `_i64`, `_f64` or `_bool`).
/// A string holding a NUL character (`"a@x.com\u0000@evil"`) is `TK_STATUS_WRONG_TYPE` too,
/// never the part before the NUL: `tk_claims_get_json` gives it escaped.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_get_str(
    claims: *const tk_claims,
    name: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    const F: &str = "tk_claims_get_str";
    unsafe {
        get_str(F, claims, "claims", buf, len, out_len, |c| {
            Ok(claim(F, c, name, "a string", Claims::get_str)?.into())
        })
    }
}

/// Any claim as JSON text (an array such as `aud`, an object, a number…), copied as by
/// `tk_claims_json`. `TK_STATUS_NOT_FOUND` when the claim is absent.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_get_json(
    claims: *const tk_claims,
    name: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    const F: &str = "tk_claims_get_json";
    unsafe {
        get_str(F, claims, "claims", buf, len, out_len, |c| {
            Ok(claim(F, c, name, "JSON", |c, n| c.get(n).map(|v| v.to_string()))?.into())
        })
    }
}

/// A numeric claim as an integer (`exp`, `iat`, `nbf`, `auth_time`…), the core's reading: a
/// fraction is truncated toward zero (`1.5` gives 1). `TK_STATUS_NOT_FOUND` when absent,
/// `TK_STATUS_WRONG_TYPE` when it is not a number or out of the `int64_t` range.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_get_i64(
    claims: *const tk_claims,
    name: *const c_char,
    out: *mut i64,
) -> tk_status {
    const F: &str = "tk_claims_get_i64";
    let want = "a number in the int64_t range";
    unsafe {
        get(F, claims, "claims", out, |c| {
            claim(F, c, name, want, Claims::get_i64)
        })
    }
}

/// A time claim (`exp`, `iat`, `nbf`, `auth_time`, or any NumericDate) in whole seconds since
/// the Unix epoch, the core's reading on every surface: a fraction truncated, a far date
/// (`1e308`) read as `TK_LATEST_TIME` (9999-12-31T23:59:59Z). `TK_STATUS_NOT_FOUND` when
/// absent, `TK_STATUS_WRONG_TYPE` when it is not a number or negative.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_get_time(
    claims: *const tk_claims,
    name: *const c_char,
    out: *mut i64,
) -> tk_status {
    const F: &str = "tk_claims_get_time";
    unsafe {
        get(F, claims, "claims", out, |c| {
            let secs = claim(F, c, name, "a time (a number, zero or more)", |c, n| {
                c.time(n)
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            })?;
            // At most TK_LATEST_TIME, so always in range.
            Ok(i64::try_from(secs.as_secs()).unwrap_or(i64::MAX))
        })
    }
}

/// The latest time `tk_claims_get_time` gives: 9999-12-31T23:59:59Z (the core's
/// `LATEST_TIME`; a literal, for cbindgen).
pub const TK_LATEST_TIME: i64 = 253402300799;
const _: () = assert!(TK_LATEST_TIME as u64 == tk_core::LATEST_TIME);

/// A numeric claim as a `double`. `TK_STATUS_NOT_FOUND` when absent, `TK_STATUS_WRONG_TYPE`
/// when it is not a number.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_get_f64(
    claims: *const tk_claims,
    name: *const c_char,
    out: *mut f64,
) -> tk_status {
    const F: &str = "tk_claims_get_f64";
    unsafe {
        get(F, claims, "claims", out, |c| {
            claim(F, c, name, "a number", Claims::get_f64)
        })
    }
}

/// A boolean claim (`email_verified`…). `TK_STATUS_NOT_FOUND` when absent,
/// `TK_STATUS_WRONG_TYPE` when it is not `true` or `false`.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_get_bool(
    claims: *const tk_claims,
    name: *const c_char,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_claims_get_bool";
    unsafe {
        get(F, claims, "claims", out, |c| {
            claim(F, c, name, "a boolean", Claims::get_bool)
        })
    }
}

/// `*out` is true when `aud` (a string or an array of strings) contains `audience`.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_has_audience(
    claims: *const tk_claims,
    audience: *const c_char,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_claims_has_audience";
    unsafe {
        get(F, claims, "claims", out, |c| {
            Ok(c.inner.has_audience(str_arg(F, audience, "audience")?))
        })
    }
}

/// `*out` is true when the space-separated `scope` claim contains every scope of `scope` (one
/// scope, or several separated by spaces: all of them must be granted).
#[no_mangle]
pub unsafe extern "C" fn tk_claims_has_scope(
    claims: *const tk_claims,
    scope: *const c_char,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_claims_has_scope";
    unsafe {
        get(F, claims, "claims", out, |c| {
            Ok(c.inner.has_scope(str_arg(F, scope, "scope")?))
        })
    }
}

/// `*out` is the length of the `act` chain (RFC 8693 delegation): how many actors it names, 0
/// when the token has no `act`.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_actor_count(
    claims: *const tk_claims,
    out: *mut usize,
) -> tk_status {
    const F: &str = "tk_claims_actor_count";
    unsafe {
        get(F, claims, "claims", out, |c| {
            Ok(c.inner.actor_chain().len())
        })
    }
}

/// The `sub` of actor `index` of the `act` chain (0: the current actor, then each earlier
/// one), copied into `buf` as `tk_claims_json`; `TK_STATUS_NOT_FOUND` past the end of the
/// chain (`tk_claims_actor_count`).
#[no_mangle]
pub unsafe extern "C" fn tk_claims_actor(
    claims: *const tk_claims,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    const F: &str = "tk_claims_actor";
    unsafe {
        get_str(F, claims, "claims", buf, len, out_len, |c| {
            let chain = c.inner.actor_chain();
            let sub = chain.get(index).copied();
            sub.map(Into::into)
                .ok_or_else(|| Failure::not_found(F, &format!("actor {index}")))
        })
    }
}
