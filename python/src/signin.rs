//! `tokenkeeper.SignInClient` (authorization code + PKCE, refresh, `/userinfo`), its
//! `LoginTransaction` and the `UserCredentials` it returns. The flow, the checks of the callback
//! and the ID token are the core's; this converts arguments, results and errors.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use tokenkeeper::{AuthMethod, AuthorizeParams, Credentials, Error, SharedCache, SignInConfig};

use crate::convert::{scope_owned, seconds, set_knobs};
use crate::errors::to_py_err;
use crate::run::{block, coroutine, Out};
use crate::token::utc_datetime;
use crate::verify::TokenVerifier;

/// Signs users in (authorization code + PKCE) and renews their tokens.
#[pyclass(frozen, module = "tokenkeeper", name = "SignInClient")]
pub struct SignInClient {
    pub(crate) core: tokenkeeper::SignInClient,
}

/// The network operations, each behind a blocking method and its `_async` twin.
enum Op {
    Callback(tokenkeeper::LoginTransaction, String),
    Exchange(tokenkeeper::LoginTransaction, String),
    Refresh(String, Option<String>),
    Userinfo(String),
}

/// Signed-in credentials, as the `UserCredentials` Python gets.
pub(crate) fn credentials_out(c: tokenkeeper::UserCredentials) -> Out {
    Out::new(move |py| Ok(Py::new(py, UserCredentials::wrap(c))?.into_any()))
}

impl SignInClient {
    fn run(
        &self,
        op: Op,
    ) -> impl std::future::Future<Output = tokenkeeper::Result<Out>> + Send + 'static {
        let core = self.core.clone();
        async move {
            match op {
                Op::Callback(tx, url) => core.handle_callback(&tx, &url).await.map(credentials_out),
                Op::Exchange(tx, code) => core.exchange_code(&tx, &code).await.map(credentials_out),
                Op::Refresh(rt, scope) => core
                    .refresh(&rt, scope.as_deref())
                    .await
                    .map(credentials_out),
                Op::Userinfo(at) => core.userinfo(&at).await.map(Out::claims),
            }
        }
    }

    fn block(&self, py: Python<'_>, op: Op) -> PyResult<Py<PyAny>> {
        block(py, self.run(op))
    }

    fn coroutine(&self, py: Python<'_>, op: Op) -> PyResult<Py<PyAny>> {
        coroutine(py, self.run(op))
    }
}

