//! The one driver behind every blocking and async facade of every surface.
//!
//! [`start`] polls a future once on the calling thread, inside the runtime's context: whatever
//! needs no I/O (a cache hit, a verification with the JWKS cached, stored credentials that are
//! still valid) completes there, with no thread switch. Otherwise the same future, already
//! started, is handed to the runtime ([`Running`]). [`drive`] does that for blocking callers and
//! then parks; its hook wraps the first poll and each slice of parking, so a binding can release
//! a lock around them (Python's GIL) and check for interrupts between them (Ctrl-C).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// How long one slice of parking lasts before the hook runs again.
const SLICE: Duration = Duration::from_millis(100);

/// A future polled once on the calling thread.
pub enum Started<T> {
    /// Done on the first poll.
    Ready(Result<T>),
    /// Going on on the shared runtime.
    Running(Running<T>),
}

/// Work that goes on on the shared runtime; wait for it, or be called when it is done.
pub struct Running<T> {
    task: JoinHandle<Result<T>>,
}

/// Polls `fut` once here, in the runtime's context; hands it to the runtime if not done.
///
/// See the example on the [`runtime`](crate::runtime) module.
pub fn start<T, F>(fut: F) -> Started<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut fut = Box::pin(fut);
    let handle = super::handle();
    let first = {
        let _context = handle.enter();
        fut.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    };
    match first {
        Poll::Ready(out) => Started::Ready(out),
        Poll::Pending => Started::Running(Running {
            task: handle.spawn(fut),
        }),
    }
}

/// Runs `fut` to completion for a blocking caller. `hook` is called with a step to run (the
/// first poll, then one slice of parking at a time) until the work is done; an error from the
/// hook (an interrupt) stops waiting at once and is returned as the outer error, while the
/// work goes on on the runtime for any other waiter.
///
/// See the example on the [`runtime`](crate::runtime) module.
pub fn drive<T, E, F, H>(fut: F, mut hook: H) -> Result<Result<T>, E>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
    H: FnMut(&mut (dyn FnMut() + Send)) -> Result<(), E>,
{
    let in_place = match super::can_block() {
        Ok(b) => b,
        Err(e) => return Ok(Err(e)),
    };
    let mut fut = Some(fut);
    let mut running: Option<Running<T>> = None;
    let mut out: Option<Result<T>> = None;
    loop {
        hook(&mut || {
            if let Some(f) = fut.take() {
                match start(f) {
                    Started::Ready(r) => out = Some(r),
                    Started::Running(r) => running = Some(r),
                }
            } else if let Some(r) = running.as_mut() {
                let mut park = || r.wait_timeout(SLICE);
                out = if in_place {
                    tokio::task::block_in_place(park)
                } else {
                    park()
                };
            }
        })?;
        if let Some(r) = out.take() {
            return Ok(r);
        }
    }
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

impl<T: Send + 'static> Running<T> {
    /// Parks this thread until the work is done or `timeout` has passed.
    ///
    /// See the example on the [`runtime`](crate::runtime) module.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<T>> {
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let deadline = Instant::now() + timeout;
        loop {
            if let Poll::Ready(r) = Pin::new(&mut self.task).poll(&mut cx) {
                return Some(joined(r));
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            thread::park_timeout(deadline - now);
        }
    }

    /// Calls `done` with the result, on a runtime thread, once the work is done.
    ///
    /// See the example on the [`runtime`](crate::runtime) module.
    pub fn on_done(self, done: impl FnOnce(Result<T>) + Send + 'static) {
        let task = self.task;
        super::spawn(async move { done(joined(task.await)) });
    }
}

/// The result of a task of the shared runtime (its panic goes on in the caller).
pub(crate) fn joined<T>(r: Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    match r {
        Ok(out) => out,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Error::config("the tokenkeeper runtime was shut down")),
    }
}

/// A future that runs inside the shared runtime's context whatever executor polls it, so the
/// core's timers and connections always belong to the shared runtime (a foreign executor,
/// Kotlin's or Swift's or asyncio's, can await the core's futures directly).
pub struct OnRuntime<F> {
    fut: Pin<Box<F>>,
}

/// Wraps `fut` in [`OnRuntime`].
///
/// See the example on the [`runtime`](crate::runtime) module.
pub fn on_runtime<F: Future>(fut: F) -> OnRuntime<F> {
    OnRuntime { fut: Box::pin(fut) }
}

impl<F: Future> Future for OnRuntime<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _context = super::RUNTIME.get().0.enter();
        self.fut.as_mut().poll(cx)
    }
}
