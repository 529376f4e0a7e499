//! `tokenkeeper.SignInClient` (authorization code + PKCE, refresh, `/userinfo`), its
//! `LoginTransaction` and the `UserCredentials` it returns. The flow, the checks of the callback
//! and the ID token are the core's; this converts arguments, results and errors.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyType};
use tokenkeeper::{AuthMethod, AuthorizeParams, Error, SignInConfig};

use crate::client::{credentials, http_retry, scope_text, seconds};
use crate::errors::to_py_err;
use crate::run::{block, coroutine, Out};
use crate::token::utc_datetime;
use crate::verify::TokenVerifier;

/// Python's `repr` of an optional string.
fn repr_opt(py: Python<'_>, s: Option<&str>) -> PyResult<String> {
    match s {
        Some(s) => Ok(PyString::new(py, s).repr()?.to_string()),
        None => Ok("None".into()),
    }
}

/// Signs users in (authorization code + PKCE) and renews their tokens.
#[pyclass(frozen, module = "tokenkeeper", name = "SignInClient")]
pub struct SignInClient {
    pub(crate) core: tokenkeeper::SignInClient,
}

#[pymethods]
impl SignInClient {
    /// A public client (SPA, native app: PKCE only) unless `client_secret` or `private_key` is
    /// given (a confidential, regular web app). `redirect_uri`: where `/authorize` sends the
    /// browser back (`https`, loopback `http`, or an app's custom scheme). `scope` defaults to
    /// `openid profile email` (`openid` is always added, and `offline_access` unless
    /// `offline_access=False`). Durations in seconds; `None` keeps the core's default.
    #[new]
    #[pyo3(signature = (
        domain, client_id, redirect_uri, *, client_secret=None, private_key=None,
        private_key_alg="RS256", private_key_id=None, auth_method=None, audience=None, scope=None,
        offline_access=true, organization=None, issuers=None, leeway=60.0, authorize_url=None,
        token_url=None, userinfo_url=None, timeout=None, connect_timeout=None, max_attempts=None,
        max_retry_after=None, max_response_bytes=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        domain: String,
        client_id: String,
        redirect_uri: String,
        client_secret: Option<String>,
        private_key: Option<String>,
        private_key_alg: &str,
        private_key_id: Option<String>,
        auth_method: Option<String>,
        audience: Option<String>,
        scope: Option<&Bound<'_, PyAny>>,
        offline_access: bool,
        organization: Option<String>,
        issuers: Option<Vec<String>>,
        leeway: f64,
        authorize_url: Option<String>,
        token_url: Option<String>,
        userinfo_url: Option<String>,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        max_attempts: Option<i64>,
        max_retry_after: Option<f64>,
        max_response_bytes: Option<i64>,
    ) -> PyResult<Self> {
        let scope = scope_text(scope)?.map(|s| s.into_owned());
        let make = || -> Result<Self, Error> {
            let mut c = SignInConfig::new(domain, client_id, redirect_uri);
            if client_secret.is_some() || private_key.is_some() {
                c.credentials = Some(credentials(
                    client_secret,
                    private_key,
                    private_key_alg,
                    private_key_id,
                )?);
            }
            c.auth_method = auth_method.as_deref().map(AuthMethod::parse).transpose()?;
            c.audience = audience;
            if let Some(s) = scope {
                c.scope = s;
            }
            c.offline_access = offline_access;
            c.organization = organization;
            c.issuers = issuers.unwrap_or_default();
            c.leeway = seconds("leeway", Some(leeway), c.leeway)?;
            c.authorize_url = authorize_url;
            c.token_url = token_url;
            c.userinfo_url = userinfo_url;
            (c.http, c.retry) = http_retry(
                timeout,
                connect_timeout,
                max_attempts,
                max_retry_after,
                max_response_bytes,
            )?;
            Ok(Self {
                core: tokenkeeper::SignInClient::new(c)?,
            })
        };
        make().map_err(|e| to_py_err(py, e))
    }

    /// Starts a login: a `LoginTransaction` whose `url` the app opens in a browser. Each
    /// keyword overrides the client's default for this login; `extra` adds query parameters
    /// (`prompt`, `login_hint`, `connection`, `screen_hint`…) as a dict or `(name, value)`
    /// pairs.
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
                Ok(d) => d
                    .iter()
                    .map(|(k, v)| Ok((k.extract::<String>()?, v.extract::<String>()?)))
                    .collect::<PyResult<_>>()?,
                Err(_) => e.extract::<Vec<(String, String)>>().map_err(|_| {
                    PyTypeError::new_err(
                        "extra must be a dict of str to str or a sequence of (name, value) pairs",
                    )
                })?,
            },
        };
        let params = AuthorizeParams {
            audience,
            scope: scope_text(scope)?.map(|s| s.into_owned()),
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
        let (core, tx) = (self.core.clone(), transaction.0.clone());
        block(
            py,
            async move {
                core.handle_callback(&tx, &callback_url)
                    .await
                    .map(Out::Credentials)
            },
            None,
        )
    }

    fn handle_callback_async(
        &self,
        py: Python<'_>,
        transaction: &LoginTransaction,
        callback_url: String,
    ) -> PyResult<Py<PyAny>> {
        let (core, tx) = (self.core.clone(), transaction.0.clone());
        coroutine(
            py,
            async move {
                core.handle_callback(&tx, &callback_url)
                    .await
                    .map(Out::Credentials)
            },
            None,
        )
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
        let (core, tx) = (self.core.clone(), transaction.0.clone());
        block(
            py,
            async move { core.exchange_code(&tx, &code).await.map(Out::Credentials) },
            None,
        )
    }

    fn exchange_code_async(
        &self,
        py: Python<'_>,
        transaction: &LoginTransaction,
        code: String,
    ) -> PyResult<Py<PyAny>> {
        let (core, tx) = (self.core.clone(), transaction.0.clone());
        coroutine(
            py,
            async move { core.exchange_code(&tx, &code).await.map(Out::Credentials) },
            None,
        )
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
        let (core, scope) = (
            self.core.clone(),
            scope_text(scope)?.map(|s| s.into_owned()),
        );
        block(
            py,
            async move {
                core.refresh(&refresh_token, scope.as_deref())
                    .await
                    .map(Out::Credentials)
            },
            None,
        )
    }

    #[pyo3(signature = (refresh_token, scope=None))]
    fn refresh_async(
        &self,
        py: Python<'_>,
        refresh_token: String,
        scope: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (core, scope) = (
            self.core.clone(),
            scope_text(scope)?.map(|s| s.into_owned()),
        );
        coroutine(
            py,
            async move {
                core.refresh(&refresh_token, scope.as_deref())
                    .await
                    .map(Out::Credentials)
            },
            None,
        )
    }

    /// The user's profile from `/userinfo` (a `Claims` dict) for an access token, opaque or a
    /// JWT whose `aud` includes `{issuer}userinfo`. A rejected token is `OAuthError`
    /// `invalid_token` (status 401).
    fn userinfo(&self, py: Python<'_>, access_token: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        block(
            py,
            async move { core.userinfo(&access_token).await.map(Out::Claims) },
            None,
        )
    }

    fn userinfo_async(&self, py: Python<'_>, access_token: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        coroutine(
            py,
            async move { core.userinfo(&access_token).await.map(Out::Claims) },
            None,
        )
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

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "SignInClient(issuer={}, client_id={})",
            repr_opt(py, Some(self.core.issuer()))?,
            repr_opt(py, Some(self.core.client_id()))?,
        ))
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

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "LoginTransaction(url={}, redirect_uri={}, scope={}, audience={}, organization={}, \
             max_age={}, code_verifier=[redacted])",
            repr_opt(py, Some(&self.0.url))?,
            repr_opt(py, Some(&self.0.redirect_uri))?,
            repr_opt(py, Some(&self.0.scope))?,
            repr_opt(py, self.0.audience.as_deref())?,
            repr_opt(py, self.0.organization.as_deref())?,
            self.0
                .max_age
                .map_or_else(|| "None".to_string(), |m| m.to_string()),
        ))
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
fn unix_seconds(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<u64> {
    let secs: f64 = if v.hasattr("timestamp")? {
        v.call_method0("timestamp")?.extract()?
    } else {
        v.extract().map_err(|_| {
            PyTypeError::new_err(
                "expires_at must be a datetime or a number of seconds since the epoch",
            )
        })?
    };
    if !(0.0..1e15).contains(&secs) {
        return Err(to_py_err(
            py,
            Error::Config(format!("expires_at is out of range: {secs}")),
        ));
    }
    Ok(secs as u64)
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
        Ok(Self::wrap(tokenkeeper::UserCredentials {
            access_token,
            token_type: token_type.to_string(),
            expires_at: unix_seconds(py, expires_at)?,
            scope,
            refresh_token,
            id_token,
        }))
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
        let d = seconds("min_ttl", Some(min_ttl), std::time::Duration::ZERO)
            .map_err(|e| to_py_err(py, e))?;
        Ok(self.inner.is_valid_for(d))
    }

    /// Whether every scope of `scope` (space-separated, or a sequence) was granted.
    fn has_scope(&self, scope: &Bound<'_, PyAny>) -> PyResult<bool> {
        let s = scope_text(Some(scope))?.unwrap_or_default();
        Ok(self.inner.has_scope(&s))
    }

    /// The ID token's claims (decoded, not verified again), or `None`.
    fn id_token_claims(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.inner
            .id_token_claims()
            .map(|c| crate::claims::to_py(py, &c))
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

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let at = self.expires_at(py)?.call_method0("isoformat")?;
        let redacted = |o: &Option<String>| if o.is_some() { "[redacted]" } else { "None" };
        Ok(format!(
            "UserCredentials(token_type={}, expires_at='{}', scope={}, access_token=[redacted], \
             refresh_token={}, id_token={})",
            repr_opt(py, Some(&self.inner.token_type))?,
            at,
            repr_opt(py, self.inner.scope.as_deref())?,
            redacted(&self.inner.refresh_token),
            redacted(&self.inner.id_token),
        ))
    }
}
