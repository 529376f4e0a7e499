//! The C ABI on fuzzed input: `tk_user_credentials_from_json` and `tk_login_tx_from_json` on
//! any text, and every `tk_claims_*` accessor on claims parsed from any JSON object (through an
//! ID token's payload, as C gets them), with the buffer protocol and the NUL rule.
#![no_main]
// The handles are opaque and only ever behind pointers, as in C.
#![allow(improper_ctypes)]
use std::ffi::{c_char, CString};
use std::ptr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tk_ffi::{tk_claims, tk_login_tx, tk_status, tk_user_credentials};
use tokenkeeper_fuzz::{canarized, CANARY, MAX_MESSAGE_CHARS};

type Creds = tk_user_credentials;

// The C declarations of the header (the functions are the C ABI, not Rust items).
extern "C" {
    fn tk_last_error_message(buf: *mut c_char, len: usize, out_len: *mut usize) -> tk_status;
    fn tk_user_credentials_from_json(json: *const c_char, out: *mut *mut Creds) -> tk_status;
    fn tk_user_credentials_free(c: *mut Creds);
    fn tk_user_credentials_expires_at(c: *const Creds, out: *mut u64) -> tk_status;
    fn tk_user_credentials_is_valid_for(c: *const Creds, ttl: u64, out: *mut bool) -> tk_status;
    fn tk_user_credentials_access_token(
        c: *const Creds,
        b: *mut c_char,
        l: usize,
        o: *mut usize,
    ) -> tk_status;
    fn tk_user_credentials_refresh_token(
        c: *const Creds,
        b: *mut c_char,
        l: usize,
        o: *mut usize,
    ) -> tk_status;
    fn tk_user_credentials_id_token(
        c: *const Creds,
        b: *mut c_char,
        l: usize,
        o: *mut usize,
    ) -> tk_status;
    fn tk_user_credentials_authorization_header(
        c: *const Creds,
        b: *mut c_char,
        l: usize,
        o: *mut usize,
    ) -> tk_status;
    fn tk_user_credentials_to_json(
        c: *const Creds,
        b: *mut c_char,
        l: usize,
        o: *mut usize,
    ) -> tk_status;
    fn tk_user_credentials_id_token_claims(c: *const Creds, out: *mut *mut tk_claims) -> tk_status;
    fn tk_login_tx_from_json(json: *const c_char, out: *mut *mut tk_login_tx) -> tk_status;
    fn tk_login_tx_free(tx: *mut tk_login_tx);
    fn tk_claims_free(c: *mut tk_claims);
    fn tk_claims_json(c: *const tk_claims, b: *mut c_char, l: usize, o: *mut usize) -> tk_status;
    fn tk_claims_get_str(
        c: *const tk_claims,
        n: *const c_char,
        b: *mut c_char,
        l: usize,
        o: *mut usize,
    ) -> tk_status;
    fn tk_claims_get_json(
        c: *const tk_claims,
        n: *const c_char,
        b: *mut c_char,
        l: usize,
        o: *mut usize,
    ) -> tk_status;
    fn tk_claims_get_i64(c: *const tk_claims, n: *const c_char, out: *mut i64) -> tk_status;
    fn tk_claims_get_f64(c: *const tk_claims, n: *const c_char, out: *mut f64) -> tk_status;
    fn tk_claims_get_bool(c: *const tk_claims, n: *const c_char, out: *mut bool) -> tk_status;
    fn tk_claims_has_audience(c: *const tk_claims, aud: *const c_char, out: *mut bool)
        -> tk_status;
    fn tk_claims_has_scope(c: *const tk_claims, scope: *const c_char, out: *mut bool) -> tk_status;
}

/// `f(buf, len, out_len)` by the buffer protocol: the length first, then the text.
fn read_str(
    f: impl Fn(*mut c_char, usize, *mut usize) -> tk_status,
) -> (tk_status, Option<String>) {
    let mut need = 0usize;
    let st = f(ptr::null_mut(), 0, &mut need);
    if st != tk_status::BufferTooSmall {
        assert_ne!(st, tk_status::Ok, "a string needs at least its NUL");
        return (st, None);
    }
    assert!(need >= 1);
    // One byte short is still too small, and leaves the buffer untouched.
    let mut short = vec![0x55u8; need - 1];
    let mut again = 0usize;
    assert_eq!(
        f(short.as_mut_ptr().cast(), short.len(), &mut again),
        tk_status::BufferTooSmall
    );
    assert_eq!(again, need);
    assert!(short.iter().all(|b| *b == 0x55));
    let mut buf = vec![0x55u8; need];
    assert_eq!(
        f(buf.as_mut_ptr().cast(), buf.len(), &mut again),
        tk_status::Ok
    );
    assert_eq!(buf[need - 1], 0);
    assert!(!buf[..need - 1].contains(&0), "a string out holds no NUL");
    (
        tk_status::Ok,
        Some(String::from_utf8(buf[..need - 1].to_vec()).expect("UTF-8 out")),
    )
}

fn last_message() -> String {
    read_str(|b, l, o| unsafe { tk_last_error_message(b, l, o) })
        .1
        .unwrap_or_default()
}

fn check_failure(st: tk_status, secrets: &[&str]) {
    assert_ne!(st, tk_status::Panic, "a panic reached the C boundary");
    let msg = last_message();
    assert!(msg.chars().count() <= MAX_MESSAGE_CHARS + 100);
    for s in secrets {
        assert!(!msg.contains(s), "C error text echoes a secret: {msg:?}");
    }
}

