//! `tokenkeeper.Claims`: the core's claims of a verified token (or of a `/userinfo` answer),
//! read-only, with the mapping protocol (`claims["sub"]`, `in`, `len`, iteration, `get`,
//! `keys`/`values`/`items`) and `to_dict()`. Every accessor is the core's, so it means the same
//! on every surface; a value is converted when it is read.

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString};
use serde_json::Value;

use crate::token::utc_datetime;

/// Every claim of a token, read-only: a mapping (`claims["https://example.com/roles"]`) with
/// typed access to the common claims (`claims.sub`, `claims.aud`…). The values are the ones of
/// the token's JSON: `str`, `int`, `float`, `bool`, `None`, `list`, `dict`. Filled by the
/// verifier after every check passed. `to_dict()` gives a `dict` (for `json.dumps`).
#[pyclass(frozen, mapping, module = "tokenkeeper", name = "Claims")]
pub struct Claims {
    core: tokenkeeper::Claims,
}

pub(crate) fn to_py(py: Python<'_>, claims: tokenkeeper::Claims) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, Claims { core: claims })?.into_any())
}

#[pymethods]
impl Claims {
    /// Claims of your own (tests, a copy kept earlier), from a mapping of JSON values: nothing
    /// is checked. The verifier's come from `verify`.
    #[new]
    #[pyo3(signature = (claims=None))]
    fn new(py: Python<'_>, claims: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let Some(claims) = claims else {
            return Ok(Self {
                core: tokenkeeper::Claims::from_map(Default::default()),
            });
        };
        let dict = PyDict::new(py);
        dict.call_method1("update", (claims,))?;
        let text: String = py
            .import("json")?
            .call_method1("dumps", (dict,))?
            .extract()?;
        let map = serde_json::from_str(&text)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("not claims: {e}")))?;
        Ok(Self {
            core: tokenkeeper::Claims::from_map(map),
        })
    }

    fn __getitem__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        match self.core.get(name) {
            Some(v) => Ok(value(py, v)?.unbind()),
            None => Err(PyKeyError::new_err(name.to_string())),
        }
    }

    fn __contains__(&self, name: &Bound<'_, PyAny>) -> bool {
        name.cast::<PyString>()
            .ok()
            .and_then(|n| n.to_str().ok().map(|n| self.core.get(n).is_some()))
            .unwrap_or(false)
    }

    fn __len__(&self) -> usize {
        self.core.as_map().len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.keys(py)?.into_any().try_iter().map(Bound::into_any)
    }

    /// The claim `name`, or `default` when absent.
    #[pyo3(signature = (name, default=None))]
    fn get(&self, py: Python<'_>, name: &str, default: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        match self.core.get(name) {
            Some(v) => Ok(value(py, v)?.unbind()),
            None => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    /// The claim names.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.core.as_map().keys())
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self.core.as_map().values().map(|v| value(py, v));
        PyList::new(py, items.collect::<PyResult<Vec<_>>>()?)
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .core
            .as_map()
            .iter()
            .map(|(k, v)| Ok((k, value(py, v)?)));
        PyList::new(py, items.collect::<PyResult<Vec<_>>>()?)
    }

    /// Every claim, as a new `dict`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        object(py, self.core.as_map())
    }

    /// Equal to another `Claims` or a mapping with the same claims.
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let other = match other.cast::<Claims>() {
            Ok(c) => c.get().to_dict(py)?.into_any(),
            Err(_) => other.clone(),
        };
        self.to_dict(py)?.eq(other)
    }

    /// A string claim; `None` when absent or not a string.
    fn get_str(&self, name: &str) -> Option<&str> {
        self.core.get_str(name)
    }

    /// A numeric claim as an integer, truncated toward zero (`1.5` is 1, `-1.5` is -1); `None`
    /// when absent, not a number, or outside the 64-bit signed range.
    fn get_int(&self, name: &str) -> Option<i64> {
        self.core.get_i64(name)
    }

    /// A numeric claim as a float; `None` when absent or not a number.
    fn get_float(&self, name: &str) -> Option<f64> {
        self.core.get_f64(name)
    }

    /// A boolean claim; `None` when absent or not a boolean.
    fn get_bool(&self, name: &str) -> Option<bool> {
        self.core.get_bool(name)
    }

    /// The issuer.
    #[getter]
    fn iss(&self) -> Option<&str> {
        self.core.iss()
    }

    /// The subject: `auth0|…` for a user, `{client_id}@clients` for an application.
    #[getter]
    fn sub(&self) -> Option<&str> {
        self.core.sub()
    }

    /// The audiences as a list, whether the token has a string or an array.
    #[getter]
    fn aud(&self) -> Vec<&str> {
        self.core.aud()
    }

    /// Whether `aud` (a string or an array) contains `audience`.
    fn has_audience(&self, audience: &str) -> bool {
        self.core.has_audience(audience)
    }

    /// The authorized party: the client the token was issued to.
    #[getter]
    fn azp(&self) -> Option<&str> {
        self.core.azp()
    }

    /// The granted scopes, space-separated.
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.core.scope()
    }

    /// The granted scopes, as a list.
    #[getter]
    fn scopes(&self) -> Vec<&str> {
        self.core.scopes()
    }

    /// Whether every scope of `scope` (space-separated: one scope or several) was granted.
    fn has_scope(&self, scope: &str) -> bool {
        self.core.has_scope(scope)
    }

    #[getter]
    fn org_id(&self) -> Option<&str> {
        self.core.org_id()
    }

    #[getter]
    fn org_name(&self) -> Option<&str> {
        self.core.org_name()
    }

    /// The `act` chain of an exchanged token: the current actor's `sub` first, then each
    /// earlier one's; empty without `act`.
    fn actor_chain(&self) -> Vec<&str> {
        self.core.actor_chain()
    }

    #[getter]
    fn nonce(&self) -> Option<&str> {
        self.core.nonce()
    }

    /// Expiry, in seconds since the epoch (a far date: the core's latest time,
    /// 9999-12-31T23:59:59Z).
    #[getter]
    fn exp(&self) -> Option<u64> {
        self.core.exp()
    }

    /// Issued at, in seconds since the epoch.
    #[getter]
    fn iat(&self) -> Option<u64> {
        self.core.iat()
    }

    #[getter]
    fn nbf(&self) -> Option<u64> {
        self.core.nbf()
    }

    /// When the user authenticated (ID tokens), in seconds since the epoch.
    #[getter]
    fn auth_time(&self) -> Option<u64> {
        self.core.auth_time()
    }

    /// `exp` as a timezone-aware UTC `datetime`.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.core
            .exp()
            .map(|e| utc_datetime(py, e as f64))
            .transpose()
    }

    /// Pickled as its claims, read back by the constructor.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyDict>,))> {
        Ok((slf.get_type().into_any(), (slf.get().to_dict(slf.py())?,)))
    }

    /// The core's text: `iss`, `sub`, `aud`, `exp` and the number of claims (claims are
    /// personal data).
    fn __repr__(&self) -> String {
        format!("{:?}", self.core)
    }
}

fn object<'py>(
    py: Python<'py>,
    m: &serde_json::Map<String, Value>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, x) in m {
        d.set_item(PyString::new(py, k), value(py, x)?)?;
    }
    Ok(d)
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
        Value::Object(m) => object(py, m)?.into_any(),
    })
}
