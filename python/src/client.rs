//! `tokenkeeper.TokenClient`: the core's client, its blocking and asyncio entry points.
//!
//! Every call goes through the core's `PreparedRequest` of its arguments (`prepared.rs`), one
//! per distinct request, kept here. Hot path (a cache hit): the arguments are found by identity
//! among the last calls (exact `str` or `None`, so identity is value), under the GIL (`gil.rs`,
//! no lock of its own), and the prepared request's hit is the core's; the same Python `Token`
//! is returned while the core serves the same token. Anything else finds the prepared request
//! by the core's request (built from the arguments); a miss waits with the GIL released
//! (`run.rs`).

use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};
use tokenkeeper::{AuthMethod, ClientConfig, Credentials, Error, SharedCache};

use crate::convert::{scope_text, set_knobs};
use crate::errors::to_py_err;
use crate::gil::GilCell;
use crate::prepared::{Hit, PreparedRequest};
use crate::token::Token;

/// Distinct requests whose prepared form a client keeps; past that the oldest is forgotten
/// (a new one is made when it is asked for again).
const PREPARED_MAX: usize = 64;
/// Argument identities remembered for the hot path.
const SEEN_MAX: usize = 16;

/// The arguments of a recent call, by identity (held, so that no other object can take their
/// addresses), with their prepared request.
struct Seen {
    args: [Option<Py<PyAny>>; 3],
    prepared: Py<PreparedRequest>,
}

type Args<'a, 'py> = [Option<&'a Bound<'py, PyAny>>; 3];

impl Seen {
    /// The same objects (NULL: not given, or None).
    fn same(&self, ptrs: [*mut ffi::PyObject; 3]) -> bool {
        self.args
            .iter()
            .zip(ptrs)
            .all(|(a, b)| a.as_ref().map_or(std::ptr::null_mut(), |a| a.as_ptr()) == b)
    }
}

fn pointers(args: &Args<'_, '_>) -> [*mut ffi::PyObject; 3] {
    args.map(|a| a.map_or(std::ptr::null_mut(), |a| a.as_ptr()))
}

/// `str` exactly (no subclass, which could change its value) or `None`: identity is value.
fn identity_is_value(args: &Args<'_, '_>) -> bool {
    args.iter()
        .all(|a| a.is_none_or(|a| a.is_exact_instance_of::<PyString>()))
}

/// A `str` argument (`None`: not given).
fn text<'a>(arg: Option<&'a Bound<'_, PyAny>>, name: &str) -> PyResult<Option<&'a str>> {
    arg.map(|a| {
        a.cast::<PyString>()
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "{name} must be a str or None, not {}",
                    a.get_type()
                        .name()
                        .map_or_else(|_| "?".into(), |n| n.to_string())
                ))
            })?
            .to_str()
    })
    .transpose()
}

// A poisoned lock only means a panic elsewhere; the list is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Gets client-credentials access tokens, served from the process-wide cache.
#[pyclass(frozen, module = "tokenkeeper", name = "TokenClient")]
pub struct TokenClient {
    core: tokenkeeper::TokenClient,
    domain: String,
    prepared: Mutex<Vec<Py<PreparedRequest>>>,
    seen: GilCell<Vec<Seen>>,
}

static REQUESTS_AUTH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static HTTPX_AUTH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

impl TokenClient {
    /// The client of a config and the keywords shared by the constructor and `from_env`.
    #[allow(clippy::too_many_arguments)]
    fn build(
        py: Python<'_>,
        config: Result<ClientConfig, Error>,
        auth_method: Option<&str>,
        audience: Option<String>,
        token_url: Option<String>,
        cache: bool,
        shared_cache: Option<&str>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let err = |e| to_py_err(py, e);
        let mut config = config.map_err(err)?;
        // A string is the core's to parse (`"file"`, `"file:/dir"`; `""` is off, as on every
        // surface); `None` leaves the config as it is (off for the constructor,
        // `TOKENKEEPER_SHARED_CACHE` for `from_env`).
        if let Some(s) = shared_cache {
            config = match SharedCache::parse_optional(Some(s)).map_err(err)? {
                Some(level) => config.shared_cache(level),
                None => config.without_shared_cache(),
            };
        }
        if let Some(m) = auth_method {
            config = config.auth_method(AuthMethod::parse(m).map_err(err)?);
        }
        if let Some(a) = audience {
            config = config.default_audience(a);
        }
        if let Some(u) = token_url {
            config = config.token_url(u);
        }
        config.cache_mut().enabled = cache;
        let mut http = config.http().clone();
        set_knobs(py, options, &mut http, Some(config.cache_mut()))?;
        let config = config.http_options(http);
        let domain = config.domain().to_string();
        Ok(Self {
            core: tokenkeeper::TokenClient::new(config).map_err(err)?,
            domain,
            prepared: Mutex::new(Vec::new()),
            seen: GilCell::new(Vec::new()),
        })
    }

