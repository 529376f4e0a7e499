//! `tokenkeeper.TokenClient`: the core's client, its blocking and asyncio entry points.
//!
//! Hot path (a cache hit): the arguments are found by identity among the last calls (exact
//! `str` or `None`, so identity is value), and the core's [`HitMark`] of the token served then
//! says whether it is still the one to serve; if so the same Python `Token` is returned. That
//! is three pointer compares under the GIL (the memo has no lock of its own: `gil.rs`) and the
//! core's few-nanosecond check: no `TokenRequest`, no future, no new Python object. Anything else goes through the memo entry of the
//! arguments (compared as strings) and the core's `get_token`; a miss waits with the GIL
//! released (see `run.rs`).

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};
use tokenkeeper::{
    AuthMethod, ClientConfig, Credentials, Error, HitMark, SharedCache, TokenRequest,
};

use crate::convert::{scope_text, set_knobs};
use crate::errors::to_py_err;
use crate::gil::GilCell;
use crate::run::{block, coroutine, FirstPoll, Out};
use crate::token::Token;

/// Distinct (audience, scope, organization) triples remembered per client; past that the
/// oldest is forgotten.
///
/// The memo is here for speed only, and is no cache of tokens (the core's cache is the only
/// one): it saves a cache hit building a `TokenRequest` (three strings, validated) from the
/// arguments, and building a new Python `Token` (three Python objects and a `datetime`) for a
/// core token it has already converted. Together that is most of the cost of a hit.
const MEMO_MAX: usize = 64;
/// Argument identities remembered for the hot path.
const SEEN_MAX: usize = 16;

/// One request of this client: its arguments as the caller spelled them, the core request,
/// and the last core token handed out with its Python object.
pub(crate) struct Entry {
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

    /// The Python object of a core token: the memoized one when the core handed out the same
    /// token again (same fetch), otherwise a new one, memoized.
    pub(crate) fn object(&self, py: Python<'_>, token: tokenkeeper::Token) -> PyResult<Py<Token>> {
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

/// The arguments of a recent call, by identity (held, so that no other object can take their
/// addresses), with the token it was served and the core's mark of it.
struct Seen {
    args: [Option<Py<PyAny>>; 3],
    hit: (HitMark, Py<Token>),
    /// Hits served from here not yet added to the core's counters (counted under the GIL,
    /// instead of an atomic add per hit; `stats()` adds them first).
    hits: u64,
}

type Args<'a, 'py> = [Option<&'a Bound<'py, PyAny>>; 3];

impl Seen {
    fn is_held(&self, args: &[Option<Py<PyAny>>; 3]) -> bool {
        self.same(
            args.each_ref()
                .map(|a| a.as_ref().map_or(std::ptr::null_mut(), |a| a.as_ptr())),
        )
    }

    /// The same objects (NULL: not given, or None).
    fn same(&self, ptrs: [*mut ffi::PyObject; 3]) -> bool {
        self.args
            .iter()
            .zip(ptrs)
            .all(|(a, b)| a.as_ref().map_or(std::ptr::null_mut(), |a| a.as_ptr()) == b)
    }
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

// A poisoned lock only means a panic elsewhere; the memo is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Gets client-credentials access tokens, served from the process-wide cache.
#[pyclass(frozen, module = "tokenkeeper", name = "TokenClient")]
pub struct TokenClient {
    core: tokenkeeper::TokenClient,
    domain: String,
    memo: Mutex<Vec<Arc<Entry>>>,
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
            memo: Mutex::new(Vec::new()),
            seen: GilCell::new(Vec::new()),
        })
    }

