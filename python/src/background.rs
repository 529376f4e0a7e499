//! Threads the core owns that call into Python (a log record, an asyncio result, a host's
//! store), and the interpreter's shutdown, after which they no longer may.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;

/// Set when the interpreter starts shutting down (an `atexit` hook of the package): from then
/// on, background threads no longer try to attach to Python (to log or deliver a result).
static FINALIZING: AtomicBool = AtomicBool::new(false);

pub(crate) fn finalizing() -> bool {
    FINALIZING.load(Ordering::Relaxed)
}

/// Registered with `atexit` by the package.
#[pyfunction]
pub(crate) fn _at_exit() {
    FINALIZING.store(true, Ordering::Relaxed);
}

/// Attaches to Python from a thread the core owns, unless the interpreter is going away.
pub(crate) fn attach_from_background<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    if finalizing() {
        return None;
    }
    Python::try_attach(f)
}
