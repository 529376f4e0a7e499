//! `TokenClient.get_token` as a raw `METH_FASTCALL | METH_KEYWORDS` method: a cache hit with
//! the arguments of an earlier call returns before any argument parsing. Keyword names are
//! told apart by identity (the interpreter interns the names written in a call); anything
//! else (a name not interned, a repeated or unknown keyword, too many arguments, a miss) goes to
//! pyo3's method, kept aside when this one took its place, which parses, raises pyo3's errors
//! (with its name: `TokenClient.get_token()`) and does the work.
//!
//! Unsafe, as the C API is: the interpreter calls `get_token` with the GIL held, a `self` of
//! the class (the method descriptor checks it), `nargs` borrowed positional arguments followed
//! by one borrowed value per name in `kwnames`; it returns a new reference, or NULL with an
//! exception set.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyType};

use crate::client::TokenClient;

const NAMES: [&CStr; 3] = [c"audience", c"scope", c"organization"];
// The signature `inspect` shows, then the docstring.
const DOC: &CStr = c"get_token($self, /, audience=None, scope=None, organization=None)\n--\n\n\
A token for the request: from the cache when fresh (the same object as last time), otherwise\n\
from the token endpoint (the GIL is released while waiting). `audience=None` uses the default\n\
audience; `scope` is a space-separated str or a sequence of str.";

/// The interned keyword names, made once (they live as long as the interpreter).
struct Names([usize; 3]);

static INTERNED: OnceLock<Names> = OnceLock::new();
/// pyo3's `get_token` (an unbound method descriptor), which this one replaced.
static PYO3_METHOD: OnceLock<Py<PyAny>> = OnceLock::new();

/// Replaces the class's `get_token` (pyo3's, kept in `PYO3_METHOD`) with the raw method.
pub(crate) fn install(py: Python<'_>, class: &Bound<'_, PyType>) -> PyResult<()> {
    let mut names = [0usize; 3];
    for (slot, name) in names.iter_mut().zip(NAMES) {
        // SAFETY: a NUL-terminated name; the interned string is never released.
        let s = unsafe { ffi::PyUnicode_InternFromString(name.as_ptr()) };
        if s.is_null() {
            return Err(PyErr::fetch(py));
        }
        *slot = s as usize;
    }
    let _ = INTERNED.set(Names(names));
    let pyo3_method = class.getattr("get_token")?;
    if pyo3_method.is_instance_of::<PyCFunction>() || !pyo3_method.hasattr("__get__")? {
        return Err(PyRuntimeError::new_err(
            "TokenClient.get_token is not pyo3's method",
        ));
    }
    let _ = PYO3_METHOD.set(pyo3_method.unbind());
    // The method table must outlive the type: leaked once per import.
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"get_token".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: get_token,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: DOC.as_ptr(),
    }));
    // SAFETY: `class` is a type object; the descriptor is a new reference, owned by `descr`.
    let descr = unsafe {
        let d = ffi::PyDescr_NewMethod(class.as_ptr().cast(), def);
        Bound::from_owned_ptr_or_err(py, d)?
    };
    class.setattr("get_token", descr)
}

unsafe extern "C" fn get_token(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY (all of it): see the module's comment; the pointers are the interpreter's.
    unsafe {
        let hit = catch_unwind(AssertUnwindSafe(|| {
            let given = arguments(args, nargs, kwnames)?;
            let py = Python::assume_attached();
            let client = Bound::<PyAny>::from_borrowed_ptr(py, slf);
            client
                .cast_unchecked::<TokenClient>()
                .get()
                .seen_hit(py, given)
                .transpose()
                .map(|hit| hit.map(Py::into_ptr))
        }));
        match hit {
            Ok(Some(Ok(token))) => token,
            Ok(Some(Err(e))) => {
                e.restore(Python::assume_attached());
                std::ptr::null_mut()
            }
            Ok(None) => slow(slf, args, nargs, kwnames),
            Err(_) => {
                let py = Python::assume_attached();
                PyRuntimeError::new_err("tokenkeeper: a panic in get_token").restore(py);
                std::ptr::null_mut()
            }
        }
    }
}

/// The three arguments (NULL: not given or None), if the call is one the hot path can read.
unsafe fn arguments(
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> Option<[*mut ffi::PyObject; 3]> {
    let positional = usize::try_from(nargs).ok().filter(|&n| n <= 3)?;
    let mut given = [std::ptr::null_mut(); 3];
    let mut seen = [false; 3];
    for (i, slot) in given.iter_mut().enumerate().take(positional) {
        *slot = unsafe { *args.add(i) };
        seen[i] = true;
    }
    if !kwnames.is_null() {
        let names = &INTERNED.get()?.0;
        let n = unsafe { ffi::PyTuple_Size(kwnames) };
        for k in 0..n {
            let name = unsafe { ffi::PyTuple_GetItem(kwnames, k) } as usize;
            let i = names.iter().position(|&p| p == name)?;
            if std::mem::replace(&mut seen[i], true) {
                return None;
            }
            given[i] = unsafe { *args.add(positional + k as usize) };
        }
    }
    for g in &mut given {
        if *g == unsafe { ffi::Py_None() } {
            *g = std::ptr::null_mut();
        }
    }
    Some(given)
}

/// pyo3's method with the same arguments: `self` and the positional ones in a tuple, the
/// keywords in a dict, as `PyObject_Call` takes them.
unsafe fn slow(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    unsafe {
        let Some(method) = PYO3_METHOD.get() else {
            let py = Python::assume_attached();
            PyRuntimeError::new_err("tokenkeeper: get_token is not installed").restore(py);
            return std::ptr::null_mut();
        };
        let nargs = nargs.max(0);
        let positional = ffi::PyTuple_New(nargs + 1);
        let mut ok = !positional.is_null();
        for i in 0..=nargs {
            if !ok {
                break;
            }
            // PyTuple_SetItem steals a reference: give it one.
            let a = if i == 0 {
                slf
            } else {
                *args.add(i as usize - 1)
            };
            ffi::Py_INCREF(a);
            ok = ffi::PyTuple_SetItem(positional, i, a) == 0;
        }
        let mut keywords = std::ptr::null_mut();
        if ok && !kwnames.is_null() {
            keywords = ffi::PyDict_New();
            ok = !keywords.is_null();
            let n = ffi::PyTuple_Size(kwnames);
            for k in 0..n {
                if !ok {
                    break;
                }
                let name = ffi::PyTuple_GetItem(kwnames, k);
                let value = *args.add((nargs + k) as usize);
                ok = !name.is_null() && ffi::PyDict_SetItem(keywords, name, value) == 0;
            }
        }
        let result = if ok {
            ffi::PyObject_Call(method.as_ptr(), positional, keywords)
        } else {
            std::ptr::null_mut()
        };
        for o in [positional, keywords] {
            if !o.is_null() {
                ffi::Py_DECREF(o);
            }
        }
        result
    }
}
