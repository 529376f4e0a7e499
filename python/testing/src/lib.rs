//! `tokenkeeper_testing._issuer`: the local issuer (`tokenkeeper-issuer`), in-process, for
//! `tokenkeeper.testing.LocalIssuer`: users' test suites get an Auth0-compatible server on
//! 127.0.0.1 without a Rust toolchain. A wheel of its own (`tokenkeeper-testing`), so that the
//! `tokenkeeper` wheel carries no server; conversion only, as every binding.

#![forbid(unsafe_code)]

use std::net::TcpStream;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use tokenkeeper_issuer::{Algorithm, Api, Fault as CoreFault, Issuer as CoreIssuer};

/// A running local issuer; `tokenkeeper.testing.LocalIssuer` wraps it.
#[pyclass(frozen, module = "tokenkeeper_testing._issuer", name = "Issuer")]
pub struct Issuer {
    inner: Mutex<Option<CoreIssuer>>,
    fixture: String,
}

/// The issuer's server tasks run here: two workers are plenty for a test's load, and they
/// never wait on the client's runtime (a client in the same process has its own, in the
/// `tokenkeeper` module).
fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tokenkeeper-issuer")
        .enable_all()
        .build()
        .map_err(|e| PyOSError::new_err(format!("cannot start the local issuer's runtime: {e}")))?;
    Ok(RUNTIME.get_or_init(|| rt))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Issuer {
    fn with<R>(&self, f: impl FnOnce(&CoreIssuer) -> R) -> PyResult<R> {
        match lock(&self.inner).as_ref() {
            Some(i) => Ok(f(i)),
            None => Err(PyRuntimeError::new_err("the local issuer was stopped")),
        }
    }
}

#[pymethods]
impl Issuer {
    /// Starts on 127.0.0.1 (`port` 0: any free port), on its own runtime; with `tls`, it
    /// serves HTTPS with a certificate of a CA made now (the fixture's `ca_file`).
    #[staticmethod]
    #[pyo3(signature = (port=0, tls=false))]
    fn start(py: Python<'_>, port: u16, tls: bool) -> PyResult<Self> {
        let rt = runtime()?;
        // An OSError: tokenkeeper.testing raises it as the client's NetworkError.
        let issuer = py
            .detach(|| {
                rt.block_on(async move {
                    match tls {
                        true => CoreIssuer::start_tls_on(port, Default::default()).await,
                        false => CoreIssuer::start_on(port).await,
                    }
                })
            })
            .map_err(|e| {
                PyOSError::new_err(format!(
                    "cannot start the local issuer on 127.0.0.1:{port}: {e}"
                ))
            })?;
        let fixture = serde_json::to_string(&issuer.fixture)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(Self {
            inner: Mutex::new(Some(issuer)),
            fixture,
        })
    }

    /// Stops serving (idempotent), and returns once its port refuses connections (at most
    /// about 2 s): the server stops on a runtime thread after being told to, and until then a
    /// request (on a new or a pooled connection) could still be answered.
    fn stop(&self, py: Python<'_>) {
        let Some(issuer) = lock(&self.inner).take() else {
            return;
        };
        let addr = issuer.addr();
        drop(issuer);
        py.detach(|| {
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline
                && TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            {
                std::thread::sleep(Duration::from_millis(5));
            }
        });
    }

    #[getter]
    fn running(&self) -> bool {
        lock(&self.inner).is_some()
    }

    /// The fixture (URL, clients, their secrets and keys, APIs, organizations) as JSON.
    #[getter]
    fn fixture_json(&self) -> &str {
        &self.fixture
    }

