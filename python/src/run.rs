//! The core's futures, run for Python through the core's one driver
//! (`tokenkeeper::runtime`): blocking (`get_token`, `verify`, `refresh`…) with [`block`], under
//! asyncio (`*_async`) with [`coroutine`].
//!
//! Both poll the future once on the calling thread (the driver's first step): whatever needs no
//! I/O (a cache hit, a verification with the JWKS cached, stored credentials still valid)
//! finishes there. Otherwise the driver hands the future, already started, to the shared
//! runtime: [`block`] waits with the GIL released, checking for Ctrl-C between slices;
//! [`coroutine`] resolves an asyncio future through `loop.call_soon_threadsafe` when the
//! work is done. The GIL is never held while waiting, so the core's threads can always attach
//! to Python (to call a host's credentials store, to log, to deliver a result).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokenkeeper::runtime::{self, Started};

use crate::errors::to_py_err;

/// What a future run here produces: its value, with how to make it a Python object once the
/// GIL is held. Each module brings its own conversion, so this driver knows no product type.
pub(crate) struct Out(Box<ToPy>);

type ToPy = dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send;

impl Out {
    pub(crate) fn new(
        to_py: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send + 'static,
    ) -> Self {
        Self(Box::new(to_py))
    }

    pub(crate) fn claims(c: tokenkeeper::Claims) -> Self {
        Self::new(move |py| crate::claims::to_py(py, c))
    }

    pub(crate) fn count(n: usize) -> Self {
        Self::new(move |py| Ok(n.into_pyobject(py)?.into_any().unbind()))
    }
}

type Output = tokenkeeper::Result<Out>;
type BoxFuture = Pin<Box<dyn Future<Output = Output> + Send>>;

fn convert(py: Python<'_>, result: Output) -> PyResult<Py<PyAny>> {
    (result.map_err(|e| to_py_err(py, e))?.0)(py)
}

/// Runs `fut` to completion for a blocking Python call.
pub(crate) fn block(
    py: Python<'_>,
    fut: impl Future<Output = Output> + Send + 'static,
) -> PyResult<Py<PyAny>> {
    let fut: BoxFuture = Box::pin(fut);
    // Each step (the first poll, a slice of parking) runs with the GIL released; Ctrl-C is
    // checked between them.
    let result = runtime::drive(fut, |step| {
        py.detach(&mut *step);
        py.check_signals()
    })?;
    convert(py, result)
}

static AIO_RUN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static AIO_READY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static AIO_DELIVER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn cached<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    Ok(cell
        .get_or_try_init(py, || py.import(module)?.getattr(name).map(Bound::unbind))?
        .bind(py))
}

/// A coroutine (`tokenkeeper._aio.run`) that runs `fut` when awaited; a coroutine never
/// awaited starts nothing.
pub(crate) fn coroutine(
    py: Python<'_>,
    fut: impl Future<Output = Output> + Send + 'static,
) -> PyResult<Py<PyAny>> {
    let pending = Pending {
        fut: Mutex::new(Some(Box::pin(fut))),
    };
    Ok(cached(py, &AIO_RUN, "tokenkeeper._aio", "run")?
        .call1((pending,))?
        .unbind())
}

/// A coroutine that returns `value` when awaited (`tokenkeeper._aio.ready`): an `*_async` call
/// answered before any work (a cache hit on the hot path).
pub(crate) fn ready(py: Python<'_>, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
    Ok(cached(py, &AIO_READY, "tokenkeeper._aio", "ready")?
        .call1((value,))?
        .unbind())
}

/// The work of one `*_async` call, started by `tokenkeeper._aio.run`.
#[pyclass(frozen, module = "tokenkeeper._native", name = "_Pending")]
pub struct Pending {
    fut: Mutex<Option<BoxFuture>>,
}

#[pymethods]
impl Pending {
    /// Starts the work (`runtime::start`): `(True, result)` when it finished at once (or
    /// raises), else `(False, future)`, an asyncio future of the running loop resolved when
    /// the work is done.
    fn _start(&self, py: Python<'_>) -> PyResult<(bool, Py<PyAny>)> {
        let fut = self
            .fut
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this operation was already started"))?;
        let running = match py.detach(|| runtime::start(fut)) {
            Started::Ready(result) => return Ok((true, convert(py, result)?)),
            Started::Running(running) => running,
        };
        let event_loop = cached(py, &GET_RUNNING_LOOP, "asyncio", "get_running_loop")?.call0()?;
        let future = event_loop.call_method0("create_future")?;
        let deliver = cached(py, &AIO_DELIVER, "tokenkeeper._aio", "_deliver")?;
        let (deliver, target) = (deliver.clone().unbind(), future.clone().unbind());
        let event_loop = event_loop.unbind();
        running.on_done(move |result| {
            crate::background::attach_from_background(|py| {
                let (ok, value) = match convert(py, result) {
                    Ok(v) => (true, v),
                    Err(e) => (false, e.into_value(py).into_any()),
                };
                // Fails only if the loop was closed meanwhile: nobody is waiting any more.
                let _ = event_loop.call_method1(
                    py,
                    "call_soon_threadsafe",
                    (deliver, target, ok, value),
                );
            });
        });
        Ok((false, future.unbind()))
    }
}
