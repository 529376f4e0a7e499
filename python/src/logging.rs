//! Core events → Python's `logging`.
//!
//! The core emits `tracing` events; with tracing's `log` feature and no tracing subscriber they
//! arrive here as `log` records. Records of the `tokenkeeper` crates go to the Python logger
//! named after their module (`tokenkeeper.client`, `tokenkeeper.runtime`…, children of
//! `tokenkeeper`); everything else (HTTP and TLS internals) is dropped without touching Python.
//!
//! Written here rather than with pyo3-log (which supports pyo3 0.30): records come from the
//! core's runtime threads, which must not attach to an interpreter that is shutting down
//! (pyo3-log would panic or, on Python < 3.13, have the thread killed).
//!
//! Levels: a record below the lowest level any `tokenkeeper` logger is enabled for is dropped
//! without attaching to Python (no GIL taken on a runtime thread). That threshold is kept in an
//! atomic, recomputed whenever Python's own level cache is cleared (`setLevel` and `disable`
//! call `Logger.manager._clear_cache`, which the bridge wraps), so `setLevel` takes effect at
//! once, as it does for Python's `isEnabledFor`; and at most every `RECHECK` on a dropped
//! record, for levels assigned without `setLevel`. Records above it ask Python each time.
//!
//! The core never puts a secret in an event; tests check that with captured logs.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyTuple};

struct Bridge;

static GET_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// The `threshold()` of `LEVELS`, once its watch is installed.
static THRESHOLD_FN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The lowest Python level a `tokenkeeper` logger is enabled for; 0 until first computed.
static THRESHOLD: AtomicU32 = AtomicU32::new(0);
/// When `THRESHOLD` was computed, in milliseconds since `EPOCH`.
static CHECKED: AtomicU64 = AtomicU64::new(0);
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
const RECHECK: Duration = Duration::from_secs(5);

const LEVELS: &std::ffi::CStr = cr#"
import logging

def threshold():
    m = logging.Logger.manager
    levels = [logging.getLogger("tokenkeeper").getEffectiveLevel()]
    for name, lg in list(m.loggerDict.items()):
        if name.startswith("tokenkeeper.") and isinstance(lg, logging.Logger):
            levels.append(lg.getEffectiveLevel())
    return max(min(levels), m.disable + 1)

def watch(changed):
    m = logging.Logger.manager
    clear = m._clear_cache
    def _clear_cache():
        clear()
        changed()
    m._clear_cache = _clear_cache
"#;

fn since_epoch() -> u64 {
    EPOCH.elapsed().as_millis() as u64
}

/// Recomputes `THRESHOLD` (installing the watch on first use).
fn refresh(py: Python<'_>) -> PyResult<u32> {
    let f = THRESHOLD_FN.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        let m = PyModule::from_code(
            py,
            LEVELS,
            c"tokenkeeper_log_levels.py",
            c"_tokenkeeper_log_levels",
        )?;
        let changed = PyCFunction::new_closure(py, None, None, |args, _| {
            let _ = refresh(args.py());
        })?;
        m.getattr("watch")?.call1((changed,))?;
        Ok(m.getattr("threshold")?.unbind())
    })?;
    let t: u32 = f.bind(py).call0()?.extract()?;
    THRESHOLD.store(t.max(1), Ordering::Release);
    CHECKED.store(since_epoch(), Ordering::Release);
    Ok(t)
}

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
        forwarded(metadata.target()) && !crate::background::finalizing()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = python_level(record.level());
        let threshold = THRESHOLD.load(Ordering::Acquire);
        let (checked, now) = (CHECKED.load(Ordering::Acquire), since_epoch());
        // One thread per interval takes the recheck.
        let stale = now.saturating_sub(checked) > RECHECK.as_millis() as u64
            && CHECKED
                .compare_exchange(checked, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
        if threshold != 0 && level < threshold && !stale {
            return;
        }
        let name = record.target().replace("::", ".");
        let message = record.args().to_string();
        crate::background::attach_from_background(|py| {
            // Keep an exception the caller was already raising.
            let pending = PyErr::take(py);
            let below = (threshold == 0 || stale) && refresh(py).is_ok_and(|t| level < t);
            if !below {
                let _ = emit(py, &name, level, &message, record);
            }
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
