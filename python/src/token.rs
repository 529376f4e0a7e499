//! `tokenkeeper.Token`: a core token with its Python values built once, when it is fetched.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

/// An access token. Neither `str(token)` nor `repr(token)` shows it (so an f-string, a `%s` of
/// `logging` or a `print` never leaks it): `token.access_token` and `token.authorization_header`
/// are the secret, read on purpose.
#[pyclass(frozen, module = "tokenkeeper", name = "Token")]
pub struct Token {
    inner: tokenkeeper::Token,
    /// The access token itself (a secret: do not log it).
    // Plain members of a frozen class: pyo3 makes them `PyMemberDef`s, read by Python
    // without calling into Rust.
    #[pyo3(get)]
    access_token: Py<PyString>,
    /// `"Bearer <access token>"`, ready for an `Authorization` header (built once per token).
    #[pyo3(get)]
    authorization_header: Py<PyString>,
    expires_at: Py<PyAny>,
}

impl Token {
    /// Built once per fetched token; every cache hit returns the same object.
    pub(crate) fn new(py: Python<'_>, inner: tokenkeeper::Token) -> PyResult<Self> {
        Ok(Self {
            access_token: PyString::new(py, inner.access_token()).unbind(),
            authorization_header: PyString::new(py, inner.authorization_header()).unbind(),
            expires_at: utc_datetime(py, inner.expires_at_unix())?.unbind(),
            inner,
        })
    }

    /// The core token (for `TokenClient.invalidate_if_current`, which compares by identity).
    pub(crate) fn core(&self) -> &tokenkeeper::Token {
        &self.inner
    }
}

static FROMTIMESTAMP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A timezone-aware UTC `datetime` (abi3 has no C datetime API: through Python).
pub(crate) fn utc_datetime(py: Python<'_>, unix: f64) -> PyResult<Bound<'_, PyAny>> {
    let from = FROMTIMESTAMP.get_or_try_init(py, || {
        py.import("datetime")?
            .getattr("datetime")?
            .getattr("fromtimestamp")
            .map(Bound::unbind)
    })?;
    let utc = UTC.get_or_try_init(py, || {
        py.import("datetime")?
            .getattr("timezone")?
            .getattr("utc")
            .map(Bound::unbind)
    })?;
    from.bind(py).call1((unix, utc))
}

#[pymethods]
impl Token {
    /// `Bearer`, as the server spelled it.
    #[getter]
    fn token_type(&self) -> &str {
        self.inner.token_type()
    }

    /// Lifetime granted by the server, in seconds.
    #[getter]
    fn expires_in(&self) -> u64 {
        self.inner.expires_in()
    }

    /// When the token expires: a timezone-aware UTC `datetime`, measured from when the request
    /// was sent (never late).
    #[getter]
    fn expires_at(&self, py: Python<'_>) -> Py<PyAny> {
        self.expires_at.clone_ref(py)
    }

    /// Granted scopes (space-separated, sorted), when the server said.
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.inner.scope()
    }

    /// Seconds left before expiry (0.0 once expired).
    #[getter]
    fn remaining(&self) -> f64 {
        self.inner.remaining().as_secs_f64()
    }

    /// Redacted, as `repr`: a token that ends up in a message or a log line shows no secret.
    fn __str__(&self) -> String {
        self.__repr__()
    }

    /// The core's text (the token redacted).
    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}
