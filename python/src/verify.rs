//! `tokenkeeper.TokenVerifier`: the core's verifier of access tokens and ID tokens. Every check
//! is the core's; a rejection is the `InvalidTokenError` subclass of the check that failed.
//!
//! `verify` releases the GIL for the whole verification (signature included), so threads verify
//! in parallel; with the JWKS cached it never leaves the calling thread.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use tokenkeeper::{Error, SigningAlg, VerifierConfig, VerifyOptions};

use crate::client::{http_retry, seconds};
use crate::errors::to_py_err;
use crate::run::{block, coroutine, Out};

/// Verifies access tokens and ID tokens against the tenant's JWKS.
#[pyclass(frozen, module = "tokenkeeper", name = "TokenVerifier")]
pub struct TokenVerifier {
    pub(crate) core: tokenkeeper::TokenVerifier,
}

impl TokenVerifier {
    pub(crate) fn wrap(core: tokenkeeper::TokenVerifier) -> Self {
        Self { core }
    }
}

fn options(
    audience: Option<String>,
    organization: Option<String>,
    nonce: Option<String>,
    max_age: Option<u64>,
    id_token: bool,
) -> VerifyOptions {
    VerifyOptions {
        audience,
        organization,
        nonce,
        max_age,
        id_token,
    }
}