fn from_json(text: &[u8], secrets: &[&str]) {
    let Ok(c) = CString::new(text.to_vec()) else {
        return;
    };
    let mut creds = ptr::null_mut();
    match unsafe { tk_user_credentials_from_json(c.as_ptr(), &mut creds) } {
        tk_status::Ok => {
            let (mut at, mut valid) = (0u64, false);
            assert_eq!(
                unsafe { tk_user_credentials_expires_at(creds, &mut at) },
                tk_status::Ok
            );
            let st = unsafe { tk_user_credentials_is_valid_for(creds, u64::MAX, &mut valid) };
            assert_eq!(st, tk_status::Ok);
            type Getter =
                unsafe extern "C" fn(*const Creds, *mut c_char, usize, *mut usize) -> tk_status;
            let getters: [Getter; 5] = [
                tk_user_credentials_access_token,
                tk_user_credentials_refresh_token,
                tk_user_credentials_id_token,
                tk_user_credentials_authorization_header,
                tk_user_credentials_to_json,
            ];
            for f in getters {
                let (st, _) = read_str(|b, l, o| unsafe { f(creds, b, l, o) });
                assert_ne!(st, tk_status::Panic);
            }
            let mut claims = ptr::null_mut();
            assert_eq!(
                unsafe { tk_user_credentials_id_token_claims(creds, &mut claims) },
                tk_status::Ok
            );
            unsafe { tk_claims_free(claims) };
            unsafe { tk_user_credentials_free(creds) };
        }
        st => check_failure(st, secrets),
    }
    let mut tx = ptr::null_mut();
    match unsafe { tk_login_tx_from_json(c.as_ptr(), &mut tx) } {
        tk_status::Ok => unsafe { tk_login_tx_free(tx) },
        st => check_failure(st, secrets),
    }
}

/// Equal JSON, but for the last bit of a float: serde_json (without `float_roundtrip`) may
/// read a long number back one ULP off.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x != y => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= x.abs().max(y.abs()) * 1e-15
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Claims parsed from `payload` (a JSON object), read through every accessor.
fn claims(payload: &Value) {
    let id_token = format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap())
    );
    let creds = serde_json::json!({
        "access_token": "at", "token_type": "Bearer", "expires_at": 1, "id_token": id_token,
    });
    let c = CString::new(creds.to_string()).unwrap();
    let mut uc = ptr::null_mut();
    assert_eq!(
        unsafe { tk_user_credentials_from_json(c.as_ptr(), &mut uc) },
        tk_status::Ok
    );
    let mut claims = ptr::null_mut();
    assert_eq!(
        unsafe { tk_user_credentials_id_token_claims(uc, &mut claims) },
        tk_status::Ok
    );
    unsafe { tk_user_credentials_free(uc) };
    if claims.is_null() {
        return; // not an object without duplicates: the core decodes nothing
    }
    let map = payload.as_object().expect("only objects decode");
    let (st, json) = read_str(|b, l, o| unsafe { tk_claims_json(claims, b, l, o) });
    if let Some(json) = json {
        assert!(same(
            &serde_json::from_str::<Value>(&json).unwrap(),
            payload
        ));
    } else {
        // A NUL anywhere in the JSON text (only inside a string, escaped, so never).
        assert_eq!(st, tk_status::WrongType);
    }
    let names = map
        .keys()
        .take(16)
        .map(String::as_str)
        .chain(["absent", "aud", "scope"]);
    for name in names {
        let Ok(cname) = CString::new(name) else {
            continue; // a name with a NUL cannot be asked from C
        };
        let n = cname.as_ptr();
        let v = map.get(name);
        let (st, s) = read_str(|b, l, o| unsafe { tk_claims_get_str(claims, n, b, l, o) });
        match v {
            None => assert_eq!(st, tk_status::NotFound),
            Some(Value::String(want)) if want.contains('\0') => {
                assert_eq!(st, tk_status::WrongType)
            }
            Some(Value::String(want)) => assert_eq!(s.as_ref(), Some(want)),
            Some(_) => assert_eq!(st, tk_status::WrongType),
        }
        let (st, j) = read_str(|b, l, o| unsafe { tk_claims_get_json(claims, n, b, l, o) });
        match v {
            None => assert_eq!(st, tk_status::NotFound),
            Some(v) => assert!(same(
                &serde_json::from_str::<Value>(&j.unwrap()).unwrap(),
                v
            )),
        }
        let (mut i, mut f, mut b) = (0i64, 0f64, false);
        let st = unsafe { tk_claims_get_i64(claims, n, &mut i) };
        assert!(matches!(
            st,
            tk_status::Ok | tk_status::NotFound | tk_status::WrongType
        ));
        let st = unsafe { tk_claims_get_f64(claims, n, &mut f) };
        assert_eq!(st == tk_status::Ok, v.is_some_and(Value::is_number));
        let st = unsafe { tk_claims_get_bool(claims, n, &mut b) };
        assert_eq!(st == tk_status::Ok, v.is_some_and(Value::is_boolean));
        assert_eq!(
            unsafe { tk_claims_has_audience(claims, n, &mut b) },
            tk_status::Ok
        );
        assert_eq!(
            unsafe { tk_claims_has_scope(claims, n, &mut b) },
            tk_status::Ok
        );
    }
    unsafe { tk_claims_free(claims) };
}

fuzz_target!(|data: &[u8]| {
    from_json(data, &[]);
    if let Some(text) = canarized(data, &[]) {
        from_json(&text, &[CANARY]);
    }
    if let Ok(v @ Value::Object(_)) = serde_json::from_slice::<Value>(data) {
        claims(&v);
    }
});