    /// The prepared request of the arguments (`TokenClient::request`: `None` audience = the
    /// default audience): by identity, else by the core's request, else made; the arguments'
    /// identities are remembered for the hot path.
    fn prepared_for(&self, py: Python<'_>, args: &Args<'_, '_>) -> PyResult<Py<PreparedRequest>> {
        let ptrs = pointers(args);
        let seen = self.seen.with(py, |seen| {
            seen.iter()
                .find(|s| s.same(ptrs))
                .map(|s| s.prepared.clone_ref(py))
        });
        if let Some(p) = seen {
            return Ok(p);
        }
        let [audience, scope, organization] = *args;
        let audience = text(audience, "audience")?;
        let organization = text(organization, "organization")?;
        let scope = scope_text(scope)?;
        let req = self
            .core
            .request(audience, scope.as_deref(), organization)
            .map_err(|e| to_py_err(py, e))?;
        let known = lock(&self.prepared)
            .iter()
            .find(|p| p.get().core().request() == &req)
            .map(|p| p.clone_ref(py));
        let p = match known {
            Some(p) => p,
            None => {
                let core = self.core.prepared(req).map_err(|e| to_py_err(py, e))?;
                let p = Py::new(py, PreparedRequest::new(core))?;
                let evicted = {
                    let mut list = lock(&self.prepared);
                    let evicted = (list.len() >= PREPARED_MAX).then(|| list.remove(0));
                    list.push(p.clone_ref(py));
                    evicted
                };
                drop(evicted); // may run Python code: outside the lock
                p
            }
        };
        if identity_is_value(args) {
            let seen = Seen {
                args: args.map(|a| a.map(|a| a.clone().unbind())),
                prepared: p.clone_ref(py),
            };
            let evicted = self.seen.with(py, |list| {
                let evicted = (list.len() >= SEEN_MAX).then(|| list.remove(0));
                list.push(seen);
                evicted
            });
            drop(evicted); // may run Python code: outside the cell
        }
        Ok(p)
    }

    /// The hot path, for `fastcall.rs` (argument pointers; NULL: not given, or None): the
    /// token of a hit on the arguments of an earlier call, counted by the core.
    pub(crate) fn seen_hit(
        &self,
        py: Python<'_>,
        args: [*mut ffi::PyObject; 3],
    ) -> PyResult<Option<Py<Token>>> {
        let hit = self.seen.with(py, |seen| {
            let s = seen.iter().find(|s| s.same(args))?;
            Some(match s.prepared.get().hit(py) {
                Hit::Object(obj) => Ok(obj),
                Hit::Token(t) => Err((t, s.prepared.clone_ref(py))),
                Hit::Miss => return None,
            })
        });
        match hit {
            None => Ok(None),
            Some(Ok(obj)) => Ok(Some(obj)),
            Some(Err((t, p))) => p.get().object(py, t).map(Some),
        }
    }
}