    /// The memo entry of the arguments, made on first use (`TokenClient::request`: `None`
    /// audience = the default audience).
    fn entry(&self, py: Python<'_>, args: &Args<'_, '_>) -> PyResult<Arc<Entry>> {
        let [audience, scope, organization] = *args;
        let audience = text(audience, "audience")?;
        let organization = text(organization, "organization")?;
        let scope = scope_text(scope)?;
        let scope = scope.as_deref();
        if let Some(e) = lock(&self.memo)
            .iter()
            .find(|e| e.matches(audience, scope, organization))
        {
            return Ok(e.clone());
        }
        let req = self
            .core
            .request(audience, scope, organization)
            .map_err(|e| to_py_err(py, e))?;
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

    /// The hot path: the token served last for these very arguments, if the core says it is
    /// still a hit (and counts it).
    fn seen_hit(&self, py: Python<'_>, args: &Args<'_, '_>) -> Option<Py<Token>> {
        self.seen_hit_raw(
            py,
            args.map(|a| a.map_or(std::ptr::null_mut(), |a| a.as_ptr())),
        )
    }

    /// `seen_hit` of argument pointers (NULL: not given, or None), for `fastcall.rs`.
    pub(crate) fn seen_hit_raw(
        &self,
        py: Python<'_>,
        args: [*mut ffi::PyObject; 3],
    ) -> Option<Py<Token>> {
        self.seen.with(py, |seen| {
            let s = seen.iter_mut().find(|s| s.same(args))?;
            if !self.core.hit_holds(&s.hit.0) {
                return None;
            }
            s.hits += 1;
            Some(s.hit.1.clone_ref(py))
        })
    }

    /// Adds the hits counted in the memo to the core's counters.
    fn flush_hits(&self, py: Python<'_>) {
        let n: u64 = self.seen.with(py, |seen| {
            seen.iter_mut().map(|s| std::mem::take(&mut s.hits)).sum()
        });
        self.core.count_hits(n);
    }

    /// After a call that went the long way: remembers its arguments, the token and the core's
    /// mark, when the token is a plain hit now.
    fn remember(&self, py: Python<'_>, args: &Args<'_, '_>, entry: &Entry) -> PyResult<()> {
        if !identity_is_value(args) {
            return Ok(());
        }
        let Some((token, mark)) = self.core.hit_mark(&entry.req) else {
            return Ok(());
        };
        let hit = (mark, entry.object(py, token)?);
        let args = args.map(|a| a.map(|a| a.clone().unbind()));
        // What is replaced or evicted is dropped after `with` returns (a drop may run Python).
        let (replaced, evicted) = self.seen.with(py, |seen| {
            match seen.iter_mut().find(|s| s.is_held(&args)) {
                Some(s) => (Some((std::mem::replace(&mut s.hit, hit), args)), None),
                None => {
                    let evicted = (seen.len() >= SEEN_MAX).then(|| seen.remove(0));
                    seen.push(Seen { args, hit, hits: 0 });
                    (None, evicted)
                }
            }
        });
        if let Some(old) = &evicted {
            self.core.count_hits(old.hits);
        }
        drop((replaced, evicted));
        Ok(())
    }

    /// The work of `get_token` and `get_token_async` past the hot path.
    fn fetch(
        &self,
        entry: Arc<Entry>,
    ) -> impl std::future::Future<Output = tokenkeeper::Result<Out>> + Send + 'static {
        let core = self.core.clone();
        async move {
            let token = core.get_token(&entry.req).await?;
            Ok(Out::new(move |py| Ok(entry.object(py, token)?.into_any())))
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
        let args = [audience, scope, organization];
        if let Some(t) = self.seen_hit(py, &args) {
            return Ok(t.into_any());
        }
        let entry = self.entry(py, &args)?;
        let token = block(py, FirstPoll::HereWithGil, self.fetch(entry.clone()))?;
        self.remember(py, &args, &entry)?;
        Ok(token)
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
        let args = [audience, scope, organization];
        if let Some(t) = self.seen_hit(py, &args) {
            return crate::run::ready(py, t.into_any());
        }
        let entry = self.entry(py, &args)?;
        coroutine(py, FirstPoll::HereWithGil, self.fetch(entry))
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
        let entry = self.entry(py, &[audience, scope, organization])?;
        match self.core.cached(&entry.req) {
            Some(t) => entry.object(py, t).map(Some),
            None => Ok(None),
        }
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
        let entry = self.entry(py, &[audience, scope, organization])?;
        self.core.invalidate(&entry.req);
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
        let entry = self.entry(py, &[audience, scope, organization])?;
        Ok(self
            .core
            .invalidate_if_current(&entry.req, token.get().core()))
    }

    /// Counters of this client: `tokens_minted`, `cache_hits`, `refreshes`, `errors`,
    /// `shared_hits` (tokens taken from the shared cache, fetched by another process or
    /// client), `shared_errors` (failures of the shared cache; the client fetched directly).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.flush_hits(py);
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

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = |s: &str| crate::convert::repr_opt(py, Some(s));
        Ok(format!(
            "TokenClient(issuer={}, client_id={}, auth_method={})",
            r(self.core.issuer())?,
            r(self.core.client_id())?,
            r(self.core.auth_method().as_str())?,
        ))
    }
}
