//! Conversions shared by the classes: keyword arguments to the core's knobs, scopes, seconds,
//! credentials, `repr`s.

use std::borrow::Cow;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use tokenkeeper::{CachePolicy, Error, HttpOptions, CACHE_KNOBS, HTTP_KNOBS, HTTP_TEXT_KNOBS};

use crate::errors::to_py_err;

/// The numeric cache knobs taken as keywords (`enabled` is the `cache=` flag).
pub(crate) fn cache_knobs() -> impl Iterator<Item = &'static str> {
    CACHE_KNOBS.into_iter().filter(|n| *n != "enabled")
}

/// Sets the knobs given as keyword arguments (`None` keeps the default) through the core's
/// setters by name: every name of `HTTP_KNOBS` on `http` (and of `HTTP_TEXT_KNOBS`, a str or
/// `os.PathLike`), and with `cache` every numeric name of `CACHE_KNOBS`. `timeout` is the old name of `request_timeout`. Another name is a
/// `TypeError`, as for any unexpected keyword.
pub(crate) fn set_knobs(
    py: Python<'_>,
    options: Option<&Bound<'_, PyDict>>,
    http: &mut HttpOptions,
    mut cache: Option<&mut CachePolicy>,
) -> PyResult<()> {
    let Some(options) = options else {
        return Ok(());
    };
    if options.contains("timeout")? && options.contains("request_timeout")? {
        return Err(PyTypeError::new_err(
            "give request_timeout or timeout (its old name), not both",
        ));
    }
    for (key, value) in options {
        let key = key.cast_into::<PyString>()?;
        let name = match key.to_str()? {
            "timeout" => "request_timeout",
            n => n,
        };
        let http_knob = HTTP_KNOBS.iter().any(|k| k.name == name);
        let text_knob = HTTP_TEXT_KNOBS.iter().any(|k| k.name == name);
        let cache_knob = cache.is_some() && cache_knobs().any(|n| n == name);
        if !(http_knob || text_knob || cache_knob) {
            return Err(PyTypeError::new_err(format!(
                "unexpected keyword argument {:?}",
                key.to_str()?
            )));
        }
        if value.is_none() {
            continue;
        }
        if text_knob {
            let path: std::path::PathBuf = value
                .extract()
                .map_err(|_| PyTypeError::new_err(format!("{name} must be a str or a path")))?;
            let text = path
                .to_str()
                .ok_or_else(|| PyTypeError::new_err(format!("{name} must be valid UTF-8")))?;
            http.set_text(name, text).map_err(|e| to_py_err(py, e))?;
            continue;
        }
        let number: f64 = value
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{name} must be a number")))?;
        let set = match cache.as_deref_mut() {
            Some(c) if cache_knob => c.set(name, number),
            _ => http.set(name, number),
        };
        set.map_err(|e| to_py_err(py, e))?;
    }
    Ok(())
}

/// A duration given in seconds (leeways, lifetimes, `min_ttl`).
pub(crate) fn seconds(name: &str, secs: f64) -> Result<Duration, Error> {
    if !(secs.is_finite() && secs >= 0.0) {
        return Err(Error::Config(format!(
            "{name} must be a non-negative number of seconds, not {secs}"
        )));
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|_| Error::Config(format!("{name} is out of range: {secs}")))
}

/// `scope` as a string: a str as is, a sequence of str joined with spaces.
pub(crate) fn scope_text<'a>(
    scope: Option<&'a Bound<'_, PyAny>>,
) -> PyResult<Option<Cow<'a, str>>> {
    let Some(scope) = scope else {
        return Ok(None);
    };
    if let Ok(s) = scope.cast::<PyString>() {
        return Ok(Some(Cow::Borrowed(s.to_str()?)));
    }
    let parts: Vec<String> = scope.extract().map_err(|_| {
        PyTypeError::new_err("scope must be a str (space-separated) or a sequence of str")
    })?;
    Ok(Some(Cow::Owned(parts.join(" "))))
}

/// [`scope_text`], owned (to move into a future).
pub(crate) fn scope_owned(scope: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    Ok(scope_text(scope)?.map(Cow::into_owned))
}
