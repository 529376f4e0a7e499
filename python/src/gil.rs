//! [`GilCell`]: data that only code holding the GIL touches, without a lock of its own.
//!
//! The one `unsafe` of this crate, for the hot path of a cache hit (where a mutex's lock and
//! unlock were a tenth of the call). Sound because:
//! - a `Python<'_>` token means this thread holds the GIL, and only one thread can: the module
//!   is built for the stable ABI (`abi3`), which has no free-threaded build, and should it be
//!   built for a free-threaded interpreter anyway, it declares that it needs the GIL
//!   (`#[pymodule(gil_used = true)]`: since pyo3 0.28 the default is the opposite), so CPython
//!   turns the GIL on where it loads, and it refuses to load where the GIL is forced off
//!   (`gil_is_on`); interpreters with a GIL of their own, and every interpreter but the first,
//!   are refused too (`first_interpreter`);
//! - the closure gets the data for its own duration only and is given no `Python<'_>`, so it
//!   cannot release the GIL (`Python::detach`) or run Python code through this crate's API;
//!   what it does with the data (pointer compares, `clone_ref` increments, moving values in
//!   and out) runs no Python code either. Values moved out are dropped by the caller after the
//!   closure returns: a drop may run Python code (`__del__`), which may re-enter.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicI64, Ordering};

use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;

/// At import: a free-threaded interpreter with the GIL forced off (`PYTHON_GIL=0`) would run
/// two threads in a `GilCell` at once.
pub(crate) fn gil_is_on(py: Python<'_>) -> PyResult<()> {
    let sys = py.import("sys")?;
    if sys.hasattr("_is_gil_enabled")? && !sys.call_method0("_is_gil_enabled")?.extract::<bool>()? {
        return Err(PyImportError::new_err(
            "tokenkeeper needs the GIL: it is off in this interpreter (PYTHON_GIL=0)",
        ));
    }
    Ok(())
}

/// The id of the interpreter that imported the module first; -1 before.
static FIRST_INTERPRETER: AtomicI64 = AtomicI64::new(-1);

/// At import, before anything process-wide is set up: only the first interpreter may load the
/// module. Its statics (type objects, the errors module, asyncio and logging helpers) hold
/// objects of one interpreter, which CPython does not let another use (review N4).
pub(crate) fn first_interpreter(_py: Python<'_>) -> PyResult<()> {
    // SAFETY: the `Python<'_>` token means this thread is attached, so there is a current
    // interpreter; both calls are in the stable ABI (3.8 and 3.9) and cannot fail then.
    let id = unsafe { pyo3::ffi::PyInterpreterState_GetID(pyo3::ffi::PyInterpreterState_Get()) };
    match FIRST_INTERPRETER.compare_exchange(-1, id, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Ok(()),
        Err(first) if first == id => Ok(()),
        Err(first) => Err(PyImportError::new_err(format!(
            "tokenkeeper can be imported in one interpreter per process only: it is loaded in \
             interpreter {first}, and this is interpreter {id} (a subinterpreter); use it from \
             the first interpreter, or run this code in its own process"
        ))),
    }
}

pub(crate) struct GilCell<T>(UnsafeCell<T>);

// SAFETY: every access goes through `with`, which needs the GIL (see the module's comment).
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// Runs `f` on the data. `f` must not call into Python (it is given no token to).
    #[inline]
    pub(crate) fn with<R>(&self, _gil: Python<'_>, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: the GIL is held (`_gil`), so no other thread is in here; `f` cannot reach
        // Python, so this thread cannot come back in here before `f` returns.
        f(unsafe { &mut *self.0.get() })
    }
}
