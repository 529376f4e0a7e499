//! `tk_status`: what every function returns.

use std::ffi::{c_char, c_int};

/// The result of every function. `TK_STATUS_OK` is 0; the values of the core's error causes
/// (1–99) and of the binding's own failures (100–) never change meaning.
///
/// After any status other than `TK_STATUS_OK`, `tk_last_error_*` gives the details on the same
/// thread.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tk_status {
    /// Success: the out-parameters were written.
    Ok = 0,
    /// The authorization server answered with an OAuth error (`invalid_client`,
    /// `access_denied`, `unauthorized_client`…): see `tk_last_error_oauth_error`,
    /// `tk_last_error_description`, `tk_last_error_http_status`.
    Oauth = 1,
    /// HTTP 429: see `tk_last_error_retry_after_ms`.
    RateLimited = 2,
    /// The server could not be reached, or the connection broke.
    Network = 3,
    /// A connect or request timeout elapsed.
    Timeout = 4,
    /// The server answered with something unusable (bad JSON, missing fields, too large…).
    InvalidResponse = 5,
    /// The configuration or the request cannot work (bad domain, empty client id, bad key…),
    /// or a store callback called a function of its own manager.
    Config = 6,
    /// A token failed validation: `tk_last_error_token_check` names the check.
    InvalidToken = 7,
    /// The user's session cannot be renewed: the user must sign in again.
    ReauthenticationRequired = 8,
    /// A required pointer argument was NULL.
    NullParameter = 100,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 101,
    /// The caller's buffer is too small; the required length (NUL included) was reported and
    /// the buffer left untouched.
    BufferTooSmall = 102,
    /// A bug inside the library was caught at the boundary (nothing unwound into C).
    Panic = 103,
    /// The host's credentials storage failed (the core's storage error, kind `"storage"`): a
    /// `tk_credentials_store` callback returned non-zero, or `load` handed back something that
    /// is not saved credentials. The message names the method and the value (`load() failed:
    /// callback returned 7`).
    Storage = 104,
    /// The named claim (or value) does not exist.
    NotFound = 105,
    /// The claim exists but has another JSON type than the getter reads.
    /// Also from every string getter when the string holds a NUL character (a claim
    /// `"a@x.com\u0000@evil"`, a field of a server's answer): a C string cannot carry it, and
    /// it is never handed out cut short at the NUL. Nothing is written, not even `*out_len`.
    WrongType = 106,
}

/// The constant's name of a status (`"TK_STATUS_OAUTH"`…), `"TK_STATUS_UNKNOWN"` for a value
/// that is none. A static string; never free it.
#[no_mangle]
pub extern "C" fn tk_status_str(status: c_int) -> *const c_char {
    let s: &'static str = match status {
        0 => "TK_STATUS_OK\0",
        1 => "TK_STATUS_OAUTH\0",
        2 => "TK_STATUS_RATE_LIMITED\0",
        3 => "TK_STATUS_NETWORK\0",
        4 => "TK_STATUS_TIMEOUT\0",
        5 => "TK_STATUS_INVALID_RESPONSE\0",
        6 => "TK_STATUS_CONFIG\0",
        7 => "TK_STATUS_INVALID_TOKEN\0",
        8 => "TK_STATUS_REAUTHENTICATION_REQUIRED\0",
        100 => "TK_STATUS_NULL_PARAMETER\0",
        101 => "TK_STATUS_INVALID_UTF8\0",
        102 => "TK_STATUS_BUFFER_TOO_SMALL\0",
        103 => "TK_STATUS_PANIC\0",
        104 => "TK_STATUS_STORAGE\0",
        105 => "TK_STATUS_NOT_FOUND\0",
        106 => "TK_STATUS_WRONG_TYPE\0",
        _ => "TK_STATUS_UNKNOWN\0",
    };
    s.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_status_has_its_name() {
        use tk_status::*;
        let all = [
            (Ok, "TK_STATUS_OK"),
            (Oauth, "TK_STATUS_OAUTH"),
            (RateLimited, "TK_STATUS_RATE_LIMITED"),
            (Network, "TK_STATUS_NETWORK"),
            (Timeout, "TK_STATUS_TIMEOUT"),
            (InvalidResponse, "TK_STATUS_INVALID_RESPONSE"),
            (Config, "TK_STATUS_CONFIG"),
            (InvalidToken, "TK_STATUS_INVALID_TOKEN"),
            (
                ReauthenticationRequired,
                "TK_STATUS_REAUTHENTICATION_REQUIRED",
            ),
            (NullParameter, "TK_STATUS_NULL_PARAMETER"),
            (InvalidUtf8, "TK_STATUS_INVALID_UTF8"),
            (BufferTooSmall, "TK_STATUS_BUFFER_TOO_SMALL"),
            (Panic, "TK_STATUS_PANIC"),
            (Storage, "TK_STATUS_STORAGE"),
            (NotFound, "TK_STATUS_NOT_FOUND"),
            (WrongType, "TK_STATUS_WRONG_TYPE"),
        ];
        for (s, name) in all {
            let got = unsafe { CStr::from_ptr(tk_status_str(s as c_int)) };
            assert_eq!(got.to_str().unwrap(), name);
        }
        let unknown = unsafe { CStr::from_ptr(tk_status_str(-1)) };
        assert_eq!(unknown.to_str().unwrap(), "TK_STATUS_UNKNOWN");
    }
}
