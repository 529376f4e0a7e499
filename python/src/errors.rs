//! The one place where a core error becomes a Python exception.
//!
//! The exception classes live in `tokenkeeper/errors.py` (plain Python: docstrings, attributes,
//! pickling); this module only picks the class and passes the fields.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;
use tokenkeeper::{Error, HostError, HostMessage, TokenCheck};

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// `tokenkeeper::Error` → `tokenkeeper.errors.*`. Messages are the core's (one line, no secret).
pub(crate) fn to_py_err(py: Python<'_>, e: Error) -> PyErr {
    build(py, e).unwrap_or_else(|failure| failure)
}

fn build(py: Python<'_>, e: Error) -> PyResult<PyErr> {
    let m = ERRORS
        .get_or_try_init(py, || py.import("tokenkeeper.errors").map(Bound::unbind))?
        .bind(py);
    let message = e.to_string();
    // The core's answers, on every exception (a class's `kind` only documents it).
    let (kind, transient, http_status) = (e.kind(), e.is_transient(), e.http_status());
    let mut cause = None;
    let exc = match e {
        Error::OAuth {
            error,
            description,
            status,
        } => m
            .getattr("OAuthError")?
            .call1((message, error, description, status))?,
        Error::RateLimited {
            retry_after,
            description,
        } => m.getattr("RateLimitedError")?.call1((
            message,
            retry_after.map(|d| d.as_secs_f64()),
            description,
        ))?,
        Error::Network(_) => m.getattr("NetworkError")?.call1((message,))?,
        Error::Timeout(_) => m.getattr("RequestTimeoutError")?.call1((message,))?,
        Error::InvalidResponse { status, .. } => m
            .getattr("InvalidResponseError")?
            .call1((message, status))?,
        Error::Config(_) => m.getattr("ConfigError")?.call1((message,))?,
        Error::InvalidToken { check, .. } => m
            .getattr("InvalidTokenError")?
            .call_method1("for_check", (check.as_str(), message))?,
        Error::ReauthenticationRequired { error, description } => m
            .getattr("ReauthenticationRequiredError")?
            .call1((message, error, description))?,
        Error::Storage { source, .. } => {
            // The exception a Python store raised (see `credentials::PyStore`): a tokenkeeper
            // error as it was raised, any other as the cause of a CredentialsStoreError.
            if let Some(raised) = source.get().downcast_ref::<PyErr>() {
                let raised = raised.clone_ref(py);
                if raised
                    .value(py)
                    .is_instance(&m.getattr("TokenkeeperError")?)?
                {
                    return Ok(raised);
                }
                cause = Some(raised);
            }
            m.getattr("CredentialsStoreError")?.call1((message,))?
        }
    };
    exc.setattr("kind", kind)?;
    exc.setattr("transient", transient)?;
    exc.setattr("http_status", http_status)?;
    let err = PyErr::from_value(exc);
    err.set_cause(py, cause);
    Ok(err)
}

/// The exception a core error of `kind` converts to, for tests of the variants no server can
/// produce (`invalid_token` for each check, `reauthentication_required`, `storage`). Not
/// public API.
#[pyfunction]
#[pyo3(signature = (kind, check=None))]
pub(crate) fn _sample_error(
    py: Python<'_>,
    kind: &str,
    check: Option<&str>,
) -> PyResult<Py<PyAny>> {
    let e = match kind {
        "oauth" => Error::OAuth {
            error: "access_denied".into(),
            description: Some("Service not enabled within domain".into()),
            status: 403,
        },
        "rate_limited" => Error::RateLimited {
            retry_after: Some(std::time::Duration::from_millis(1500)),
            description: None,
        },
        "network" => Error::Network("connection refused".into()),
        "timeout" => Error::Timeout("request timed out".into()),
        "invalid_response" => Error::InvalidResponse {
            status: Some(200),
            detail: "access_token is missing".into(),
        },
        "config" => Error::Config("client_id is empty".into()),
        "invalid_token" => {
            let name = check.unwrap_or("signature");
            Error::InvalidToken {
                check: TokenCheck::parse(name)
                    .ok_or_else(|| PyValueError::new_err(format!("no check {name:?}")))?,
                detail: "sample".into(),
            }
        }
        "reauthentication_required" => Error::ReauthenticationRequired {
            error: "invalid_grant".into(),
            description: Some("Unknown or invalid refresh token.".into()),
        },
        "storage" => Error::storage("load", HostError::new(HostMessage("disk full".into()))),
        other => return Err(PyValueError::new_err(format!("no error kind {other:?}"))),
    };
    Ok(to_py_err(py, e).into_value(py).into_any())
}

/// The name of every check, in the core's order (the Python side has a class for each).
pub(crate) fn check_names() -> Vec<&'static str> {
    TokenCheck::ALL.iter().map(|c| c.as_str()).collect()
}