#[pymethods]
impl SignInClient {
    /// A public client (SPA, native app: PKCE only) unless `client_secret` or `private_key` is
    /// given (a confidential, regular web app). `redirect_uri`: where `/authorize` sends the
    /// browser back (`https`, loopback `http`, or an app's custom scheme). `scope` defaults to
    /// `openid profile email` (`openid` is always added, and `offline_access` unless
    /// `offline_access=False`). Durations in seconds; `options`: the HTTP knobs by name
    /// (`tokenkeeper.HTTP_KNOBS`); `None` keeps the core's default. `shared_cache` (`"file"`,
    /// `"file:/dir"`, `"redis://…"`) shares renewals with every process and host on it: each
    /// refresh token is spent once by the whole fleet (see docs/grants.md).
    #[new]
    #[pyo3(signature = (
        domain, client_id, redirect_uri, *, client_secret=None, private_key=None,
        private_key_alg=None, private_key_id=None, auth_method=None, audience=None, scope=None,
        offline_access=None, organization=None, issuers=None, leeway=None, authorize_url=None,
        token_url=None, userinfo_url=None, shared_cache=None, **options
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        domain: String,
        client_id: String,
        redirect_uri: String,
        client_secret: Option<&str>,
        private_key: Option<&str>,
        private_key_alg: Option<&str>,
        private_key_id: Option<&str>,
        auth_method: Option<&str>,
        audience: Option<String>,
        scope: Option<&Bound<'_, PyAny>>,
        offline_access: Option<bool>,
        organization: Option<String>,
        issuers: Option<Vec<String>>,
        leeway: Option<f64>,
        authorize_url: Option<String>,
        token_url: Option<String>,
        userinfo_url: Option<String>,
        shared_cache: Option<&str>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut c = SignInConfig::new(domain, client_id, redirect_uri);
        set_knobs(py, options, &mut c.http, None)?;
        let scope = scope_owned(scope)?;
        let make = move || -> Result<Self, Error> {
            c.credentials = Credentials::optional_from_parts(
                client_secret,
                private_key,
                private_key_alg,
                private_key_id,
            )?;
            c.auth_method = auth_method.map(AuthMethod::parse).transpose()?;
            c.audience = audience;
            if let Some(s) = scope {
                c.scope = s;
            }
            if let Some(o) = offline_access {
                c.offline_access = o;
            }
            c.organization = organization;
            c.issuers = issuers.unwrap_or_default();
            if let Some(s) = leeway {
                c.set("leeway", s)?;
            }
            c.authorize_url = authorize_url;
            c.token_url = token_url;
            c.userinfo_url = userinfo_url;
            // The core parses it (`"file"`, `"file:/dir"`, `redis://…`; `""` is off).
            c.shared_cache = SharedCache::parse_optional(shared_cache)?;
            Ok(Self {
                core: tokenkeeper::SignInClient::new(c)?,
            })
        };
        make().map_err(|e| to_py_err(py, e))
    }

    /// An app from `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, `AUTH0_REDIRECT_URI`, the credential
    /// variables of `TokenClient.from_env` if it is a confidential client (none: a public
    /// client), and `AUTH0_AUDIENCE`, `AUTH0_SCOPE`, `TOKENKEEPER_CA_FILE` if set (the core's
    /// `SignInConfig::from_env`); keywords are HTTP options, as for the constructor.
    #[staticmethod]
    #[pyo3(signature = (**options))]
    fn from_env(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let err = |e| to_py_err(py, e);
        let mut c = SignInConfig::from_env().map_err(err)?;
        set_knobs(py, options, &mut c.http, None)?;
        let core = tokenkeeper::SignInClient::new(c).map_err(err)?;
        Ok(Self { core })
    }

    /// Starts a login: a `LoginTransaction` whose `url` the app opens in a browser. Each
    /// keyword overrides the client's default for this login; `extra` adds query parameters
    /// (`prompt`, `login_hint`, `connection`, `screen_hint`…) as a dict or `(name, value)`
    /// pairs (the core puts them in the URL sorted by name).
    #[pyo3(signature = (
        *, audience=None, scope=None, organization=None, max_age=None, redirect_uri=None,
        extra=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn authorize(
        &self,
        py: Python<'_>,
        audience: Option<String>,
        scope: Option<&Bound<'_, PyAny>>,
        organization: Option<String>,
        max_age: Option<u64>,
        redirect_uri: Option<String>,
        extra: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LoginTransaction> {
        let extra = match extra {
            None => Vec::new(),
            Some(e) => match e.cast::<PyDict>() {
                Ok(d) => d.items().extract::<Vec<(String, String)>>(),
                Err(_) => e.extract::<Vec<(String, String)>>(),
            }
            .map_err(|_| {
                PyTypeError::new_err(
                    "extra must be a dict of str to str or a sequence of (name, value) pairs",
                )
            })?,
        };
        let params = AuthorizeParams {
            audience,
            scope: scope_owned(scope)?,
            organization,
            max_age,
            redirect_uri,
            extra,
        };
        self.core
            .authorize(&params)
            .map(LoginTransaction)
            .map_err(|e| to_py_err(py, e))
    }

    /// Finishes a login from the URL the browser came back to: checks `state` (a forged or
    /// stale callback is `InvalidResponseError`), turns an `error` into `OAuthError`, exchanges
    /// the code and verifies the ID token. Blocks with the GIL released.
    fn handle_callback(
        &self,
        py: Python<'_>,
        transaction: &LoginTransaction,
        callback_url: String,
    ) -> PyResult<Py<PyAny>> {
        self.block(py, Op::Callback(transaction.0.clone(), callback_url))
    }

    fn handle_callback_async(
        &self,
        py: Python<'_>,
        transaction: &LoginTransaction,
        callback_url: String,
    ) -> PyResult<Py<PyAny>> {
        self.coroutine(py, Op::Callback(transaction.0.clone(), callback_url))
    }

    /// The code of a callback URL, after checking its `state` (for apps that exchange the code
    /// elsewhere); no network.
    fn callback_code(
        &self,
        py: Python<'_>,
        transaction: &LoginTransaction,
        callback_url: &str,
    ) -> PyResult<String> {
        self.core
            .callback_code(&transaction.0, callback_url)
            .map_err(|e| to_py_err(py, e))
    }

    /// Exchanges an authorization code (with the transaction's PKCE verifier) and verifies the
    /// ID token.
    fn exchange_code(
        &self,
        py: Python<'_>,
        transaction: &LoginTransaction,
        code: String,
    ) -> PyResult<Py<PyAny>> {
        self.block(py, Op::Exchange(transaction.0.clone(), code))
    }

    fn exchange_code_async(
        &self,
        py: Python<'_>,
        transaction: &LoginTransaction,
        code: String,
    ) -> PyResult<Py<PyAny>> {
        self.coroutine(py, Op::Exchange(transaction.0.clone(), code))
    }

    /// One `refresh_token` grant (never retried: a rotating refresh token is spent by the
    /// request). A refused refresh token is `ReauthenticationRequiredError`. The result's
    /// `refresh_token` is the new one when the server rotated it, else `None`.
    #[pyo3(signature = (refresh_token, scope=None))]
    fn refresh(
        &self,
        py: Python<'_>,
        refresh_token: String,
        scope: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.block(py, Op::Refresh(refresh_token, scope_owned(scope)?))
    }

    #[pyo3(signature = (refresh_token, scope=None))]
    fn refresh_async(
        &self,
        py: Python<'_>,
        refresh_token: String,
        scope: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.coroutine(py, Op::Refresh(refresh_token, scope_owned(scope)?))
    }

    /// The user's profile from `/userinfo` (a `Claims` dict) for an access token, opaque or a
    /// JWT whose `aud` includes `{issuer}userinfo`. A rejected token is `OAuthError`
    /// `invalid_token` (status 401).
    fn userinfo(&self, py: Python<'_>, access_token: String) -> PyResult<Py<PyAny>> {
        self.block(py, Op::Userinfo(access_token))
    }

    fn userinfo_async(&self, py: Python<'_>, access_token: String) -> PyResult<Py<PyAny>> {
        self.coroutine(py, Op::Userinfo(access_token))
    }

    #[getter]
    fn client_id(&self) -> &str {
        self.core.client_id()
    }

    /// `https://{domain}/`.
    #[getter]
    fn issuer(&self) -> &str {
        self.core.issuer()
    }

    /// The verifier of this app's ID tokens (audience = the client id).
    #[getter]
    fn id_token_verifier(&self) -> TokenVerifier {
        TokenVerifier::wrap(self.core.id_token_verifier().clone())
    }

    /// The core's text (never a secret).
    fn __repr__(&self) -> String {
        format!("{:?}", self.core)
    }
}

