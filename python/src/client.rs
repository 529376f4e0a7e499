//! `tokenkeeper.TokenClient`: the core's client, its blocking and asyncio entry points.
//!
//! Hot path (a cache hit): find the request's memo entry (the arguments compared as strings, no
//! `TokenRequest` built), poll the core's future once with the GIL held (the core answers a hit
//! on that poll, on this thread), and return the Python `Token` already built for that core
//! token. No allocation, no GIL release. Anything else waits with the GIL released.

use std::borrow::Cow;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};
use tokenkeeper::{
    AuthMethod, CachePolicy, ClientConfig, Credentials, Error, HttpPolicy, RetryPolicy, SigningAlg,
    TokenRequest,
};

use crate::errors::to_py_err;
use crate::token::Token;
use crate::wait::{poll_once, wait};

/// Distinct (audience, scope, organization) triples remembered per client; past that the
/// oldest is forgotten (it only costs a rebuild of its `TokenRequest` and `Token` object).
const MEMO_MAX: usize = 64;

/// One request of this client: its arguments as the caller spelled them, the core request,
/// and the last core token handed out with its Python object.
struct Entry {
    audience: Option<String>,
    scope: Option<String>,
    organization: Option<String>,
    req: TokenRequest,
    last: Mutex<Option<(tokenkeeper::Token, Py<Token>)>>,
}

impl Entry {
    fn matches(&self, audience: Option<&str>, scope: Option<&str>, org: Option<&str>) -> bool {
        self.audience.as_deref() == audience
            && self.scope.as_deref() == scope
            && self.organization.as_deref() == org
    }

    /// The Python object of a core result: the memoized one when the core handed out the same
    /// token again (same fetch), otherwise a new one, memoized.
    fn object(
        &self,
        py: Python<'_>,
        result: Result<tokenkeeper::Token, Error>,
    ) -> PyResult<Py<Token>> {
        let token = result.map_err(|e| to_py_err(py, e))?;
        if let Some((_, obj)) = lock(&self.last).as_ref().filter(|(t, _)| t.ptr_eq(&token)) {
            return Ok(obj.clone_ref(py));
        }
        // Built outside the lock: building may run Python code (and so switch threads).
        let obj = Py::new(py, Token::new(py, token.clone())?)?;
        let previous = lock(&self.last).replace((token, obj.clone_ref(py)));
        drop(previous);
        Ok(obj)
    }
}

// A poisoned lock only means a panic elsewhere; the memo is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Gets client-credentials access tokens, served from the process-wide cache.
#[pyclass(frozen, module = "tokenkeeper", name = "TokenClient")]
pub struct TokenClient {
    core: tokenkeeper::TokenClient,
    domain: String,
    /// With the cache off every call is a request: a future polled once must not be dropped
    /// (see `_poll_token`).
    cache_enabled: bool,
    memo: Mutex<Vec<Arc<Entry>>>,
}

/// Knobs shared by the constructor and `from_env`; `None` keeps the core's default.
struct Options {
    auth_method: Option<String>,
    audience: Option<String>,
    token_url: Option<String>,
    timeout: Option<f64>,
    connect_timeout: Option<f64>,
    max_attempts: Option<i64>,
    max_retry_after: Option<f64>,
    expiry_margin: Option<f64>,
    refresh_ahead: Option<f64>,
    max_refresh_ahead: Option<f64>,
    jitter: Option<f64>,
    cache: bool,
    max_response_bytes: Option<i64>,
}

pub(crate) fn seconds(name: &str, secs: Option<f64>, default: Duration) -> Result<Duration, Error> {
    match secs {
        None => Ok(default),
        Some(s) if s.is_finite() && s >= 0.0 => Duration::try_from_secs_f64(s)
            .map_err(|_| Error::Config(format!("{name} is out of range: {s}"))),
        Some(s) => Err(Error::Config(format!(
            "{name} must be a non-negative number of seconds, not {s}"
        ))),
    }
}

