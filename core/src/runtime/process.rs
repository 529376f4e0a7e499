//! State that belongs to one process: rebuilt in a forked child, never shared with the parent.

use std::ops::Deref;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};

/// Bumped in the child of every fork (an atomic store is async-signal-safe).
static FORKS: AtomicU64 = AtomicU64::new(0);
static AT_FORK: Once = Once::new();

fn watch_forks() {
    AT_FORK.call_once(|| {
        #[cfg(unix)]
        {
            extern "C" fn in_child() {
                FORKS.fetch_add(1, Ordering::SeqCst);
            }
            // SAFETY: registers a handler that only touches an atomic.
            let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            if rc != 0 {
                tracing::error!(
                    rc,
                    "pthread_atfork failed: a forked child would reuse the parent's runtime"
                );
            }
        }
    });
}

/// Changes in a forked child; state tied to the parent's threads or sockets compares against it.
///
/// See the example on the [`runtime`](crate::runtime) module.
pub fn generation() -> u64 {
    watch_forks();
    FORKS.load(Ordering::SeqCst)
}

/// [`generation`] without making sure the fork handler is registered: for checks of a value
/// taken after a call of [`generation`] (a fork since then shows).
#[inline]
pub(crate) fn forks() -> u64 {
    FORKS.load(Ordering::SeqCst)
}

struct Held<T> {
    generation: u64,
    value: T,
}

/// A value made once per process: the first use makes it, and the first use in a forked child
/// makes a fresh one. Reads are two plain atomic loads: each process's value is leaked (it
/// lives as long as the process anyway, and a parent's copy in a child must never be dropped:
/// its drop could wait for threads that only the parent has).
pub(crate) struct PerProcess<T: Send + Sync + 'static> {
    slot: AtomicPtr<Held<T>>,
    swap: Mutex<()>,
    make: fn() -> T,
}

/// A read of a [`PerProcess`] value.
pub(crate) struct Current<T: 'static>(&'static Held<T>);

impl<T> Deref for Current<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0.value
    }
}

impl<T: Send + Sync + 'static> PerProcess<T> {
    pub const fn new(make: fn() -> T) -> Self {
        Self {
            slot: AtomicPtr::new(std::ptr::null_mut()),
            swap: Mutex::new(()),
            make,
        }
    }

    #[inline]
    pub fn get(&self) -> Current<T> {
        let gen = FORKS.load(Ordering::SeqCst);
        // SAFETY: a non-null pointer is a leaked `Box<Held<T>>`, never freed.
        match unsafe { self.slot.load(Ordering::Acquire).as_ref() } {
            Some(held) if held.generation == gen => Current(held),
            _ => self.renew(),
        }
    }

    #[cold]
    fn renew(&self) -> Current<T> {
        let gen = generation();
        let _one = self.swap.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: as in `get`.
        if let Some(held) = unsafe { self.slot.load(Ordering::Acquire).as_ref() } {
            if held.generation == gen {
                return Current(held);
            }
            tracing::debug!("fork detected: fresh per-process state in the child");
        }
        let held: &'static Held<T> = Box::leak(Box::new(Held {
            generation: gen,
            value: (self.make)(),
        }));
        self.slot
            .store(held as *const Held<T> as *mut Held<T>, Ordering::Release);
        Current(held)
    }
}

/// A value of one object that must not cross a fork (an async lock another thread of the
/// parent may hold): the first use in a forked child replaces it with a fresh default.
pub(crate) struct PerFork<T: Default> {
    cur: arc_swap::ArcSwap<(u64, Arc<T>)>,
}

impl<T: Default> Default for PerFork<T> {
    fn default() -> Self {
        Self {
            cur: arc_swap::ArcSwap::from_pointee((generation(), Arc::default())),
        }
    }
}

impl<T: Default> PerFork<T> {
    pub fn get(&self) -> Arc<T> {
        let gen = FORKS.load(Ordering::SeqCst);
        let cur = self.cur.load();
        if cur.0 == gen {
            return cur.1.clone();
        }
        let fresh = Arc::new(T::default());
        self.cur.store(Arc::new((gen, fresh.clone())));
        fresh
    }
}