/// One login in progress: what the callback is checked against. Keep it until the browser
/// comes back; `to_json()`/`LoginTransaction.from_json()` persist it (the JSON holds the PKCE
/// verifier: store it like a secret). `repr` never shows the verifier.
#[pyclass(frozen, module = "tokenkeeper", name = "LoginTransaction")]
pub struct LoginTransaction(tokenkeeper::LoginTransaction);

#[pymethods]
impl LoginTransaction {
    /// The `/authorize` URL to open in the browser.
    #[getter]
    fn url(&self) -> &str {
        &self.0.url
    }

    #[getter]
    fn state(&self) -> &str {
        &self.0.state
    }

    #[getter]
    fn nonce(&self) -> &str {
        &self.0.nonce
    }

    #[getter]
    fn redirect_uri(&self) -> &str {
        &self.0.redirect_uri
    }

    /// The scopes asked for (space-separated).
    #[getter]
    fn scope(&self) -> &str {
        &self.0.scope
    }

    #[getter]
    fn audience(&self) -> Option<&str> {
        self.0.audience.as_deref()
    }

    #[getter]
    fn organization(&self) -> Option<&str> {
        self.0.organization.as_deref()
    }

    #[getter]
    fn max_age(&self) -> Option<u64> {
        self.0.max_age
    }

