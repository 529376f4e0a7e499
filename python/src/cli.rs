//! `tokenkeeper._native._cli`: the `tokenkeeper` command of the wheel's console script is the
//! CLI library (`core/cli`), the same code as the native binary. Its demo runs against
//! `tokenkeeper.testing.LocalIssuer` (the tokenkeeper-testing wheel), which the wheel does not
//! carry.

use std::ffi::OsString;

use pyo3::prelude::*;
use tokenkeeper_cli::{DemoIssuer, Failure};

/// Runs the command line `argv` (the program's name first) with the GIL released; the exit
/// status.
#[pyfunction]
pub(crate) fn _cli(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    py.detach(|| tokenkeeper_cli::run(argv, &demo))
}

fn demo() -> Result<u8, Failure> {
    let issuer = Python::attach(PyIssuer::start)
        .map_err(|e| Failure::Config(Python::attach(|py| e.value(py).to_string())))?;
    let result = tokenkeeper_cli::demo_with(&issuer);
    Python::attach(|py| {
        let _ = issuer.issuer.call_method0(py, "stop");
    });
    result
}

/// A running `LocalIssuer`: its fixture, read once (an error is the demo's), and its counts.
struct PyIssuer {
    issuer: Py<PyAny>,
    url: String,
    iss: String,
    client_id: String,
    client_secret: String,
    audience: String,
}

impl PyIssuer {
    fn start(py: Python<'_>) -> PyResult<Self> {
        let issuer = py
            .import("tokenkeeper.testing")?
            .getattr("LocalIssuer")?
            .call0()?;
        let text = |name: &str| issuer.getattr(name)?.extract::<String>();
        Ok(Self {
            url: text("url")?,
            iss: text("issuer")?,
            client_id: text("client_id")?,
            client_secret: text("client_secret")?,
            audience: text("audience")?,
            issuer: issuer.unbind(),
        })
    }
}

impl DemoIssuer for PyIssuer {
    fn place(&self) -> &str {
        "tokenkeeper-testing, in this process"
    }
    fn url(&self) -> String {
        self.url.clone()
    }
    fn issuer(&self) -> String {
        self.iss.clone()
    }
    fn client_id(&self) -> String {
        self.client_id.clone()
    }
    fn client_secret(&self) -> String {
        self.client_secret.clone()
    }
    fn audience(&self) -> String {
        self.audience.clone()
    }
    /// `u64::MAX` when the issuer cannot say: the demo's count check then fails.
    fn count(&self, endpoint: &str) -> u64 {
        Python::attach(|py| {
            self.issuer
                .call_method1(py, "count", (endpoint,))
                .and_then(|v| v.extract::<u64>(py))
                .unwrap_or(u64::MAX)
        })
    }
}
