//! The C ABI of tokenkeeper: `#include "tokenkeeper.h"`, link `libtokenkeeper`.
//!
//! This crate only converts: C strings and numbers into the core's types, the core's results into
//! out-parameters and [`tk_status`] codes. Every behaviour (validation, defaults, knobs by name,
//! cache, retries, the store contract, errors) is the core's. Each entry point checks its
//! pointers, converts, calls the core and writes its outputs through the few shapes of
//! `boundary` (constructor, getter, string getter, setter). Conventions, after rustls-ffi:
//!
//! - every function returns a [`tk_status`]; outputs go through out-parameters, written only when
//!   the function returns `TK_STATUS_OK` (a string's required length is also reported with
//!   `TK_STATUS_BUFFER_TOO_SMALL`);
//! - handles (`tk_config`, `tk_client`, `tk_token`, `tk_verifier`, `tk_claims`,
//!   `tk_signin_client`, `tk_login_tx`, `tk_user_credentials`, `tk_credentials_manager`…) are
//!   created and freed by the library;
//! - the host's credentials storage is a struct of callbacks (`tk_credentials_store`) that
//!   exchange JSON through buffers owned by whoever calls: C never frees Rust memory, Rust never
//!   frees C memory;
//! - strings out are copied into the caller's buffers, so C never frees Rust memory;
//! - every entry point runs inside a panic boundary ([`boundary::call`]): a panic becomes
//!   `TK_STATUS_PANIC`, never an unwind into C;
//! - details of the last failure of the calling thread: `tk_last_error_*`.
//!
//! # Safety (every function)
//! Pointer arguments are NULL (reported as `TK_STATUS_NULL_PARAMETER` where a value is needed)
//! or valid: a handle from this library that was not freed, a NUL-terminated string, a buffer of
//! at least the given length, a writable out-parameter. That contract is what makes the
//! functions `unsafe` on the Rust side; it cannot be checked at run time.

// The C names are the ABI: `tk_client`, `tk_status`, … in C style.
#![allow(non_camel_case_types)]
// One crate-level Safety section (above) covers every function: they share one contract.
#![allow(clippy::missing_safety_doc)]

mod boundary;
mod claims;
mod client;
mod config;
mod error;
mod exchange;
mod failure;
mod knobs;
mod last_error;
mod manager;
mod request;
mod signin;
mod status;
mod token;
mod user_credentials;
mod verifier;

pub use claims::{tk_claims, TK_LATEST_TIME};
pub use client::{tk_client, tk_stats};
pub use config::tk_config;
pub use error::tk_token_check;
pub use exchange::tk_exchange;
pub use manager::{
    tk_credentials_manager, tk_credentials_stats, tk_credentials_store, tk_store_sink,
    TK_STORE_SINK_MAX_LEN,
};
pub use request::tk_request;
pub use signin::{tk_authorize_params, tk_login_tx, tk_signin_client, tk_signin_config};
pub use status::tk_status;
pub use token::tk_token;
pub use user_credentials::tk_user_credentials;
pub use verifier::{tk_verifier, tk_verifier_config, tk_verify_stats};

/// Major version of the library this header belongs to: the crate's version, checked at compile
/// time against `Cargo.toml`. `TK_VERSION` is the `"MAJOR.MINOR.PATCH"` string and
/// `TK_VERSION_NUMBER` is `MAJOR * 10000 + MINOR * 100 + PATCH`, for `#if`.
pub const TK_VERSION_MAJOR: u32 = 0;
/// Minor version.
pub const TK_VERSION_MINOR: u32 = 2;
/// Patch version.
pub const TK_VERSION_PATCH: u32 = 0;

/// Fails the build when the constants above and `Cargo.toml` disagree (inside a function so that
/// cbindgen does not look at it).
#[allow(dead_code)]
fn version_matches_cargo_toml() {
    const _: () = {
        assert!(TK_VERSION_MAJOR == parse_u32(env!("CARGO_PKG_VERSION_MAJOR")));
        assert!(TK_VERSION_MINOR == parse_u32(env!("CARGO_PKG_VERSION_MINOR")));
        assert!(TK_VERSION_PATCH == parse_u32(env!("CARGO_PKG_VERSION_PATCH")));
    };
}

const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let (mut i, mut n) = (0, 0u32);
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version part is not a number");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// The library's version, `"MAJOR.MINOR.PATCH"`: compare with `TK_VERSION` to detect a header
/// that does not match the library linked at run time. A static string; never free it.
#[no_mangle]
pub extern "C" fn tk_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
