//! The claims of a verified token (or of a `/userinfo` answer) as a `tokenkeeper.Claims`: a
//! `dict` subclass (defined in `tokenkeeper/claims.py`) filled straight from the core's JSON
//! object, with no JSON text in between.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyList, PyString};
use serde_json::Value;

static CLAIMS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

pub(crate) fn to_py(py: Python<'_>, claims: &tokenkeeper::Claims) -> PyResult<Py<PyAny>> {
    let cls = CLAIMS.get_or_try_init(py, || {
        py.import("tokenkeeper.claims")?
            .getattr("Claims")
            .map(Bound::unbind)
    })?;
    let obj = cls.bind(py).call0()?;
    {
        let dict = obj.cast::<PyDict>()?;
        for (k, v) in claims.as_map() {
            dict.set_item(PyString::new(py, k), value(py, v)?)?;
        }
    }
    Ok(obj.unbind())
}

/// A JSON value as the Python value `json.loads` would give.
fn value<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| value(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(PyString::new(py, k), value(py, x)?)?;
            }
            d.into_any()
        }
    })
}
