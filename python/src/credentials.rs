//! `tokenkeeper.CredentialsManager` over a credentials store written in Python: any object with
//! `load()`, `save(credentials)` and `clear()` (the `tokenkeeper.CredentialsStore` protocol),
//! adapted here to the core's `CredentialsStore`.
//!
//! The core calls the store from whatever thread runs the manager: the caller's thread (a
//! manager call first runs on it, GIL released) or one of the core's runtime threads (during a
//! renewal). Each call attaches to Python for its duration; no tokenkeeper call ever blocks
//! while holding the GIL, so the store can always run while a caller waits.
//!
//! An exception raised by the store becomes, inside the core, a `Config` error whose message
//! names the method and the exception; the exception itself is kept here and given back to the
//! caller: a `TokenkeeperError` raised by the store unchanged, any other as the `__cause__` of a
//! `CredentialsStoreError`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};
use tokenkeeper::Error;

use crate::client::{scope_text, seconds};
use crate::run::{block, coroutine, py_err, InStore, Out};
use crate::signin::{SignInClient, UserCredentials};

/// How many store exceptions are kept for their callers (the core may swallow some: a failed
/// re-save is only logged).
const KEPT: usize = 8;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Exceptions the store raised, by the message of the core error that stands for each.
#[derive(Default)]
pub(crate) struct StoreErrors(Mutex<VecDeque<(String, Py<PyAny>)>>);

impl StoreErrors {
    /// Keeps the exception; returns the core error that carries it through the core.
    fn record(&self, py: Python<'_>, method: &str, err: PyErr) -> Error {
        let value = err.into_value(py).into_any();
        let exc = value.bind(py);
        let name = exc
            .get_type()
            .qualname()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "exception".into());
        let text = exc.str().map(|s| s.to_string()).unwrap_or_default();
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(300)
            .collect();
        let message = if text.trim().is_empty() {
            format!("the credentials store's {method}() raised {name}")
        } else {
            format!(
                "the credentials store's {method}() raised {name}: {}",
                text.trim()
            )
        };
        let mut kept = lock(&self.0);
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back((message.clone(), value));
        Error::Config(message)
    }

    /// The Python exception for a core error: the store's, when this error stands for one.
    pub(crate) fn convert(&self, py: Python<'_>, e: Error) -> PyErr {
        if let Error::Config(message) = &e {
            let found = {
                let mut kept = lock(&self.0);
                kept.iter()
                    .position(|(m, _)| m == message)
                    .and_then(|i| kept.remove(i))
            };
            if let Some((message, original)) = found {
                return self
                    .store_error(py, message, original)
                    .unwrap_or_else(|failure| failure);
            }
        }
        crate::errors::to_py_err(py, e)
    }

    fn store_error(&self, py: Python<'_>, message: String, original: Py<PyAny>) -> PyResult<PyErr> {
        let errors = ERRORS
            .get_or_try_init(py, || py.import("tokenkeeper.errors").map(Bound::unbind))?
            .bind(py);
        let original = original.into_bound(py);
        if original.is_instance(&errors.getattr("TokenkeeperError")?)? {
            // The store chose a tokenkeeper error (ReauthenticationRequiredError…): as raised.
            return Ok(PyErr::from_value(original));
        }
        let exc = errors.getattr("CredentialsStoreError")?.call1((message,))?;
        let err = PyErr::from_value(exc);
        err.set_cause(py, Some(PyErr::from_value(original)));
        Ok(err)
    }
}

/// The host's store as the core's `CredentialsStore`.
struct PyStore {
    obj: Py<PyAny>,
    errors: Arc<StoreErrors>,
}

impl PyStore {
    fn call<R>(
        &self,
        method: &str,
        f: impl for<'py> FnOnce(&Bound<'py, PyAny>) -> PyResult<R>,
    ) -> tokenkeeper::Result<R> {
        crate::attach_from_background(|py| {
            let _in_store = InStore::enter();
            f(self.obj.bind(py)).map_err(|e| self.errors.record(py, method, e))
        })
        .unwrap_or_else(|| {
            Err(Error::Config(
                "the credentials store cannot be called: the Python interpreter is shutting down"
                    .into(),
            ))
        })
    }
}

impl tokenkeeper::CredentialsStore for PyStore {
    fn load(&self) -> tokenkeeper::Result<Option<tokenkeeper::UserCredentials>> {
        self.call("load", |store| {
            let got = store.call_method0("load")?;
            if got.is_none() {
                return Ok(None);
            }
            match got.cast::<UserCredentials>() {
                Ok(c) => Ok(Some(c.get().inner.clone())),
                Err(_) => Err(PyTypeError::new_err(format!(
                    "load() returned {}, not UserCredentials or None",
                    got.get_type().qualname()?
                ))),
            }
        })
    }

    fn save(&self, credentials: &tokenkeeper::UserCredentials) -> tokenkeeper::Result<()> {
        self.call("save", |store| {
            let c = Py::new(store.py(), UserCredentials::wrap(credentials.clone()))?;
            store.call_method1("save", (c,))?;
            Ok(())
        })
    }

    fn clear(&self) -> tokenkeeper::Result<()> {
        self.call("clear", |store| {
            store.call_method0("clear")?;
            Ok(())
        })
    }
}