    /// The transaction as JSON, PKCE verifier included.
    fn to_json(&self) -> String {
        self.0.to_json()
    }

    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, py: Python<'_>, json: &str) -> PyResult<Self> {
        tokenkeeper::LoginTransaction::from_json(json)
            .map(Self)
            .map_err(|e| to_py_err(py, e))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<LoginTransaction>()
            .is_ok_and(|o| o.get().0 == self.0)
    }

    /// The core's text (the PKCE verifier redacted).
    fn __repr__(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// The tokens of a signed-in user. `repr` never shows a token.
#[pyclass(frozen, module = "tokenkeeper", name = "UserCredentials")]
pub struct UserCredentials {
    pub(crate) inner: tokenkeeper::UserCredentials,
}

impl UserCredentials {
    pub(crate) fn wrap(inner: tokenkeeper::UserCredentials) -> Self {
        Self { inner }
    }
}

/// Seconds since the epoch of a `datetime` (its `timestamp()`) or of a number.
fn unix_seconds(v: &Bound<'_, PyAny>) -> PyResult<f64> {
    if v.hasattr("timestamp")? {
        return v.call_method0("timestamp")?.extract();
    }
    v.extract().map_err(|_| {
        PyTypeError::new_err("expires_at must be a datetime or a number of seconds since the epoch")
    })
}

#[pymethods]
impl UserCredentials {
    /// Credentials a store kept in its own form. `expires_at`: a timezone-aware `datetime` or
    /// seconds since the epoch. (`UserCredentials.from_json` reads `to_json()`'s form.)
    #[new]
    #[pyo3(signature = (
        access_token, expires_at, *, token_type="Bearer", scope=None, refresh_token=None,
        id_token=None
    ))]
    fn new(
        py: Python<'_>,
        access_token: String,
        expires_at: &Bound<'_, PyAny>,
        token_type: &str,
        scope: Option<String>,
        refresh_token: Option<String>,
        id_token: Option<String>,
    ) -> PyResult<Self> {
        let expires_at = unix_seconds(expires_at)?;
        tokenkeeper::UserCredentials::new(
            access_token,
            token_type,
            expires_at,
            scope,
            refresh_token,
            id_token,
        )
        .map(Self::wrap)
        .map_err(|e| to_py_err(py, e))
    }

    /// The access token (a secret: do not log it).
    #[getter]
    fn access_token(&self) -> &str {
        &self.inner.access_token
    }

    #[getter]
    fn token_type(&self) -> &str {
        &self.inner.token_type
    }

    /// When the access token expires: a timezone-aware UTC `datetime`.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        utc_datetime(py, self.inner.expires_at as f64)
    }

    /// Seconds left before the access token expires (0.0 once expired).
    #[getter]
    fn remaining(&self) -> f64 {
        self.inner.remaining().as_secs_f64()
    }

    /// Granted scopes, space-separated.
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.inner.scope.as_deref()
    }

    /// The refresh token, if any (a secret).
    #[getter]
    fn refresh_token(&self) -> Option<&str> {
        self.inner.refresh_token.as_deref()
    }

    /// The ID token, if any (verified when it was received).
    #[getter]
    fn id_token(&self) -> Option<&str> {
        self.inner.id_token.as_deref()
    }

    /// `"Bearer <access token>"`.
    #[getter]
    fn authorization_header(&self) -> String {
        self.inner.authorization_header()
    }

    /// Whether the access token has at least `min_ttl` seconds left.
    #[pyo3(signature = (min_ttl=0.0))]
    fn is_valid_for(&self, py: Python<'_>, min_ttl: f64) -> PyResult<bool> {
        let d = seconds("min_ttl", min_ttl).map_err(|e| to_py_err(py, e))?;
        Ok(self.inner.is_valid_for(d))
    }

    /// Whether every scope of `scope` (space-separated, or a sequence) was granted.
    fn has_scope(&self, scope: &Bound<'_, PyAny>) -> PyResult<bool> {
        let s = scope_owned(Some(scope))?.unwrap_or_default();
        Ok(self.inner.has_scope(&s))
    }

    /// The ID token's claims (decoded, not verified again), or `None`.
    fn id_token_claims(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.inner
            .id_token_claims()
            .map(|c| crate::claims::to_py(py, c))
            .transpose()
    }

    /// The credentials as JSON (tokens included: store it like a secret).
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, py: Python<'_>, json: &str) -> PyResult<Self> {
        tokenkeeper::UserCredentials::from_json(json)
            .map(Self::wrap)
            .map_err(|e| to_py_err(py, e))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<UserCredentials>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    /// The core's text (the tokens redacted).
    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}
