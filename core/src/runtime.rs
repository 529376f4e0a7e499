//! The one process-wide tokio runtime, the process-wide cache beside it, and the blocking facade.
//!
//! A forked child inherits neither the runtime's threads nor the state of any lock another
//! thread held at the fork, so after a fork the child builds both afresh (the parent's copies are
//! leaked, never dropped: dropping them would wait for threads that do not exist).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use arc_swap::ArcSwap;

use crate::cache::Cache;
use crate::error::{Error, Result};

pub(crate) struct Process {
    pub runtime: tokio::runtime::Runtime,
    pub cache: Cache,
    generation: u64,
}

/// Bumped in the child of every fork (an atomic store is async-signal-safe).
static FORKS: AtomicU64 = AtomicU64::new(0);
static SWAP: Mutex<()> = Mutex::new(());

static PROCESS: LazyLock<ArcSwap<Process>> = LazyLock::new(|| {
    #[cfg(unix)]
    {
        extern "C" fn in_child() {
            FORKS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: registers a handler that only touches an atomic.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    }
    ArcSwap::from_pointee(Process::new(FORKS.load(Ordering::SeqCst)))
});

impl Process {
    fn new(generation: u64) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tokenkeeper")
            .enable_all()
            .build()
            .expect("cannot start the tokenkeeper runtime (out of threads or memory?)");
        Self {
            runtime,
            cache: Cache::default(),
            generation,
        }
    }
}

/// Changes in a forked child; state tied to the parent's threads or sockets compares against it.
pub(crate) fn generation() -> u64 {
    LazyLock::force(&PROCESS);
    FORKS.load(Ordering::SeqCst)
}

/// The current process state; after a fork, a fresh one. A guard, not a clone: the hot path
/// touches no shared reference count.
pub(crate) fn process() -> arc_swap::Guard<Arc<Process>> {
    let cur = PROCESS.load();
    let gen = FORKS.load(Ordering::SeqCst);
    if cur.generation == gen {
        return cur;
    }
    drop(cur);
    let _guard = SWAP.lock().unwrap_or_else(|p| p.into_inner());
    let cur = PROCESS.load_full();
    if cur.generation == gen {
        return arc_swap::Guard::from_inner(cur);
    }
    std::mem::forget(cur);
    tracing::debug!("fork detected: starting a fresh runtime and cache in the child");
    let fresh = Arc::new(Process::new(gen));
    PROCESS.store(fresh.clone());
    arc_swap::Guard::from_inner(fresh)
}

/// Runs a future on the shared runtime and waits for it, from any thread.
///
/// On a foreign thread this parks the thread; on a thread of a multi-threaded tokio runtime
/// (ours or the host's) it uses `block_in_place`; a single-threaded runtime cannot be blocked
/// without deadlock, so that is refused with a configuration error.
pub fn block_on<T, F>(fut: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let in_place = can_block()?;
    let handle = process().runtime.spawn(fut);
    let wait = move || match futures::executor::block_on(handle) {
        Ok(out) => out,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Error::config("the tokenkeeper runtime was shut down")),
    };
    if in_place {
        tokio::task::block_in_place(wait)
    } else {
        wait()
    }
}

/// Whether the calling thread may block: `Ok(true)` inside a multi-threaded tokio runtime
/// (block in place), `Ok(false)` outside any runtime, an error inside a single-threaded one.
pub(crate) fn can_block() -> Result<bool> {
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
    process().runtime.spawn(fut)
}

/// A handle to the shared runtime, for bindings that drive their own async APIs on it.
pub fn handle() -> tokio::runtime::Handle {
    process().runtime.handle().clone()
}
