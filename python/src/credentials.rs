//! `tokenkeeper.CredentialsManager` over a credentials store written in Python: any object with
//! `load()`, `save(credentials)` and `clear()` (the `tokenkeeper.CredentialsStore` protocol),
//! adapted here to the core's `CredentialsStore`.
//!
//! The core calls the store one call at a time, from whatever thread runs the manager (the
//! caller's, GIL released, or one of the runtime's), and answers a store that calls back into
//! its own manager with a config error. Each call attaches to Python for its duration. An
//! exception the store raises travels through the core as `Error::Storage` with the exception
//! itself as its source; `errors::to_py_err` gives it back (a `TokenkeeperError` as raised,
//! any other as the `__cause__` of a `CredentialsStoreError`).

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokenkeeper::{Error, HostError, HostMessage};

use crate::convert::{scope_owned, seconds};
use crate::errors::to_py_err;
use crate::run::{block, coroutine, Out};
use crate::signin::{SignInClient, UserCredentials};

/// The host's store as the core's `CredentialsStore`.
struct PyStore(Py<PyAny>);

impl PyStore {
    fn call<R>(
        &self,
        method: &str,
        f: impl for<'py> FnOnce(&Bound<'py, PyAny>) -> PyResult<R>,
    ) -> tokenkeeper::Result<R> {
        let failed = |e: HostError| Error::storage(method, e);
        crate::background::attach_from_background(|py| {
            f(self.0.bind(py)).map_err(|e| failed(HostError::new(e)))
        })
        .unwrap_or_else(|| {
            let why = "the Python interpreter is shutting down".to_string();
            Err(failed(HostError::new(HostMessage(why))))
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
            store.call_method1("save", (c,)).map(drop)
        })
    }

    fn clear(&self) -> tokenkeeper::Result<()> {
        self.call("clear", |store| store.call_method0("clear").map(drop))
    }
}

/// Keeps a signed-in user's credentials valid, in a store the application provides.
#[pyclass(frozen, module = "tokenkeeper", name = "CredentialsManager")]
pub struct CredentialsManager {
    core: tokenkeeper::CredentialsManager,
    sign_in: Py<SignInClient>,
    store: Py<PyAny>,
}

impl CredentialsManager {
    /// The work of `credentials` and `credentials_async`.
    fn get(
        &self,
        py: Python<'_>,
        min_ttl: f64,
        scope: Option<&Bound<'_, PyAny>>,
        audience: Option<String>,
    ) -> PyResult<impl std::future::Future<Output = tokenkeeper::Result<Out>> + Send + 'static>
    {
        let min_ttl = seconds("min_ttl", min_ttl).map_err(|e| to_py_err(py, e))?;
        let (core, scope) = (self.core.clone(), scope_owned(scope)?);
        Ok(async move {
            core.credentials_for(min_ttl, scope.as_deref(), audience.as_deref())
                .await
                .map(crate::signin::credentials_out)
        })
    }

    /// The work of `renew` and `renew_async`.
    fn renewal(
        &self,
    ) -> impl std::future::Future<Output = tokenkeeper::Result<Out>> + Send + 'static {
        let core = self.core.clone();
        async move { core.renew().await.map(crate::signin::credentials_out) }
    }
}

#[pymethods]
impl CredentialsManager {
    /// `store`: any object with `load() -> UserCredentials | None`, `save(UserCredentials)` and
    /// `clear()` (see `tokenkeeper.CredentialsStore`), called from any thread, one call at a
    /// time.
    #[new]
    fn new(sign_in: Bound<'_, SignInClient>, store: Bound<'_, PyAny>) -> PyResult<Self> {
        for method in ["load", "save", "clear"] {
            if !store.getattr(method).is_ok_and(|m| m.is_callable()) {
                return Err(PyTypeError::new_err(format!(
                    "the credentials store has no {method}() method (it needs load, save and clear)"
                )));
            }
        }
        let adapter = Arc::new(PyStore(store.clone().unbind()));
        Ok(Self {
            core: tokenkeeper::CredentialsManager::new(sign_in.get().core.clone(), adapter),
            sign_in: sign_in.unbind(),
            store: store.unbind(),
        })
    }

    /// Valid credentials: the stored ones when the access token has at least `min_ttl` seconds
    /// left and carries every scope of `scope`, otherwise renewed with the refresh token (one
    /// renewal for all concurrent callers; a rotated refresh token is saved through the store
    /// before this returns). `ReauthenticationRequiredError` when the user must sign in again.
    /// With `audience`: an access token for that API from the same refresh token (Auth0
    /// MRRT), cached per audience and scope set.
    #[pyo3(signature = (min_ttl=60.0, scope=None, audience=None))]
    fn credentials(
        &self,
        py: Python<'_>,
        min_ttl: f64,
        scope: Option<&Bound<'_, PyAny>>,
        audience: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        block(py, self.get(py, min_ttl, scope, audience)?)
    }

    #[pyo3(signature = (min_ttl=60.0, scope=None, audience=None))]
    fn credentials_async(
        &self,
        py: Python<'_>,
        min_ttl: f64,
        scope: Option<&Bound<'_, PyAny>>,
        audience: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        coroutine(py, self.get(py, min_ttl, scope, audience)?)
    }

    /// Renews now, whatever the access token's lifetime (after an API rejected it, say).
    fn renew(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        block(py, self.renewal())
    }

    fn renew_async(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        coroutine(py, self.renewal())
    }

    /// Saves credentials obtained at sign-in (through the store).
    fn save(&self, py: Python<'_>, credentials: &UserCredentials) -> PyResult<()> {
        py.detach(|| self.core.save(&credentials.inner))
            .map_err(|e| to_py_err(py, e))
    }

    /// Whether there are stored credentials that are valid, or can be renewed.
    fn has_credentials(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.core.has_credentials())
            .map_err(|e| to_py_err(py, e))
    }

    /// The stored credentials as they are, without renewing.
    fn stored(&self, py: Python<'_>) -> PyResult<Option<UserCredentials>> {
        py.detach(|| self.core.stored())
            .map(|c| c.map(UserCredentials::wrap))
            .map_err(|e| to_py_err(py, e))
    }

    /// Signs out: clears the store and forgets everything in memory. With `revoke`, then
    /// revokes the refresh token at `/oauth/revoke` (every token rotated from that login); a
    /// failed revocation raises its error, the user signed out locally all the same.
    #[pyo3(signature = (revoke=false))]
    fn clear(&self, py: Python<'_>, revoke: bool) -> PyResult<()> {
        py.detach(|| self.core.clear_blocking(revoke))
            .map_err(|e| to_py_err(py, e))
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
