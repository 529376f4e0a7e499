//! Core events → Python's `logging`.
//!
//! The core emits `tracing` events; with tracing's `log` feature and no tracing subscriber they
//! arrive here as `log` records. Records of the `tokenkeeper` crates go to the Python logger
//! named after their module (`tokenkeeper.client`, `tokenkeeper.runtime`…, children of
//! `tokenkeeper`); everything else (HTTP and TLS internals) is dropped without touching Python.
//!
//! Written here rather than with pyo3-log (which supports pyo3 0.30) for two reasons: records
//! come from the core's runtime threads, which must not attach to an interpreter that is
//! shutting down (pyo3-log would panic or, on Python < 3.13, have the thread killed); and levels
//! are asked of Python each time rather than cached, so `setLevel` at any time takes effect.
//! Records are rare (a few per token fetch, none on a cache hit), so that costs nothing.
//!
//! The core never puts a secret in an event; tests check that with captured logs.

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

struct Bridge;

static GET_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn forwarded(target: &str) -> bool {
    target == "tokenkeeper" || target.starts_with("tokenkeeper::")
}

fn python_level(level: Level) -> u32 {
    match level {
        Level::Error => 40,
        Level::Warn => 30,
        Level::Info => 20,
        Level::Debug => 10,
        Level::Trace => 5,
    }
}

impl Log for Bridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        forwarded(metadata.target()) && !crate::finalizing()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let name = record.target().replace("::", ".");
        let message = record.args().to_string();
        let level = python_level(record.level());
        crate::attach_from_background(|py| {
            // Keep an exception the caller was already raising.
            let pending = PyErr::take(py);
            let _ = emit(py, &name, level, &message, record);
            if let Some(e) = pending {
                e.restore(py);
            }
        });
    }

    fn flush(&self) {}
}

fn emit(
    py: Python<'_>,
    name: &str,
    level: u32,
    message: &str,
    record: &Record<'_>,
) -> PyResult<()> {
    let get_logger = GET_LOGGER.get_or_try_init(py, || {
        py.import("logging")?
            .getattr("getLogger")
            .map(Bound::unbind)
    })?;
    let logger = get_logger.bind(py).call1((name,))?;
    if !logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        return Ok(());
    }
    let rec = logger.call_method1(
        "makeRecord",
        (
            name,
            level,
            record.file().unwrap_or("<rust>"),
            record.line().unwrap_or(0),
            message,
            PyTuple::empty(py),
            py.None(),
        ),
    )?;
    logger.call_method1("handle", (rec,))?;
    Ok(())
}

/// Installs the bridge as this library's `log` logger (once; each extension module has its own
/// `log` state, so this never conflicts with another library).
pub(crate) fn install() {
    if log::set_logger(&Bridge).is_ok() {
        log::set_max_level(LevelFilter::Trace);
    }
}
