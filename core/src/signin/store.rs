//! The storage interface the host implements (Keychain, Keystore, a file, a Python object…),
//! and the guard through which a manager calls it.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::user_credentials::UserCredentials;
use crate::error::{Error, Result};
use crate::runtime::PerFork;

/// Where the manager keeps a user's credentials. Implemented by the host: synchronous,
/// object-safe, called from any thread (often one of the shared runtime's workers: keep each
/// call short).
///
/// The contract, the same on every surface: a manager calls its store one call at a time
/// (never two at once, the first `load` included), and a store method that calls back into
/// the manager that called it gets [`Error::Config`] at once (it would otherwise wait for
/// itself). That is detected per thread: a method that hands a call to the manager to another
/// thread and waits for it deadlocks instead. A failing method returns [`Error::Storage`] with
/// the host's error as its source. A process forked while a method runs gets a store free of
/// the parent's call.
///
/// # Example
///
/// ```
/// use std::io::ErrorKind::NotFound;
/// use std::path::PathBuf;
/// use tokenkeeper::{CredentialsStore, Error, HostError, Result, UserCredentials};
///
/// /// One JSON blob in a file (a real store would restrict its permissions).
/// struct FileStore(PathBuf);
///
/// impl CredentialsStore for FileStore {
///     fn load(&self) -> Result<Option<UserCredentials>> {
///         match std::fs::read_to_string(&self.0) {
///             Ok(json) => UserCredentials::from_json(&json).map(Some),
///             Err(e) if e.kind() == NotFound => Ok(None),
///             Err(e) => Err(Error::storage("load", HostError::new(e))),
///         }
///     }
///
///     fn save(&self, credentials: &UserCredentials) -> Result<()> {
///         std::fs::write(&self.0, credentials.to_json())
///             .map_err(|e| Error::storage("save", HostError::new(e)))
///     }
///
///     fn clear(&self) -> Result<()> {
///         match std::fs::remove_file(&self.0) {
///             Err(e) if e.kind() != NotFound => Err(Error::storage("clear", HostError::new(e))),
///             _ => Ok(()),
///         }
///     }
/// }
/// ```
///
/// See the example on [`CredentialsManager`](crate::CredentialsManager) for its use.
pub trait CredentialsStore: Send + Sync {
    /// The saved credentials, if any.
    fn load(&self) -> Result<Option<UserCredentials>>;
    /// Replaces the saved credentials (atomically, if the medium allows).
    fn save(&self, credentials: &UserCredentials) -> Result<()>;
    /// Forgets them (sign-out).
    fn clear(&self) -> Result<()>;
}

/// A store in memory (tests, or processes that sign in every time).
#[derive(Default)]
pub struct MemoryStore(Mutex<Option<UserCredentials>>);

impl MemoryStore {
    /// An empty store.
    ///
    /// See the example on [`CredentialsManager`](crate::CredentialsManager).
    pub fn new() -> Self {
        Self::default()
    }
}

impl CredentialsStore for MemoryStore {
    fn load(&self) -> Result<Option<UserCredentials>> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    fn save(&self, credentials: &UserCredentials) -> Result<()> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(credentials.clone());
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryStore")
    }
}

/// A manager's store, called one call at a time, and never from inside one of its own calls.
///
/// A call from inside one of its own calls is detected on the same thread only: a store
/// method that hands the call to another thread and waits for it deadlocks (documented on
/// [`CredentialsStore`]).
pub(crate) struct GuardedStore {
    store: Arc<dyn CredentialsStore>,
    /// Per fork (review N13): a child forked while a parent's thread runs a store method
    /// would otherwise find it locked forever.
    one: PerFork<Mutex<()>>,
    id: usize,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// The guarded stores whose method is running on this thread.
    static IN_STORE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

impl GuardedStore {
    pub fn new(store: Arc<dyn CredentialsStore>) -> Self {
        Self {
            store,
            one: PerFork::default(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// An error when this thread is inside a method of this store (a store calling back into
    /// its own manager).
    pub fn not_reentered(&self) -> Result<()> {
        if IN_STORE.with(|s| s.borrow().contains(&self.id)) {
            return Err(Error::config(
                "a credentials store method called back into the manager that is waiting for \
                 it; a store must not call its CredentialsManager",
            ));
        }
        Ok(())
    }

    fn call<R>(&self, f: impl FnOnce(&dyn CredentialsStore) -> Result<R>) -> Result<R> {
        self.not_reentered()?;
        let one = self.one.get();
        let _one = one.lock().unwrap_or_else(|p| p.into_inner());
        IN_STORE.with(|s| s.borrow_mut().push(self.id));
        struct Leave(usize);
        impl Drop for Leave {
            fn drop(&mut self) {
                IN_STORE.with(|s| {
                    let mut s = s.borrow_mut();
                    if let Some(i) = s.iter().rposition(|x| *x == self.0) {
                        s.remove(i);
                    }
                });
            }
        }
        let _leave = Leave(self.id);
        f(&*self.store)
    }

    pub fn load(&self) -> Result<Option<UserCredentials>> {
        self.call(|s| s.load())
    }

    pub fn save(&self, credentials: &UserCredentials) -> Result<()> {
        self.call(|s| s.save(credentials))
    }

    pub fn clear(&self) -> Result<()> {
        self.call(|s| s.clear())
    }
}
