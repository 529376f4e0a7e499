//! The one process-wide tokio runtime, a fork-aware holder for per-process state, and the one
//! driver every blocking and async facade uses ([`drive`], [`start`], [`on_runtime`]).
//!
//! A forked child inherits neither the runtime's threads nor the state of any lock another
//! thread held at the fork, so after a fork the child builds its per-process state afresh (the
//! parent's copies are leaked, never dropped: dropping them would wait for threads that do
//! not exist).
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use tokenkeeper::runtime::{self, Started};
//! use tokenkeeper::Error;
//!
//! // Blocking, from any thread but one of a single-threaded tokio runtime.
//! let four = runtime::block_on(async { Ok::<_, Error>(2 + 2) })?;
//! assert_eq!(four, 4);
//!
//! // What a binding does: its hook runs each step (say, with its own lock released).
//! let out = runtime::drive(async { Ok::<_, Error>("done") }, |step| {
//!     step();
//!     Ok::<(), Infallible>(())
//! });
//! assert_eq!(out.unwrap()?, "done");
//!
//! // Polled once here: work that needs no I/O is ready at once.
//! match runtime::start(async { Ok::<_, Error>(1) }) {
//!     Started::Ready(result) => assert_eq!(result?, 1),
//!     Started::Running(running) => running.on_done(|result| println!("{result:?}")),
//! }
//! # Ok::<(), Error>(())
//! ```

mod driver;
mod process;

pub(crate) use driver::joined;
pub use driver::{drive, on_runtime, start, OnRuntime, Running, Started};
pub use process::generation;
pub(crate) use process::{forks, Current, PerFork, PerProcess};

use std::future::Future;

use crate::error::{Error, Result};

struct Runtime(tokio::runtime::Runtime);

static RUNTIME: PerProcess<Runtime> = PerProcess::new(|| {
    Runtime(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tokenkeeper")
            .enable_all()
            .build()
            .expect("cannot start the tokenkeeper runtime (out of threads or memory?)"),
    )
});

/// Runs a future on the shared runtime and waits for it, from any thread: polled once on
/// the calling thread, then finished on the runtime while this thread parks.
///
/// On a thread of a multi-threaded tokio runtime (ours or the host's) the wait uses
/// `block_in_place`; a single-threaded runtime cannot be blocked without deadlock, so that is
/// refused with a configuration error.
///
/// See the example on the [`runtime`](crate::runtime) module.
pub fn block_on<T, F>(fut: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    drive(fut, |park| {
        park();
        Ok::<(), Error>(())
    })?
}

/// Whether the calling thread may block: `Ok(true)` inside a multi-threaded tokio runtime
/// (block in place), `Ok(false)` outside any runtime, an error inside a single-threaded one.
///
/// See the example on the [`runtime`](crate::runtime) module.
pub fn can_block() -> Result<bool> {
    match tokio::runtime::Handle::try_current() {
        Err(_) => Ok(false),
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => Ok(true),
        Ok(_) => Err(Error::config(
            "a blocking tokenkeeper call was made from a single-threaded async runtime; use the async API",
        )),
    }
}

/// Spawns a future on the shared runtime (for work that must outlive its caller).
pub(crate) fn spawn<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    RUNTIME.get().0.spawn(fut)
}

/// A handle to the shared runtime (this process's: a fresh one after a fork).
///
/// See the example on the [`runtime`](crate::runtime) module.
pub fn handle() -> tokio::runtime::Handle {
    RUNTIME.get().0.handle().clone()
}