#[pymethods]
impl TokenVerifier {
    /// `domain`: `tenant.auth0.com`, an `https://` URL (custom domain) or an `http://` loopback
    /// URL. `audience`: the `aud` a token must contain (the API identifier; the client id for
    /// ID tokens). `issuers`: accepted `iss` values (default `https://{domain}/`). Durations in
    /// seconds; `None` keeps the core's default. No network until the first verification.
    #[new]
    #[pyo3(signature = (
        domain, audience, issuers=None, leeway=60.0, organization=None, *, authorized_party=None,
        algorithms=None, max_token_bytes=None, jwks_url=None, jwks_lifetime=None,
        jwks_min_refetch_interval=None, timeout=None, connect_timeout=None, max_attempts=None,
        max_retry_after=None, max_response_bytes=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        domain: String,
        audience: String,
        issuers: Option<Vec<String>>,
        leeway: f64,
        organization: Option<String>,
        authorized_party: Option<String>,
        algorithms: Option<Vec<String>>,
        max_token_bytes: Option<i64>,
        jwks_url: Option<String>,
        jwks_lifetime: Option<f64>,
        jwks_min_refetch_interval: Option<f64>,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        max_attempts: Option<i64>,
        max_retry_after: Option<f64>,
        max_response_bytes: Option<i64>,
    ) -> PyResult<Self> {
        let make = || -> Result<Self, Error> {
            let mut c = VerifierConfig::new(domain, audience);
            c.issuers = issuers.unwrap_or_default();
            c.leeway = seconds("leeway", Some(leeway), c.leeway)?;
            c.organization = organization;
            c.authorized_party = authorized_party;
            if let Some(algs) = algorithms {
                c.algorithms = algs
                    .iter()
                    .map(|a| SigningAlg::parse(a))
                    .collect::<Result<_, _>>()?;
            }
            c.max_token_bytes =
                crate::client::count("max_token_bytes", max_token_bytes, c.max_token_bytes)?;
            c.jwks_url = jwks_url;
            c.jwks_lifetime = seconds("jwks_lifetime", jwks_lifetime, c.jwks_lifetime)?;
            c.jwks_min_refetch_interval = seconds(
                "jwks_min_refetch_interval",
                jwks_min_refetch_interval,
                c.jwks_min_refetch_interval,
            )?;
            (c.http, c.retry) = http_retry(
                timeout,
                connect_timeout,
                max_attempts,
                max_retry_after,
                max_response_bytes,
            )?;
            Ok(Self::wrap(tokenkeeper::TokenVerifier::new(c)?))
        };
        make().map_err(|e| to_py_err(py, e))
    }

    /// The claims of a valid token (a `Claims`, a dict), or the `InvalidTokenError` subclass of
    /// the check that failed. `audience`/`organization` override the configured ones for this
    /// call.
    #[pyo3(signature = (token, *, audience=None, organization=None))]
    fn verify(
        &self,
        py: Python<'_>,
        token: &str,
        audience: Option<String>,
        organization: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let result = if audience.is_none() && organization.is_none() {
            py.detach(|| self.core.verify_blocking(token))
        } else {
            let o = options(audience, organization, None, None, false);
            py.detach(|| self.core.verify_with_blocking(token, &o))
        };
        match result {
            Ok(c) => crate::claims::to_py(py, &c),
            Err(e) => Err(to_py_err(py, e)),
        }
    }

    /// `await verifier.verify_async(token)`: with the JWKS cached it completes without
    /// suspending; a JWKS fetch runs on the core's runtime, never blocking the event loop.
    #[pyo3(signature = (token, *, audience=None, organization=None))]
    fn verify_async(
        &self,
        py: Python<'_>,
        token: String,
        audience: Option<String>,
        organization: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let (core, o) = (
            self.core.clone(),
            options(audience, organization, None, None, false),
        );
        coroutine(
            py,
            async move { core.verify_with(&token, &o).await.map(Out::Claims) },
            None,
        )
    }

    /// An OpenID Connect ID token: the checks of `verify` (with `audience` = the client id)
    /// plus `sub` and `iat` required, `azp` when `aud` has several values, `nonce` when given
    /// (the one of the login) and `auth_time` within `max_age` seconds when given.
    #[pyo3(signature = (token, nonce=None, max_age=None, *, audience=None, organization=None))]
    fn verify_id_token(
        &self,
        py: Python<'_>,
        token: &str,
        nonce: Option<String>,
        max_age: Option<u64>,
        audience: Option<String>,
        organization: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let o = options(audience, organization, nonce, max_age, true);
        match py.detach(|| self.core.verify_with_blocking(token, &o)) {
            Ok(c) => crate::claims::to_py(py, &c),
            Err(e) => Err(to_py_err(py, e)),
        }
    }

    #[pyo3(signature = (token, nonce=None, max_age=None, *, audience=None, organization=None))]
    fn verify_id_token_async(
        &self,
        py: Python<'_>,
        token: String,
        nonce: Option<String>,
        max_age: Option<u64>,
        audience: Option<String>,
        organization: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let (core, o) = (
            self.core.clone(),
            options(audience, organization, nonce, max_age, true),
        );
        coroutine(
            py,
            async move { core.verify_with(&token, &o).await.map(Out::Claims) },
            None,
        )
    }

    /// Fetches the JWKS now (at start-up, or after a key rotation); returns the number of
    /// usable keys.
    fn refresh_jwks(&self, py: Python<'_>) -> PyResult<usize> {
        let core = self.core.clone();
        block(
            py,
            async move { core.refresh_jwks().await.map(Out::Count) },
            None,
        )?
        .extract(py)
    }

    fn refresh_jwks_async(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        coroutine(
            py,
            async move { core.refresh_jwks().await.map(Out::Count) },
            None,
        )
    }

    /// Counters: `verified`, `rejected`, `jwks_fetches` (JWKS requests, failed ones included).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.core.stats();
        let d = PyDict::new(py);
        d.set_item("verified", s.verified)?;
        d.set_item("rejected", s.rejected)?;
        d.set_item("jwks_fetches", s.jwks_fetches)?;
        Ok(d)
    }

    #[getter]
    fn audience(&self) -> &str {
        self.core.audience()
    }

    /// The accepted `iss` values.
    #[getter]
    fn issuers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.core.issuers())
    }

    #[getter]
    fn jwks_url(&self) -> &str {
        self.core.jwks_url()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_string()) };
        Ok(format!(
            "TokenVerifier(audience={}, issuers={}, jwks_url={})",
            r(self.core.audience())?,
            PyList::new(py, self.core.issuers())?.repr()?,
            r(self.core.jwks_url())?,
        ))
    }
}
