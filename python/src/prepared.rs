//! `tokenkeeper.PreparedRequest`: the core's prepared request, whose hit is the core's, with the
//! Python `Token` of the last core token it handed out, so a hit returns the same object.

use pyo3::prelude::*;

use crate::gil::GilCell;
use crate::run::{block, coroutine, Out};
use crate::token::Token;

/// A request of one `TokenClient` (`client.prepare(audience, scope, organization)`), checked
/// and normalised once: `get_token()` on it is the cheapest way to ask for the same token again
/// and again. `TokenClient.get_token` uses one per distinct request itself.
#[pyclass(frozen, module = "tokenkeeper", name = "PreparedRequest")]
pub struct PreparedRequest {
    core: tokenkeeper::PreparedRequest,
    /// The Python object of the last core token handed out: a conversion kept, not a cache
    /// (the core says which token to serve).
    last: GilCell<Option<(tokenkeeper::Token, Py<Token>)>>,
}

/// What a hit gives without any Python code run.
pub(crate) enum Hit {
    /// The core's hit, already converted.
    Object(Py<Token>),
    /// The core's hit, a token not converted yet (counted: convert it, do not ask again).
    Token(tokenkeeper::Token),
    Miss,
}

impl PreparedRequest {
    pub(crate) fn new(core: tokenkeeper::PreparedRequest) -> Self {
        Self {
            core,
            last: GilCell::new(None),
        }
    }

    pub(crate) fn core(&self) -> &tokenkeeper::PreparedRequest {
        &self.core
    }

    /// The core's hit, as the object served last when it is the same token.
    #[inline]
    pub(crate) fn hit(&self, py: Python<'_>) -> Hit {
        // Lent, not cloned: a hit on the token last wrapped touches no atomic reference count.
        let found = self.core.hit_with(|token| {
            self.last.with(py, |last| match last {
                Some((t, obj)) if t.ptr_eq(token) => Hit::Object(obj.clone_ref(py)),
                _ => Hit::Token(token.clone()),
            })
        });
        found.unwrap_or(Hit::Miss)
    }

    /// The Python object of a core token: the last one when the core handed out the same token
    /// again, otherwise a new one, kept.
    pub(crate) fn object(&self, py: Python<'_>, token: tokenkeeper::Token) -> PyResult<Py<Token>> {
        let kept = self.last.with(py, |last| match last {
            Some((t, obj)) if t.ptr_eq(&token) => Some(obj.clone_ref(py)),
            _ => None,
        });
        if let Some(obj) = kept {
            return Ok(obj);
        }
        // Built outside the cell: building runs Python code.
        let obj = Py::new(py, Token::new(py, token.clone())?)?;
        let previous = self
            .last
            .with(py, |last| last.replace((token, obj.clone_ref(py))));
        drop(previous); // may run Python code: outside the cell
        Ok(obj)
    }

    /// `get_token` of a prepared request (the hot path, else the core's fetch).
    pub(crate) fn token(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        match slf.get().hit(py) {
            Hit::Object(obj) => Ok(obj.into_any()),
            Hit::Token(t) => Ok(slf.get().object(py, t)?.into_any()),
            Hit::Miss => block(py, Self::fetch(slf)),
        }
    }

    /// `get_token_async` of a prepared request: a hit is a coroutine that is done at once.
    pub(crate) fn token_async(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        match slf.get().hit(py) {
            Hit::Object(obj) => crate::run::ready(py, obj.into_any()),
            Hit::Token(t) => crate::run::ready(py, slf.get().object(py, t)?.into_any()),
            Hit::Miss => coroutine(py, Self::fetch(slf)),
        }
    }

    /// `after_rejection` of the core, its token converted (`None`: do not retry).
    fn retry_token(
        slf: &Bound<'_, Self>,
        rejected: &Bound<'_, Token>,
    ) -> impl std::future::Future<Output = tokenkeeper::Result<Out>> + Send + 'static {
        let core = slf.get().core.clone();
        let rejected = rejected.get().core().clone();
        let this = slf.clone().unbind();
        async move {
            let fresh = core.after_rejection(&rejected).await?;
            Ok(Out::new(move |py| match fresh {
                Some(t) => Ok(this.get().object(py, t)?.into_any()),
                None => Ok(py.None()),
            }))
        }
    }

    fn fetch(
        slf: &Bound<'_, Self>,
    ) -> impl std::future::Future<Output = tokenkeeper::Result<Out>> + Send + 'static {
        let core = slf.get().core.clone();
        let this = slf.clone().unbind();
        async move {
            let token = core.get_token().await?;
            Ok(Out::new(move |py| {
                Ok(this.get().object(py, token)?.into_any())
            }))
        }
    }
}

#[pymethods]
impl PreparedRequest {
    /// A token for the request: from the cache when fresh (the same object as last time),
    /// otherwise from the token endpoint (the GIL is released while waiting).
    fn get_token(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Self::token(slf)
    }

    /// `await prepared.get_token_async()`: `get_token` without blocking the event loop.
    fn get_token_async(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Self::token_async(slf)
    }

    /// The 401 rule: an API refused `token`. Drops it if it is still the cached token (never
    /// one another caller renewed meanwhile) and returns the token to retry the call with once,
    /// or `None` when the issuer serves the same token again (do not retry).
    fn after_rejection(slf: &Bound<'_, Self>, token: &Bound<'_, Token>) -> PyResult<Py<PyAny>> {
        block(slf.py(), Self::retry_token(slf, token))
    }

    /// `await prepared.after_rejection_async(token)`: `after_rejection` without blocking the
    /// event loop.
    fn after_rejection_async(
        slf: &Bound<'_, Self>,
        token: &Bound<'_, Token>,
    ) -> PyResult<Py<PyAny>> {
        coroutine(slf.py(), Self::retry_token(slf, token))
    }

    /// The cached token if one can be served now, without waiting or counting; else `None`.
    fn cached(&self, py: Python<'_>) -> PyResult<Option<Py<Token>>> {
        self.core.cached().map(|t| self.object(py, t)).transpose()
    }

    /// Forgets the cached token of the request, for every client of the process that shares
    /// it.
    fn invalidate(&self) {
        self.core.invalidate()
    }

    /// Forgets the cached token of the request only if it is still `token` (the one an API
    /// just rejected). Whether it was forgotten.
    fn invalidate_if_current(&self, token: &Bound<'_, Token>) -> bool {
        self.core.invalidate_if_current(token.get().core())
    }

    /// The audience (the client's default one when none was given).
    #[getter]
    fn audience(&self) -> &str {
        self.core.request().audience_str()
    }

    /// The scopes, sorted, de-duplicated and space-separated; `None` when there are none.
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.core.request().scope_str()
    }

    #[getter]
    fn organization(&self) -> Option<&str> {
        self.core.request().organization_str()
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.core)
    }
}
