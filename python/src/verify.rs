//! `tokenkeeper.TokenVerifier`: the core's verifier of access tokens and ID tokens. Every check
//! is the core's; a rejection is the `InvalidTokenError` subclass of the check that failed.
//!
//! The GIL is released for the whole verification (signature included), so threads verify in
//! parallel; with the JWKS cached it never leaves the calling thread.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use tokenkeeper::{Error, SigningAlg, VerifierConfig, VerifyOptions};

use crate::convert::set_knobs;
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

    /// The work of the four `verify*` methods.
    fn verification(
        &self,
        token: String,
        options: VerifyOptions,
    ) -> impl std::future::Future<Output = tokenkeeper::Result<Out>> + Send + 'static {
        let core = self.core.clone();
        async move { core.verify_with(&token, &options).await.map(Out::claims) }
    }

    /// The work of `refresh_jwks` and `refresh_jwks_async`.
    fn jwks(&self) -> impl std::future::Future<Output = tokenkeeper::Result<Out>> + Send + 'static {
        let core = self.core.clone();
        async move { core.refresh_jwks().await.map(Out::count) }
    }
}

/// `algorithms`: a str (`"RS256, ES256"`) or a sequence of names.
fn algorithms(algs: &Bound<'_, PyAny>) -> PyResult<Result<Vec<SigningAlg>, Error>> {
    if let Ok(s) = algs.cast::<PyString>() {
        return Ok(SigningAlg::parse_list(s.to_str()?));
    }
    let names: Vec<String> = algs.extract()?;
    Ok(SigningAlg::parse_all(names.iter().map(String::as_str)))
}

fn options(
    audience: Option<String>,
    (organization, organization_name): (Option<String>, Option<String>),
    nonce: Option<String>,
    max_age: Option<u64>,
    id_token: bool,
) -> VerifyOptions {
    VerifyOptions {
        audience,
        organization,
        organization_name,
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
    /// seconds; `options`: the HTTP knobs of the JWKS requests by name
    /// (`tokenkeeper.HTTP_KNOBS`); `None` keeps the core's default. No network until the first
    /// verification.
    #[new]
    #[pyo3(signature = (
        domain, audience, issuers=None, leeway=None, organization=None, *, organization_name=None, authorized_party=None,
        algorithms=None, max_token_bytes=None, jwks_url=None, jwks_lifetime=None,
        jwks_min_refetch_interval=None, **options
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        domain: String,
        audience: String,
        issuers: Option<Vec<String>>,
        leeway: Option<f64>,
        organization: Option<String>,
        organization_name: Option<String>,
        authorized_party: Option<String>,
        algorithms: Option<&Bound<'_, PyAny>>,
        max_token_bytes: Option<usize>,
        jwks_url: Option<String>,
        jwks_lifetime: Option<f64>,
        jwks_min_refetch_interval: Option<f64>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut c = VerifierConfig::new(domain, audience);
        set_knobs(py, options, &mut c.http, None)?;
        let algorithms = algorithms.map(self::algorithms).transpose()?;
        let make = move || -> Result<Self, Error> {
            c.issuers = issuers.unwrap_or_default();
            // Durations by name, through the core's one setter (seconds).
            for (name, value) in [
                ("leeway", leeway),
                ("jwks_lifetime", jwks_lifetime),
                ("jwks_min_refetch_interval", jwks_min_refetch_interval),
            ] {
                if let Some(v) = value {
                    c.set(name, v)?;
                }
            }
            c.organization = organization;
            c.organization_name = organization_name;
            c.authorized_party = authorized_party;
            if let Some(algs) = algorithms {
                c.algorithms = algs?;
            }
            c.max_token_bytes = max_token_bytes.unwrap_or(c.max_token_bytes);
            c.jwks_url = jwks_url;
            Ok(Self::wrap(tokenkeeper::TokenVerifier::new(c)?))
        };
        make().map_err(|e| to_py_err(py, e))
    }

    /// A verifier from `AUTH0_DOMAIN` and `AUTH0_AUDIENCE` (both required) and
    /// `TOKENKEEPER_CA_FILE` (if set), the core's `VerifierConfig::from_env`; keywords are HTTP
    /// options, as for the constructor.
    #[staticmethod]
    #[pyo3(signature = (**options))]
    fn from_env(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let err = |e| to_py_err(py, e);
        let mut c = VerifierConfig::from_env().map_err(err)?;
        set_knobs(py, options, &mut c.http, None)?;
        tokenkeeper::TokenVerifier::new(c)
            .map(Self::wrap)
            .map_err(err)
    }

    /// The claims of a valid token (a `Claims`, a dict), or the `InvalidTokenError` subclass of
    /// the check that failed. `audience`/`organization` override the configured ones for this
    /// call.
    #[pyo3(signature = (token, *, audience=None, organization=None, organization_name=None))]
    fn verify(
        &self,
        py: Python<'_>,
        token: String,
        audience: Option<String>,
        organization: Option<String>,
        organization_name: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let o = options(
            audience,
            (organization, organization_name),
            None,
            None,
            false,
        );
        block(py, self.verification(token, o))
    }

    /// `await verifier.verify_async(token)`: with the JWKS cached it completes without
    /// suspending; a JWKS fetch runs on the core's runtime, never blocking the event loop.
    #[pyo3(signature = (token, *, audience=None, organization=None, organization_name=None))]
    fn verify_async(
        &self,
        py: Python<'_>,
        token: String,
        audience: Option<String>,
        organization: Option<String>,
        organization_name: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let o = options(
            audience,
            (organization, organization_name),
            None,
            None,
            false,
        );
        coroutine(py, self.verification(token, o))
    }

    /// An OpenID Connect ID token: the checks of `verify` (with `audience` = the client id)
    /// plus `sub` and `iat` required, `azp` when `aud` has several values, `nonce` when given
    /// (the one of the login) and `auth_time` within `max_age` seconds when given.
    #[pyo3(signature = (token, nonce=None, max_age=None, *, audience=None, organization=None, organization_name=None))]
    #[allow(clippy::too_many_arguments)]
    fn verify_id_token(
        &self,
        py: Python<'_>,
        token: String,
        nonce: Option<String>,
        max_age: Option<u64>,
        audience: Option<String>,
        organization: Option<String>,
        organization_name: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let o = options(
            audience,
            (organization, organization_name),
            nonce,
            max_age,
            true,
        );
        block(py, self.verification(token, o))
    }

    #[pyo3(signature = (token, nonce=None, max_age=None, *, audience=None, organization=None, organization_name=None))]
    #[allow(clippy::too_many_arguments)]
    fn verify_id_token_async(
        &self,
        py: Python<'_>,
        token: String,
        nonce: Option<String>,
        max_age: Option<u64>,
        audience: Option<String>,
        organization: Option<String>,
        organization_name: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let o = options(
            audience,
            (organization, organization_name),
            nonce,
            max_age,
            true,
        );
        coroutine(py, self.verification(token, o))
    }

    /// Fetches the JWKS now (at start-up, or after a key rotation); returns the number of
    /// usable keys.
    fn refresh_jwks(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        block(py, self.jwks())
    }

    fn refresh_jwks_async(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        coroutine(py, self.jwks())
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

    /// The core's text.
    fn __repr__(&self) -> String {
        format!("{:?}", self.core)
    }
}
