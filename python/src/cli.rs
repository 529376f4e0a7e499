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
    let issuer = Python::attach(|py| -> PyResult<Py<PyAny>> {
        Ok(py
            .import("tokenkeeper.testing")?
            .getattr("LocalIssuer")?
            .call0()?
            .unbind())
    })
    .map_err(|e| Failure::Config(Python::attach(|py| e.value(py).to_string())))?;
    let issuer = PyIssuer(issuer);
    let result = tokenkeeper_cli::demo_with(&issuer);
    Python::attach(|py| {
        let _ = issuer.0.call_method0(py, "stop");
    });
    result
}

/// `LocalIssuer`'s fixture and counts, read with the GIL taken for each.
struct PyIssuer(Py<PyAny>);

impl PyIssuer {
    fn text(&self, name: &str) -> String {
        Python::attach(|py| {
            self.0
                .getattr(py, name)
                .and_then(|v| v.extract::<String>(py))
                .unwrap_or_default()
        })
    }
}

impl DemoIssuer for PyIssuer {
    fn place(&self) -> &str {
        "tokenkeeper-testing, in this process"
    }
    fn url(&self) -> String {
        self.text("url")
    }
    fn issuer(&self) -> String {
        self.text("issuer")
    }
    fn client_id(&self) -> String {
        self.text("client_id")
    }
    fn client_secret(&self) -> String {
        self.text("client_secret")
    }
    fn audience(&self) -> String {
        self.text("audience")
    }
    fn count(&self, endpoint: &str) -> u64 {
        Python::attach(|py| {
            self.0
                .call_method1(py, "count", (endpoint,))
                .and_then(|v| v.extract::<u64>(py))
                .unwrap_or(u64::MAX)
        })
    }
}