    /// Requests an endpoint (`token`, `jwks`…) received, faulted ones included.
    #[pyo3(signature = (endpoint="token"))]
    fn count(&self, endpoint: &str) -> PyResult<u64> {
        self.with(|i| i.count(endpoint))
    }

    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let counts = self.with(|i| i.counts())?;
        let d = PyDict::new(py);
        for (k, v) in counts {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// Queues a fault: a `Fault` or a dict of its fields (`endpoint`, `delay_ms`, `status`,
    /// `body`, `headers`, `body_bytes`, `drop_connection`, `after_handling`, `times`).
    fn inject(&self, py: Python<'_>, fault: &Bound<'_, PyAny>) -> PyResult<()> {
        let fault = if let Ok(f) = fault.cast::<Fault>() {
            f.get().0.clone()
        } else if fault.is_instance_of::<PyDict>() {
            let json: String = py
                .import("json")?
                .call_method1("dumps", (fault,))?
                .extract()?;
            let mut f: CoreFault = serde_json::from_str(&json)
                .map_err(|e| PyTypeError::new_err(format!("not a fault: {e}")))?;
            // As the admin endpoint does: `token` unless said, at least once.
            if f.endpoint.is_empty() {
                f.endpoint = "token".into();
            }
            f.times = f.times.max(1);
            f
        } else {
            return Err(PyTypeError::new_err("inject() takes a Fault or a dict"));
        };
        self.with(|i| i.inject(fault))
    }

    /// Registers (or replaces) an API.
    #[pyo3(signature = (audience, scopes=Vec::new(), lifetime=86_400))]
    fn add_api(&self, audience: String, scopes: Vec<String>, lifetime: u64) -> PyResult<()> {
        // Through serde, as the admin endpoint does: fields the issuer adds later keep their
        // defaults.
        let api: Api = serde_json::from_value(serde_json::json!({
            "audience": audience,
            "scopes": scopes,
            "lifetime": lifetime,
        }))
        .map_err(|e| PyTypeError::new_err(format!("not an API: {e}")))?;
        self.with(|i| i.add_api(api))
    }

    /// Zeroes the counters and drops queued faults.
    fn reset(&self) -> PyResult<()> {
        self.with(|i| i.reset())
    }

    /// The JWKS document, as JSON.
    fn jwks_json(&self) -> PyResult<String> {
        self.with(|i| i.jwks().to_string())
    }

    /// A JWT of `claims` (a JSON object, as text) signed by the active key, with `header`
    /// members (JSON object text) merged over `{alg, typ, kid}`.
    #[pyo3(signature = (claims_json, header_json=None))]
    fn sign(
        &self,
        py: Python<'_>,
        claims_json: &str,
        header_json: Option<&str>,
    ) -> PyResult<String> {
        let object = |what: &str, text: &str| -> PyResult<serde_json::Value> {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v) if v.is_object() => Ok(v),
                _ => Err(PyTypeError::new_err(format!(
                    "{what} must be a JSON object"
                ))),
            }
        };
        let claims = object("claims", claims_json)?;
        let header = header_json.map(|h| object("header", h)).transpose()?;
        // RSA signing takes a millisecond or two: without the GIL.
        py.detach(|| {
            self.with(|i| match &header {
                Some(h) => i.sign_with_header(h, &claims),
                None => i.sign(&claims),
            })
        })
    }

    /// A JWT over exactly this header and payload text, signed by the active key.
    fn sign_raw(&self, py: Python<'_>, header_json: &str, payload_json: &str) -> PyResult<String> {
        py.detach(|| self.with(|i| i.sign_raw(header_json, payload_json)))
    }

    /// Revokes every refresh token issued so far; returns how many families were live.
    fn revoke_refresh_tokens(&self) -> PyResult<usize> {
        self.with(|i| i.revoke_refresh_tokens())
    }

    /// The `kid` of the key that signs tokens now.
    #[getter]
    fn active_kid(&self) -> PyResult<String> {
        self.with(|i| i.active_kid())
    }

    /// `kid`s of the keys in the JWKS.
    #[getter]
    fn published_kids(&self) -> PyResult<Vec<String>> {
        self.with(|i| i.published_kids())
    }

    /// A new signing key (`RS256`, `PS256` or `ES256`) in the JWKS, signing from now on when
    /// `activate`; returns its `kid`.
    #[pyo3(signature = (alg="RS256", activate=true))]
    fn add_signing_key(&self, py: Python<'_>, alg: &str, activate: bool) -> PyResult<String> {
        let alg = match alg {
            "RS256" => Algorithm::RS256,
            "PS256" => Algorithm::PS256,
            "ES256" => Algorithm::ES256,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unsupported signing algorithm {other:?}: RS256, PS256 or ES256"
                )))
            }
        };
        // Generating an RSA key takes a while: without the GIL.
        py.detach(|| self.with(|i| i.add_signing_key(alg, activate)))
    }

    /// Removes a key from the JWKS (not the active one).
    fn retire_signing_key(&self, kid: &str) -> PyResult<()> {
        self.with(|i| i.retire_signing_key(kid))?
            .map_err(PyValueError::new_err)
    }

    /// Key rotation as a tenant does it: a new RS256 key signs from now on and the previous
    /// active key leaves the JWKS. Returns the new `kid`.
    fn rotate_signing_key(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| self.with(|i| i.rotate_signing_key()))
    }

    fn __repr__(&self) -> String {
        let url = self.with(|i| i.url().to_string());
        match url {
            Ok(u) => format!("Issuer(url='{u}')"),
            Err(_) => "Issuer(stopped)".into(),
        }
    }
}

/// A fault for the local issuer's next requests (builders as in the Rust crate).
#[pyclass(frozen, module = "tokenkeeper.testing", name = "Fault")]
#[derive(Clone)]
pub struct Fault(CoreFault);

#[pymethods]
impl Fault {
    /// `status` with an Auth0-style error body `{"error", "error_description"}`.
    #[staticmethod]
    fn status(status: u16, error: &str, description: &str) -> Self {
        Self(CoreFault::status(status, error, description))
    }

    /// Auth0's 429 with `Retry-After` (seconds).
    #[staticmethod]
    fn rate_limited(retry_after: u64) -> Self {
        Self(CoreFault::rate_limited(retry_after))
    }

    /// Any status and raw body.
    #[staticmethod]
    fn raw(status: u16, body: &str) -> Self {
        Self(CoreFault::raw(status, body))
    }

    /// Wait `ms` milliseconds before answering normally.
    #[staticmethod]
    fn delay(ms: u64) -> Self {
        Self(CoreFault::delay(ms))
    }

    /// A 200 body of `size` bytes.
    #[staticmethod]
    fn oversized(size: usize) -> Self {
        Self(CoreFault::oversized(size))
    }

    /// Break the connection instead of answering.
    #[staticmethod]
    fn drop_connection() -> Self {
        Self(CoreFault::drop_connection())
    }

    /// Handles the request first (a client assertion's `jti` is spent, a refresh token
    /// rotates), then answers with the fault: the answer is lost, its effects are not.
    fn after_handling(&self) -> Self {
        Self(self.0.clone().after_handling())
    }

    /// Applies to the next `n` requests.
    fn times(&self, n: u32) -> Self {
        Self(self.0.clone().times(n))
    }

    /// For another endpoint than `token`.
    fn on(&self, endpoint: &str) -> Self {
        Self(self.0.clone().on(endpoint))
    }

    /// Adds a response header.
    fn header(&self, name: &str, value: &str) -> Self {
        Self(self.0.clone().header(name, value))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let json = serde_json::to_string(&self.0).unwrap_or_default();
        Ok(format!("Fault({})", PyString::new(py, &json).repr()?))
    }
}

#[pymodule]
fn _issuer(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Issuer>()?;
    m.add_class::<Fault>()?;
    Ok(())
}
