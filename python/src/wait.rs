//! Driving the core's futures from a Python thread: one poll with the GIL held (a cache hit is
//! answered there), then waiting with the GIL released.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// How often a waiting thread takes the GIL back to let Python handle signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Polls once without any waiting. The core answers a cache hit on this first poll.
pub(crate) fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Waits for `fut` with the GIL released. The work itself runs on the core's runtime (the
/// futures the core hands out are backed by tasks spawned there); this thread only parks.
/// Every [`SIGNAL_CHECK`] it re-attaches to run Python's signal handlers, so Ctrl-C interrupts
/// a slow fetch (the fetch goes on for any other waiter).
pub(crate) fn wait<F>(py: Python<'_>, mut fut: Pin<&mut F>) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    loop {
        let out = py.detach(|| {
            let mut cx = Context::from_waker(&waker);
            let deadline = Instant::now() + SIGNAL_CHECK;
            loop {
                if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                    return Some(v);
                }
                let now = Instant::now();
                if now >= deadline {
                    return None;
                }
                thread::park_timeout(deadline - now);
            }
        });
        match out {
            Some(v) => return Ok(v),
            None => py.check_signals()?,
        }
    }
}