/// Keeps a signed-in user's credentials valid, in a store the application provides.
#[pyclass(frozen, module = "tokenkeeper", name = "CredentialsManager")]
pub struct CredentialsManager {
    core: tokenkeeper::CredentialsManager,
    errors: Arc<StoreErrors>,
    sign_in: Py<SignInClient>,
    store: Py<PyAny>,
}

impl CredentialsManager {
    fn min_ttl(py: Python<'_>, min_ttl: f64) -> PyResult<Duration> {
        seconds("min_ttl", Some(min_ttl), Duration::ZERO)
            .map_err(|e| crate::errors::to_py_err(py, e))
    }

    fn err(&self, py: Python<'_>, e: Error) -> PyErr {
        py_err(py, e, Some(&self.errors))
    }
}

#[pymethods]
impl CredentialsManager {
    /// `store`: any object with `load() -> UserCredentials | None`, `save(UserCredentials)` and
    /// `clear()` (see `tokenkeeper.CredentialsStore`), called from any thread.
    #[new]
    fn new(sign_in: Bound<'_, SignInClient>, store: Bound<'_, PyAny>) -> PyResult<Self> {
        for method in ["load", "save", "clear"] {
            let callable = store
                .getattr(method)
                .map(|m| m.is_callable())
                .unwrap_or(false);
            if !callable {
                return Err(PyTypeError::new_err(format!(
                    "the credentials store has no {method}() method (it needs load, save and clear)"
                )));
            }
        }
        let errors = Arc::new(StoreErrors::default());
        let adapter = Arc::new(PyStore {
            obj: store.clone().unbind(),
            errors: errors.clone(),
        });
        Ok(Self {
            core: tokenkeeper::CredentialsManager::new(sign_in.get().core.clone(), adapter),
            errors,
            sign_in: sign_in.unbind(),
            store: store.unbind(),
        })
    }

    /// Valid credentials: the stored ones when the access token has at least `min_ttl` seconds
    /// left and carries every scope of `scope`, otherwise renewed with the refresh token (one
    /// renewal for all concurrent callers; a rotated refresh token is saved through the store
    /// before this returns). `ReauthenticationRequiredError` when the user must sign in again.
    #[pyo3(signature = (min_ttl=60.0, scope=None))]
    fn credentials(
        &self,
        py: Python<'_>,
        min_ttl: f64,
        scope: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (core, min_ttl) = (self.core.clone(), Self::min_ttl(py, min_ttl)?);
        let scope = scope_text(scope)?.map(|s| s.into_owned());
        block(
            py,
            async move {
                core.credentials(min_ttl, scope.as_deref())
                    .await
                    .map(Out::Credentials)
            },
            Some(&self.errors),
        )
    }

    #[pyo3(signature = (min_ttl=60.0, scope=None))]
    fn credentials_async(
        &self,
        py: Python<'_>,
        min_ttl: f64,
        scope: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (core, min_ttl) = (self.core.clone(), Self::min_ttl(py, min_ttl)?);
        let scope = scope_text(scope)?.map(|s| s.into_owned());
        coroutine(
            py,
            async move {
                core.credentials(min_ttl, scope.as_deref())
                    .await
                    .map(Out::Credentials)
            },
            Some(self.errors.clone()),
        )
    }

    /// Renews now, whatever the access token's lifetime (after an API rejected it, say).
    fn renew(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        block(
            py,
            async move { core.renew().await.map(Out::Credentials) },
            Some(&self.errors),
        )
    }

    fn renew_async(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        coroutine(
            py,
            async move { core.renew().await.map(Out::Credentials) },
            Some(self.errors.clone()),
        )
    }

    /// Saves credentials obtained at sign-in (through the store).
    fn save(&self, py: Python<'_>, credentials: &UserCredentials) -> PyResult<()> {
        py.detach(|| self.core.save(&credentials.inner))
            .map_err(|e| self.err(py, e))
    }

    /// Whether there are stored credentials that are valid, or can be renewed.
    fn has_credentials(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.core.has_credentials())
            .map_err(|e| self.err(py, e))
    }

    /// The stored credentials as they are, without renewing.
    fn stored(&self, py: Python<'_>) -> PyResult<Option<UserCredentials>> {
        py.detach(|| self.core.stored())
            .map(|c| c.map(UserCredentials::wrap))
            .map_err(|e| self.err(py, e))
    }

    /// Signs out locally: clears the store and forgets everything in memory.
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.core.clear()).map_err(|e| self.err(py, e))
    }

    /// Counters: `renewals` (refresh grants sent), `rotations` (renewals that returned a new
    /// refresh token), `hits` (answered from the store).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.core.stats();
        let d = PyDict::new(py);
        d.set_item("renewals", s.renewals)?;
        d.set_item("rotations", s.rotations)?;
        d.set_item("hits", s.hits)?;
        Ok(d)
    }

    #[getter]
    fn sign_in(&self, py: Python<'_>) -> Py<SignInClient> {
        self.sign_in.clone_ref(py)
    }

    #[getter]
    fn store(&self, py: Python<'_>) -> Py<PyAny> {
        self.store.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "CredentialsManager(sign_in={}, store={})",
            self.sign_in.bind(py).repr()?,
            self.store.bind(py).get_type().qualname()?,
        ))
    }
}
