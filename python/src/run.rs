//! Running the core's futures for the verifier, the sign-in client and the credentials manager,
//! blocking (`verify`, `refresh`…) or under asyncio (`verify_async`, `refresh_async`…).
//!
//! Both forms first poll the future once on the calling thread, with the GIL released and inside
//! the shared runtime's context: whatever needs no I/O (a verification with the JWKS cached,
//! credentials from the store that are still valid) completes there, with no thread switch.
//! Otherwise the same future (already started, nothing is redone) is handed to the runtime:
//! the blocking form waits with the GIL released, checking for Ctrl-C; the asyncio form resolves
//! an asyncio future through `loop.call_soon_threadsafe`.
//!
//! The GIL is never held while this thread blocks, so the core's threads can always attach to
//! Python (to call a host's credentials store, or to deliver a result).

use std::cell::Cell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokenkeeper::Error;

use crate::credentials::StoreErrors;
use crate::errors::to_py_err;
use crate::wait::{poll_once, wait};

/// What the futures run here produce, before conversion to Python (with the GIL).
pub(crate) enum Out {
    Claims(tokenkeeper::Claims),
    Credentials(tokenkeeper::UserCredentials),
    Count(usize),
}

impl Out {
    pub(crate) fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Out::Claims(c) => crate::claims::to_py(py, &c),
            Out::Credentials(c) => {
                Ok(Py::new(py, crate::signin::UserCredentials::wrap(c))?.into_any())
            }
            Out::Count(n) => Ok(n.into_pyobject(py)?.into_any().unbind()),
        }
    }
}

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = Result<Out, Error>> + Send>>;

/// A core error as a Python exception; a failure of a host's credentials store comes back as
/// the store's own exception (see [`StoreErrors`]).
pub(crate) fn py_err(py: Python<'_>, e: Error, store: Option<&StoreErrors>) -> PyErr {
    match store {
        Some(s) => s.convert(py, e),
        None => to_py_err(py, e),
    }
}

thread_local! {
    /// Set while this thread runs a method of a host's credentials store.
    static IN_STORE: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as running a store method until dropped.
pub(crate) struct InStore(bool);

impl InStore {
    pub(crate) fn enter() -> Self {
        Self(IN_STORE.with(|f| f.replace(true)))
    }
}

impl Drop for InStore {
    fn drop(&mut self) {
        let previous = self.0;
        IN_STORE.with(|f| f.set(previous));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn joined(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(format!("tokenkeeper: the operation did not complete: {e}"))
}

/// Polls once on this thread (GIL released, in the runtime's context).
fn poll_here(py: Python<'_>, fut: &mut BoxFuture) -> Poll<Result<Out, Error>> {
    py.detach(|| {
        let _context = tokenkeeper::runtime::handle().enter();
        poll_once(fut.as_mut())
    })
}

/// Runs `fut` to completion for a blocking Python call.
pub(crate) fn block(
    py: Python<'_>,
    fut: impl Future<Output = Result<Out, Error>> + Send + 'static,
    store: Option<&StoreErrors>,
) -> PyResult<Py<PyAny>> {
    if IN_STORE.with(Cell::get) {
        // The manager may be waiting for this very store call: waiting here could never end.
        return Err(to_py_err(
            py,
            Error::Config(
                "a credentials store method called a blocking tokenkeeper method; a store must \
                 not call back into tokenkeeper (it runs while the manager waits for it)"
                    .into(),
            ),
        ));
    }
    let mut fut: BoxFuture = Box::pin(fut);
    let result = match poll_here(py, &mut fut) {
        Poll::Ready(r) => r,
        Poll::Pending => {
            let mut task = pin!(tokenkeeper::runtime::handle().spawn(fut));
            wait(py, task.as_mut())?.map_err(joined)?
        }
    };
    match result {
        Ok(out) => out.into_py(py),
        Err(e) => Err(py_err(py, e, store)),
    }
}

static AIO_RUN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static AIO_DELIVER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A coroutine (`tokenkeeper._aio.run`) that runs `fut` when awaited.
pub(crate) fn coroutine(
    py: Python<'_>,
    fut: impl Future<Output = Result<Out, Error>> + Send + 'static,
    store: Option<Arc<StoreErrors>>,
) -> PyResult<Py<PyAny>> {
    let pending = Py::new(
        py,
        Pending {
            fut: Mutex::new(Some(Box::pin(fut))),
            store,
        },
    )?;
    let run = AIO_RUN.get_or_try_init(py, || {
        py.import("tokenkeeper._aio")?
            .getattr("run")
            .map(Bound::unbind)
    })?;
    run.call1(py, (pending,))
}

/// The work of one `*_async` call, driven by `tokenkeeper._aio.run`: not started until the
/// coroutine is awaited (a coroutine never awaited sends nothing).
#[pyclass(frozen, module = "tokenkeeper._native", name = "_Pending")]
pub struct Pending {
    fut: Mutex<Option<BoxFuture>>,
    store: Option<Arc<StoreErrors>>,
}

#[pymethods]
impl Pending {
    /// Polls once on this thread: `(True, result)` when done (or raises), `(False, None)` when
    /// the work must go on on the runtime (`_spawn`).
    fn _poll(&self, py: Python<'_>) -> PyResult<(bool, Py<PyAny>)> {
        let mut fut = lock(&self.fut)
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this operation was already started"))?;
        match poll_here(py, &mut fut) {
            Poll::Ready(Ok(out)) => Ok((true, out.into_py(py)?)),
            Poll::Ready(Err(e)) => Err(py_err(py, e, self.store.as_deref())),
            Poll::Pending => {
                *lock(&self.fut) = Some(fut);
                Ok((false, py.None()))
            }
        }
    }

    /// Finishes the work on the runtime and resolves the asyncio `future` of `loop_` with the
    /// result or the exception (through `loop.call_soon_threadsafe`).
    fn _spawn(
        &self,
        py: Python<'_>,
        loop_: Bound<'_, PyAny>,
        future: Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let fut = lock(&self.fut)
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this operation was already started"))?;
        let deliver = AIO_DELIVER
            .get_or_try_init(py, || {
                py.import("tokenkeeper._aio")?
                    .getattr("_deliver")
                    .map(Bound::unbind)
            })?
            .clone_ref(py);
        let (event_loop, future, store) = (loop_.unbind(), future.unbind(), self.store.clone());
        tokenkeeper::runtime::handle().spawn(async move {
            let result = fut.await;
            crate::attach_from_background(|py| {
                let (ok, value) = match result.map_err(|e| py_err(py, e, store.as_deref())) {
                    Ok(out) => match out.into_py(py) {
                        Ok(v) => (true, v),
                        Err(e) => (false, e.into_value(py).into_any()),
                    },
                    Err(e) => (false, e.into_value(py).into_any()),
                };
                // Fails only if the loop was closed meanwhile: nobody is waiting any more.
                let _ = event_loop.call_method1(
                    py,
                    "call_soon_threadsafe",
                    (deliver, future, ok, value),
                );
            });
        });
        Ok(())
    }
}
