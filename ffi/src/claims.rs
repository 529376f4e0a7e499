//! `tk_claims`: the claims of a verified token or of a `/userinfo` answer, read by copying
//! into the caller's buffers.

use std::ffi::c_char;

use tk_core::Claims;

use crate::boundary::{arg, call, free_handle, new_handle, out_ptr, str_arg, write_str};
use crate::error::Failure;
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

/// The claims handle and the claim's value: `TK_STATUS_NOT_FOUND` when there is no such claim.
unsafe fn claim<'a>(
    func: &str,
    claims: *const tk_claims,
    name: *const c_char,
) -> Result<(&'a str, &'a tk_core::Claims), Failure> {
    let claims = unsafe { arg(func, claims, "claims") }?;
    let name = unsafe { str_arg(func, name, "name") }?;
    if claims.inner.get(name).is_none() {
        return Err(Failure::not_found(func, &format!("claim {name:?}")));
    }
    Ok((name, &claims.inner))
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
    const F: &str = "tk_claims_json";
    call(F, || {
        let claims = unsafe { arg(F, claims, "claims") }?;
        unsafe { write_str(F, &claims.inner.to_json(), buf, len, out_len) }
    })
}

/// A string claim (`iss`, `sub`, `azp`, `scope`, `org_id`, `email`…), copied as by
/// `tk_claims_json`. `TK_STATUS_NOT_FOUND` when the claim is absent, `TK_STATUS_WRONG_TYPE`
/// when it is not a string (read it with `tk_claims_get_json`, `_i64`, `_f64` or `_bool`).
#[no_mangle]
pub unsafe extern "C" fn tk_claims_get_str(
    claims: *const tk_claims,
    name: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tk_status {
    const F: &str = "tk_claims_get_str";
    call(F, || {
        let (name, claims) = unsafe { claim(F, claims, name) }?;
        let s = claims
            .get_str(name)
            .ok_or_else(|| Failure::wrong_type(F, name, "a string"))?;
        unsafe { write_str(F, s, buf, len, out_len) }
    })
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
    call(F, || {
        let (name, claims) = unsafe { claim(F, claims, name) }?;
        let json = claims.get(name).map(|v| v.to_string()).unwrap_or_default();
        unsafe { write_str(F, &json, buf, len, out_len) }
    })
}

/// An integer claim (`exp`, `iat`, `nbf`, `auth_time`…). `TK_STATUS_NOT_FOUND` when absent,
/// `TK_STATUS_WRONG_TYPE` when it is not a number with an integral value in the `int64_t` range
/// (read a fractional number with `tk_claims_get_f64`).
#[no_mangle]
pub unsafe extern "C" fn tk_claims_get_i64(
    claims: *const tk_claims,
    name: *const c_char,
    out: *mut i64,
) -> tk_status {
    const F: &str = "tk_claims_get_i64";
    call(F, || {
        let (name, claims) = unsafe { claim(F, claims, name) }?;
        let out = out_ptr(F, out, "out")?;
        let v = claims.get(name).and_then(|v| {
            v.as_i64().or_else(|| {
                // 1.7e9 is an integer written as a float: exact, so accepted.
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64)
                    .map(|f| f as i64)
            })
        });
        let v = v.ok_or_else(|| Failure::wrong_type(F, name, "an integer"))?;
        unsafe { out.write(v) };
        Ok(())
    })
}

/// A numeric claim as a `double`. `TK_STATUS_NOT_FOUND` when absent, `TK_STATUS_WRONG_TYPE`
/// when it is not a number.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_get_f64(
    claims: *const tk_claims,
    name: *const c_char,
    out: *mut f64,
) -> tk_status {
    const F: &str = "tk_claims_get_f64";
    call(F, || {
        let (name, claims) = unsafe { claim(F, claims, name) }?;
        let out = out_ptr(F, out, "out")?;
        let v = claims
            .get(name)
            .and_then(|v| v.as_f64())
            .ok_or_else(|| Failure::wrong_type(F, name, "a number"))?;
        unsafe { out.write(v) };
        Ok(())
    })
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
    call(F, || {
        let (name, claims) = unsafe { claim(F, claims, name) }?;
        let out = out_ptr(F, out, "out")?;
        let v = claims
            .get(name)
            .and_then(|v| v.as_bool())
            .ok_or_else(|| Failure::wrong_type(F, name, "a boolean"))?;
        unsafe { out.write(v) };
        Ok(())
    })
}

/// `*out` is true when `aud` (a string or an array of strings) contains `audience`.
#[no_mangle]
pub unsafe extern "C" fn tk_claims_has_audience(
    claims: *const tk_claims,
    audience: *const c_char,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_claims_has_audience";
    call(F, || {
        let claims = unsafe { arg(F, claims, "claims") }?;
        let audience = unsafe { str_arg(F, audience, "audience") }?;
        let out = out_ptr(F, out, "out")?;
        unsafe { out.write(claims.inner.aud().contains(&audience)) };
        Ok(())
    })
}

/// `*out` is true when the space-separated `scope` claim contains `scope` (one scope).
#[no_mangle]
pub unsafe extern "C" fn tk_claims_has_scope(
    claims: *const tk_claims,
    scope: *const c_char,
    out: *mut bool,
) -> tk_status {
    const F: &str = "tk_claims_has_scope";
    call(F, || {
        let claims = unsafe { arg(F, claims, "claims") }?;
        let scope = unsafe { str_arg(F, scope, "scope") }?;
        let out = out_ptr(F, out, "out")?;
        unsafe { out.write(claims.inner.has_scope(scope)) };
        Ok(())
    })
}
