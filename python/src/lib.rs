//! `tokenkeeper._native`: the Python surface of the tokenkeeper core.
//!
//! Thin by rule: every behaviour (cache, single flight, retries, the store contract, checking
//! the config, claim accessors' meaning) is the core's; this crate converts arguments, results
//! and errors, and decides when to let go of the GIL. The public Python package
//! (`python/tokenkeeper/`) re-exports what is here.

// Two exceptions, both for the hot path of a cache hit: GilCell (gil.rs), the lock-free memo,
// and the raw `get_token` method (fastcall.rs).
#![deny(unsafe_code)]

use pyo3::prelude::*;

mod background;
mod claims;
mod cli;
mod client;
mod convert;
mod credentials;
mod errors;
mod fastcall;
mod gil;
mod logging;
mod prepared;
mod run;
mod signin;
mod token;
mod verify;

// `gil_used = true`: the module needs the GIL (gil.rs), so a free-threaded CPython turns it on.
#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    gil::first_interpreter(m.py())?;
    gil::gil_is_on(m.py())?;
    logging::install();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<client::TokenClient>()?;
    fastcall::install(m.py(), &m.py().get_type::<client::TokenClient>())?;
    m.add_class::<token::Token>()?;
    m.add_class::<claims::Claims>()?;
    m.add_class::<prepared::PreparedRequest>()?;
    m.add_class::<verify::TokenVerifier>()?;
    m.add_class::<signin::SignInClient>()?;
    m.add_class::<signin::LoginTransaction>()?;
    m.add_class::<signin::UserCredentials>()?;
    m.add_class::<credentials::CredentialsManager>()?;
    m.add_class::<run::Pending>()?;
    m.add_function(wrap_pyfunction!(background::_at_exit, m)?)?;
    m.add_function(wrap_pyfunction!(cli::_cli, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_sample_error, m)?)?;
    m.add("_TOKEN_CHECKS", errors::check_names())?;
    m.add("_LATEST_TIME", tokenkeeper::LATEST_TIME)?;
    let http: Vec<&str> = tokenkeeper::HTTP_KNOBS.iter().map(|k| k.name).collect();
    m.add("_HTTP_KNOBS", http)?;
    m.add("_CACHE_KNOBS", convert::cache_knobs().collect::<Vec<_>>())?;
    Ok(())
}