pub(crate) fn count<T: TryFrom<i64>>(name: &str, n: Option<i64>, default: T) -> Result<T, Error> {
    match n {
        None => Ok(default),
        Some(n) => {
            T::try_from(n).map_err(|_| Error::Config(format!("{name} is out of range: {n}")))
        }
    }
}

impl Options {
    /// Applies the overrides on the core's defaults. The core validates the result.
    fn apply(self, mut config: ClientConfig) -> Result<ClientConfig, Error> {
        if let Some(m) = &self.auth_method {
            config = config.auth_method(AuthMethod::parse(m)?);
        }
        if let Some(a) = self.audience {
            config = config.default_audience(a);
        }
        if let Some(u) = self.token_url {
            config = config.token_url(u);
        }
        let h = HttpPolicy::default();
        let http = HttpPolicy {
            request_timeout: seconds("timeout", self.timeout, h.request_timeout)?,
            connect_timeout: seconds("connect_timeout", self.connect_timeout, h.connect_timeout)?,
            max_response_bytes: count(
                "max_response_bytes",
                self.max_response_bytes,
                h.max_response_bytes,
            )?,
        };
        let r = RetryPolicy::default();
        let retry = RetryPolicy {
            max_attempts: count("max_attempts", self.max_attempts, r.max_attempts)?,
            max_retry_after: seconds("max_retry_after", self.max_retry_after, r.max_retry_after)?,
            ..r
        };
        let c = CachePolicy::default();
        let cache = CachePolicy {
            expiry_margin: seconds("expiry_margin", self.expiry_margin, c.expiry_margin)?,
            refresh_ahead: self.refresh_ahead.unwrap_or(c.refresh_ahead),
            max_refresh_ahead: seconds(
                "max_refresh_ahead",
                self.max_refresh_ahead,
                c.max_refresh_ahead,
            )?,
            jitter: self.jitter.unwrap_or(c.jitter),
            enabled: self.cache,
        };
        Ok(config
            .http_policy(http)
            .retry_policy(retry)
            .cache_policy(cache))
    }
}

pub(crate) fn credentials(
    client_secret: Option<String>,
    private_key: Option<String>,
    private_key_alg: &str,
    private_key_id: Option<String>,
) -> Result<Credentials, Error> {
    match (client_secret, private_key) {
        (Some(s), None) => Ok(Credentials::client_secret(s)),
        (None, Some(pem)) => {
            let c = Credentials::private_key_jwt(pem, SigningAlg::parse(private_key_alg)?);
            Ok(match private_key_id {
                Some(kid) => c.with_key_id(kid),
                None => c,
            })
        }
        (Some(_), Some(_)) => Err(Error::Config(
            "give client_secret or private_key, not both".into(),
        )),
        (None, None) => Err(Error::Config(
            "no credentials: give client_secret or private_key".into(),
        )),
    }
}

static AIO_GET_TOKEN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static AIO_DELIVER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static REQUESTS_AUTH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static HTTPX_AUTH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `scope` as a string: a str as is, a sequence of str joined with spaces.
pub(crate) fn scope_text<'a>(
    scope: Option<&'a Bound<'_, PyAny>>,
) -> PyResult<Option<Cow<'a, str>>> {
    let Some(scope) = scope else {
        return Ok(None);
    };
    if let Ok(s) = scope.cast::<PyString>() {
        return Ok(Some(Cow::Borrowed(s.to_str()?)));
    }
    let parts: Vec<String> = scope.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "scope must be a str (space-separated) or a sequence of str",
        )
    })?;
    Ok(Some(Cow::Owned(parts.join(" "))))
}

impl TokenClient {
    fn build(
        py: Python<'_>,
        config: Result<ClientConfig, Error>,
        cache_enabled: bool,
    ) -> PyResult<Self> {
        let make = || -> Result<Self, Error> {
            let config = config?;
            let domain = config.domain().to_string();
            let core = tokenkeeper::TokenClient::new(config)?;
            Ok(Self {
                core,
                domain,
                cache_enabled,
                memo: Mutex::new(Vec::new()),
            })
        };
        make().map_err(|e| to_py_err(py, e))
    }