#[pymethods]
impl TokenClient {
    /// `domain`: `tenant.auth0.com`, a full `https://` URL (custom domain), or
    /// `http://127.0.0.1:PORT` (loopback only). `options`: the HTTP knobs
    /// (`tokenkeeper.HTTP_KNOBS`, seconds for durations) and the cache knobs, by name; `None`
    /// keeps the core's default. `shared_cache`: `"file"` or `"file:/dir"` shares tokens with
    /// the user's other processes on this host (the core's `SharedCache::parse`); `None`: off.
    #[new]
    #[pyo3(signature = (
        domain, client_id, client_secret=None, *, private_key=None, private_key_alg=None,
        private_key_id=None, auth_method=None, audience=None, token_url=None, cache=true,
        shared_cache=None, **options
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        domain: String,
        client_id: String,
        client_secret: Option<&str>,
        private_key: Option<&str>,
        private_key_alg: Option<&str>,
        private_key_id: Option<&str>,
        auth_method: Option<&str>,
        audience: Option<String>,
        token_url: Option<String>,
        cache: bool,
        shared_cache: Option<&str>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let config =
            Credentials::from_parts(client_secret, private_key, private_key_alg, private_key_id)
                .map(|c| ClientConfig::new(domain, client_id, c));
        Self::build(
            py,
            config,
            auth_method,
            audience,
            token_url,
            cache,
            shared_cache,
            options,
        )
    }

    /// A client from `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, one credential (`AUTH0_CLIENT_SECRET`,
    /// `AUTH0_CLIENT_SECRET_FILE`, or `AUTH0_PRIVATE_KEY_FILE` with `AUTH0_PRIVATE_KEY_ALG`), with
    /// `AUTH0_AUDIENCE` (if set) as the default audience, `TOKENKEEPER_CA_FILE` (if set) as
    /// `ca_file`, and `TOKENKEEPER_SHARED_CACHE` (if set) as the shared cache (the core's
    /// `ClientConfig::from_env`). Keywords as for the constructor; a `shared_cache` string or
    /// a `ca_file` replaces the variable's.
    #[staticmethod]
    #[pyo3(signature = (
        *, auth_method=None, audience=None, token_url=None, cache=true, shared_cache=None,
        **options
    ))]
    #[allow(clippy::too_many_arguments)]
    fn from_env(
        py: Python<'_>,
        auth_method: Option<&str>,
        audience: Option<String>,
        token_url: Option<String>,
        cache: bool,
        shared_cache: Option<&str>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let config = ClientConfig::from_env();
        Self::build(
            py,
            config,
            auth_method,
            audience,
            token_url,
            cache,
            shared_cache,
            options,
        )
    }

    /// A token for the request: from the cache when fresh (same object as last time), otherwise
    /// from the token endpoint (the GIL is released while waiting). `audience=None` uses the
    /// default audience; `scope` is a space-separated str or a sequence of str.
    ///
    /// Python calls the raw `get_token` of fastcall.rs, which took this one's place in the
    /// class: it serves a hit on the arguments of an earlier call itself and hands everything
    /// else to this.
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn get_token(
        &self,
        py: Python<'_>,
        audience: Option<&Bound<'_, PyAny>>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let p = self.prepared_for(py, &[audience, scope, organization])?;
        PreparedRequest::token(p.bind(py))
    }

    /// `await client.get_token_async(...)`: same as `get_token`, without blocking the event
    /// loop (a hit completes at once; otherwise the fetch runs on the core's runtime).
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn get_token_async(
        &self,
        py: Python<'_>,
        audience: Option<&Bound<'_, PyAny>>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let p = self.prepared_for(py, &[audience, scope, organization])?;
        PreparedRequest::token_async(p.bind(py))
    }

    /// A token exchange (RFC 8693: Auth0 On-Behalf-Of, Custom Token Exchange; Token Vault with
    /// `connection`), its answer cached per subject token until it, or a JWT subject, expires.
    #[pyo3(signature = (subject_token, subject_token_type, audience=None, scope=None,
        actor_token=None, actor_token_type=None, organization=None, connection=None,
        login_hint=None))]
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        &self,
        py: Python<'_>,
        subject_token: &str,
        subject_token_type: &str,
        audience: Option<&str>,
        scope: Option<&Bound<'_, PyAny>>,
        actor_token: Option<&str>,
        actor_token_type: Option<&str>,
        organization: Option<&str>,
        connection: Option<&str>,
        login_hint: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let req = exchange_request(
            [subject_token, subject_token_type],
            [
                audience,
                actor_token,
                actor_token_type,
                organization,
                connection,
                login_hint,
            ],
            scope,
        )?;
        crate::run::block(py, exchanged(self.core.clone(), req))
    }

    /// `await client.exchange_async(...)`: `exchange` without blocking the event loop.
    #[pyo3(signature = (subject_token, subject_token_type, audience=None, scope=None,
        actor_token=None, actor_token_type=None, organization=None, connection=None,
        login_hint=None))]
    #[allow(clippy::too_many_arguments)]
    fn exchange_async(
        &self,
        py: Python<'_>,
        subject_token: &str,
        subject_token_type: &str,
        audience: Option<&str>,
        scope: Option<&Bound<'_, PyAny>>,
        actor_token: Option<&str>,
        actor_token_type: Option<&str>,
        organization: Option<&str>,
        connection: Option<&str>,
        login_hint: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let req = exchange_request(
            [subject_token, subject_token_type],
            [
                audience,
                actor_token,
                actor_token_type,
                organization,
                connection,
                login_hint,
            ],
            scope,
        )?;
        crate::run::coroutine(py, exchanged(self.core.clone(), req))
    }

    /// Forgets the cached answer of the exchange (the arguments of `exchange`) only if it is
    /// still `token` (an API rejected it). Whether it was forgotten.
    #[pyo3(signature = (token, subject_token, subject_token_type, audience=None, scope=None,
        actor_token=None, actor_token_type=None, organization=None, connection=None,
        login_hint=None))]
    #[allow(clippy::too_many_arguments)]
    fn invalidate_exchange_if_current(
        &self,
        token: &Bound<'_, Token>,
        subject_token: &str,
        subject_token_type: &str,
        audience: Option<&str>,
        scope: Option<&Bound<'_, PyAny>>,
        actor_token: Option<&str>,
        actor_token_type: Option<&str>,
        organization: Option<&str>,
        connection: Option<&str>,
        login_hint: Option<&str>,
    ) -> PyResult<bool> {
        let req = exchange_request(
            [subject_token, subject_token_type],
            [
                audience,
                actor_token,
                actor_token_type,
                organization,
                connection,
                login_hint,
            ],
            scope,
        )?;
        Ok(self
            .core
            .invalidate_exchange_if_current(&req, token.get().core()))
    }

    /// The request, checked and normalised once (`None` audience: the default audience), as a
    /// `PreparedRequest`: its `get_token()` is the cheapest way to ask for it again and again.
    /// The same object for the same request.
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn prepare(
        &self,
        py: Python<'_>,
        audience: Option<&Bound<'_, PyAny>>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PreparedRequest>> {
        self.prepared_for(py, &[audience, scope, organization])
    }

    /// The cached token if one can be served now, without waiting or counting; else `None`.
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn cached(
        &self,
        py: Python<'_>,
        audience: Option<&Bound<'_, PyAny>>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Py<Token>>> {
        let p = self.prepared_for(py, &[audience, scope, organization])?;
        let p = p.get();
        p.core().cached().map(|t| p.object(py, t)).transpose()
    }

    /// Forgets the cached token of the request (for example after an API rejected it), for
    /// every client of the process that shares it.
    #[pyo3(signature = (audience=None, scope=None, organization=None))]
    fn invalidate(
        &self,
        py: Python<'_>,
        audience: Option<&Bound<'_, PyAny>>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let p = self.prepared_for(py, &[audience, scope, organization])?;
        p.get().core().invalidate();
        Ok(())
    }

    /// Forgets the cached token of the request only if it is still `token` (the one an API
    /// just rejected): a retry-on-401 never drops a token another caller renewed meanwhile.
    /// Whether it was forgotten.
    #[pyo3(signature = (token, audience=None, scope=None, organization=None))]
    fn invalidate_if_current(
        &self,
        py: Python<'_>,
        token: &Bound<'_, Token>,
        audience: Option<&Bound<'_, PyAny>>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let p = self.prepared_for(py, &[audience, scope, organization])?;
        Ok(p.get().core().invalidate_if_current(token.get().core()))
    }

    /// Counters of this client: `tokens_minted`, `cache_hits`, `refreshes`, `errors`,
    /// `shared_hits` (tokens taken from the shared cache, fetched by another process or
    /// client), `shared_errors` (failures of the shared cache; the client fetched directly).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.core.stats();
        let d = PyDict::new(py);
        d.set_item("tokens_minted", s.tokens_minted)?;
        d.set_item("cache_hits", s.cache_hits)?;
        d.set_item("refreshes", s.refreshes)?;
        d.set_item("errors", s.errors)?;
        d.set_item("shared_hits", s.shared_hits)?;
        d.set_item("shared_errors", s.shared_errors)?;
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

    /// The core's text (never a secret).
    fn __repr__(&self) -> String {
        format!("{:?}", self.core)
    }
}

/// The core's exchange request from the arguments of `exchange`: the subject and its type, the
/// optional strings in their order, and the scope (a string or a sequence).
fn exchange_request(
    [subject_token, subject_token_type]: [&str; 2],
    optional: [Option<&str>; 6],
    scope: Option<&Bound<'_, PyAny>>,
) -> PyResult<tokenkeeper::ExchangeRequest> {
    let [audience, actor_token, actor_token_type, organization, connection, login_hint] = optional;
    let scope = scope_text(scope)?;
    Ok(tokenkeeper::ExchangeRequest::from_parts(
        subject_token,
        subject_token_type,
        audience,
        scope.as_deref(),
        actor_token,
        actor_token_type,
        organization,
        connection,
        login_hint,
    ))
}

/// An exchange on the core, its token made a Python `Token`.
async fn exchanged(
    core: tokenkeeper::TokenClient,
    req: tokenkeeper::ExchangeRequest,
) -> tokenkeeper::Result<crate::run::Out> {
    let token = core.exchange(&req).await?;
    Ok(crate::run::Out::new(move |py| {
        Ok(Py::new(py, crate::token::Token::new(py, token)?)?.into_any())
    }))
}