    /// The memo entry of the arguments, made on first use.
    fn entry(
        &self,
        py: Python<'_>,
        audience: Option<&str>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&str>,
    ) -> PyResult<Arc<Entry>> {
        let scope = scope_text(scope)?;
        let scope = scope.as_deref();
        if let Some(e) = lock(&self.memo)
            .iter()
            .find(|e| e.matches(audience, scope, organization))
        {
            return Ok(e.clone());
        }
        let mut req = match audience {
            Some(a) => TokenRequest::new(a),
            None => self.core.default_request().map_err(|e| to_py_err(py, e))?,
        };
        if let Some(s) = scope {
            req = req.scope(s);
        }
        if let Some(o) = organization {
            req = req.organization(o);
        }
        let entry = Arc::new(Entry {
            audience: audience.map(str::to_string),
            scope: scope.map(str::to_string),
            organization: organization.map(str::to_string),
            req,
            last: Mutex::new(None),
        });
        let mut memo = lock(&self.memo);
        if memo.len() >= MEMO_MAX {
            memo.remove(0);
        }
        memo.push(entry.clone());
        Ok(entry)
    }
}

#[pymethods]
impl TokenClient {
    /// `domain`: `tenant.auth0.com`, a full `https://` URL (custom domain), or
    /// `http://127.0.0.1:PORT` (loopback only). Durations are in seconds; `None` keeps the
    /// core's default.
    #[new]
    #[pyo3(signature = (
        domain, client_id, client_secret=None, *, private_key=None, private_key_alg="RS256",
        private_key_id=None, auth_method=None, audience=None, token_url=None, timeout=None,
        connect_timeout=None, max_attempts=None, max_retry_after=None, expiry_margin=None,
        refresh_ahead=None, max_refresh_ahead=None, jitter=None, cache=true,
        max_response_bytes=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        domain: String,
        client_id: String,
        client_secret: Option<String>,
        private_key: Option<String>,
        private_key_alg: &str,
        private_key_id: Option<String>,
        auth_method: Option<String>,
        audience: Option<String>,
        token_url: Option<String>,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        max_attempts: Option<i64>,
        max_retry_after: Option<f64>,
        expiry_margin: Option<f64>,
        refresh_ahead: Option<f64>,
        max_refresh_ahead: Option<f64>,
        jitter: Option<f64>,
        cache: bool,
        max_response_bytes: Option<i64>,
    ) -> PyResult<Self> {
        let options = Options {
            auth_method,
            audience,
            token_url,
            timeout,
            connect_timeout,
            max_attempts,
            max_retry_after,
            expiry_margin,
            refresh_ahead,
            max_refresh_ahead,
            jitter,
            cache,
            max_response_bytes,
        };
        let config = credentials(client_secret, private_key, private_key_alg, private_key_id)
            .map(|c| ClientConfig::new(domain, client_id, c))
            .and_then(|c| options.apply(c));
        Self::build(py, config, cache)
    }

    /// A client from `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, `AUTH0_CLIENT_SECRET`, with
    /// `AUTH0_AUDIENCE` (if set) as the default audience. Keywords as for the constructor.
    #[staticmethod]
    #[pyo3(signature = (
        *, auth_method=None, audience=None, token_url=None, timeout=None, connect_timeout=None,
        max_attempts=None, max_retry_after=None, expiry_margin=None, refresh_ahead=None,
        max_refresh_ahead=None, jitter=None, cache=true, max_response_bytes=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn from_env(
        py: Python<'_>,
        auth_method: Option<String>,
        audience: Option<String>,
        token_url: Option<String>,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        max_attempts: Option<i64>,
        max_retry_after: Option<f64>,
        expiry_margin: Option<f64>,
        refresh_ahead: Option<f64>,
        max_refresh_ahead: Option<f64>,
        jitter: Option<f64>,
        cache: bool,
        max_response_bytes: Option<i64>,
    ) -> PyResult<Self> {
        let options = Options {
            auth_method,
            audience,
            token_url,
            timeout,
            connect_timeout,
            max_attempts,
            max_retry_after,
            expiry_margin,
            refresh_ahead,
            max_refresh_ahead,
            jitter,
            cache,
            max_response_bytes,
        };
        let config = ClientConfig::from_env().and_then(|c| options.apply(c));
        Self::build(py, config, cache)
    }

    /// A token for the request: from the cache when fresh (same object as last time), otherwise
    /// from the token endpoint (the GIL is released while waiting). `audience=None` uses the
    /// default audience; `scope` is a space-separated str or a sequence of str.
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn get_token(
        &self,
        py: Python<'_>,
        audience: Option<&str>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&str>,
    ) -> PyResult<Py<Token>> {
        let entry = self.entry(py, audience, scope, organization)?;
        let mut fut = pin!(self.core.get_token(&entry.req));
        let result = match poll_once(fut.as_mut()) {
            Poll::Ready(r) => r,
            Poll::Pending => wait(py, fut)?,
        };
        entry.object(py, result)
    }

    /// `await client.get_token_async(...)`: same as `get_token`, without blocking the event
    /// loop (a hit completes at once; otherwise the fetch runs on the core's runtime).
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn get_token_async(
        slf: &Bound<'_, Self>,
        audience: Option<Bound<'_, PyAny>>,
        scope: Option<Bound<'_, PyAny>>,
        organization: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let f = AIO_GET_TOKEN.get_or_try_init(py, || {
            py.import("tokenkeeper._aio")?
                .getattr("get_token")
                .map(Bound::unbind)
        })?;
        f.call1(py, (slf, audience, scope, organization))
    }

    /// The token on a cache hit (no waiting), else `None` after starting the fetch.
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn _poll_token(
        &self,
        py: Python<'_>,
        audience: Option<&str>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&str>,
    ) -> PyResult<Option<Py<Token>>> {
        let entry = self.entry(py, audience, scope, organization)?;
        if !self.cache_enabled {
            // Polling would start a request that dropping the future would orphan.
            return Ok(None);
        }
        let mut fut = pin!(self.core.get_token(&entry.req));
        match poll_once(fut.as_mut()) {
            Poll::Ready(r) => entry.object(py, r).map(Some),
            Poll::Pending => Ok(None),
        }
    }

    /// Runs the request on the core's runtime and resolves the asyncio `future` of `loop` with
    /// the token or the exception (through `loop.call_soon_threadsafe`).
    #[pyo3(signature = (loop_, future, audience=None, scope=None, organization=None))]
    fn _fetch_token(
        &self,
        py: Python<'_>,
        loop_: Bound<'_, PyAny>,
        future: Bound<'_, PyAny>,
        audience: Option<&str>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&str>,
    ) -> PyResult<()> {
        let entry = self.entry(py, audience, scope, organization)?;
        let deliver = AIO_DELIVER
            .get_or_try_init(py, || {
                py.import("tokenkeeper._aio")?
                    .getattr("_deliver")
                    .map(Bound::unbind)
            })?
            .clone_ref(py);
        let (core, event_loop, future) = (self.core.clone(), loop_.unbind(), future.unbind());
        tokenkeeper::runtime::handle().spawn(async move {
            let result = core.get_token(&entry.req).await;
            crate::attach_from_background(|py| {
                let (ok, value) = match entry.object(py, result) {
                    Ok(token) => (true, token.into_any()),
                    Err(e) => (false, e.into_value(py).into_any()),
                };
                // Fails only if the loop was closed meanwhile: nobody is waiting any more.
                let _ = event_loop.call_method1(
                    py,
                    "call_soon_threadsafe",
                    (deliver, future, ok, value),
                );
            });
        });
        Ok(())
    }

    /// The cached token if one can be served now, without waiting or counting; else `None`.
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn cached(
        &self,
        py: Python<'_>,
        audience: Option<&str>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&str>,
    ) -> PyResult<Option<Py<Token>>> {
        let entry = self.entry(py, audience, scope, organization)?;
        match self.core.cached(&entry.req) {
            Some(t) => entry.object(py, Ok(t)).map(Some),
            None => Ok(None),
        }
    }

    /// Forgets the cached token of the request (for example after an API rejected it), for
    /// every client of the process that shares it.
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn invalidate(
        &self,
        py: Python<'_>,
        audience: Option<&str>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&str>,
    ) -> PyResult<()> {
        let entry = self.entry(py, audience, scope, organization)?;
        self.core.invalidate(&entry.req);
        Ok(())
    }

    /// Counters of this client: `tokens_minted`, `cache_hits`, `refreshes`, `errors`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.core.stats();
        let d = PyDict::new(py);
        d.set_item("tokens_minted", s.tokens_minted)?;
        d.set_item("cache_hits", s.cache_hits)?;
        d.set_item("refreshes", s.refreshes)?;
        d.set_item("errors", s.errors)?;
        Ok(d)
    }

    /// A `requests.auth.AuthBase` that sets `Authorization: Bearer …` from this client.
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn requests_auth(
        slf: &Bound<'_, Self>,
        audience: Option<Bound<'_, PyAny>>,
        scope: Option<Bound<'_, PyAny>>,
        organization: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let cls = REQUESTS_AUTH.get_or_try_init(py, || {
            py.import("tokenkeeper.adapters.requests")?
                .getattr("RequestsAuth")
                .map(Bound::unbind)
        })?;
        cls.call1(py, (slf, audience, scope, organization))
    }

    /// An `httpx.Auth` (sync and async clients) that sets `Authorization: Bearer …`.
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn httpx_auth(
        slf: &Bound<'_, Self>,
        audience: Option<Bound<'_, PyAny>>,
        scope: Option<Bound<'_, PyAny>>,
        organization: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let cls = HTTPX_AUTH.get_or_try_init(py, || {
            py.import("tokenkeeper.adapters.httpx")?
                .getattr("HttpxAuth")
                .map(Bound::unbind)
        })?;
        cls.call1(py, (slf, audience, scope, organization))
    }

    /// The domain as given.
    #[getter]
    fn domain(&self) -> &str {
        &self.domain
    }

    /// `https://{domain}/`: the `iss` of the tokens.
    #[getter]
    fn issuer(&self) -> &str {
        self.core.issuer()
    }

    #[getter]
    fn client_id(&self) -> &str {
        self.core.client_id()
    }

    /// `client_secret_post`, `client_secret_basic` or `private_key_jwt`.
    #[getter]
    fn auth_method(&self) -> &'static str {
        self.core.auth_method().as_str()
    }

    #[getter]
    fn token_url(&self) -> &str {
        self.core.token_url()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_string()) };
        Ok(format!(
            "TokenClient(issuer={}, client_id={}, auth_method={})",
            r(self.core.issuer())?,
            r(self.core.client_id())?,
            r(self.core.auth_method().as_str())?,
        ))
    }
}

/// The HTTP and retry knobs shared by `TokenVerifier` and `SignInClient` (seconds; `None` keeps
/// the core's default). The core validates the result.
pub(crate) fn http_retry(
    timeout: Option<f64>,
    connect_timeout: Option<f64>,
    max_attempts: Option<i64>,
    max_retry_after: Option<f64>,
    max_response_bytes: Option<i64>,
) -> Result<(HttpPolicy, RetryPolicy), Error> {
    let h = HttpPolicy::default();
    let http = HttpPolicy {
        request_timeout: seconds("timeout", timeout, h.request_timeout)?,
        connect_timeout: seconds("connect_timeout", connect_timeout, h.connect_timeout)?,
        max_response_bytes: count(
            "max_response_bytes",
            max_response_bytes,
            h.max_response_bytes,
        )?,
    };
    let r = RetryPolicy::default();
    let retry = RetryPolicy {
        max_attempts: count("max_attempts", max_attempts, r.max_attempts)?,
        max_retry_after: seconds("max_retry_after", max_retry_after, r.max_retry_after)?,
        ..r
    };
    Ok((http, retry))
}
