//! The one set of HTTP and retry knobs, embedded the same way in every config
//! ([`crate::ClientConfig`], [`crate::VerifierConfig`], [`crate::SignInConfig`]).
//!
//! Every field is optional: `None` means the default in [`KNOBS`], on every surface. Bindings
//! that take knobs by name (Python keyword arguments, C) go through [`HttpOptions::set`] (numbers)
//! and [`HttpOptions::set_text`] (text: [`TEXT_KNOBS`]), so a new knob is added here once and
//! appears everywhere.

use std::time::Duration;

use crate::error::{Error, Result};

/// Timeouts, size limit and retries of the HTTP exchanges of one client, verifier or sign-in
/// client. Retries cover network errors, timeouts, 429 and 5xx; other 4xx are never retried.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tokenkeeper::{ClientConfig, Credentials, HttpOptions};
///
/// let http = HttpOptions::default()
///     .connect_timeout(Duration::from_secs(2))
///     .max_attempts(5);
/// // The same knobs by name, as the Python keywords and the C setters give them (seconds).
/// let mut by_name = HttpOptions::default();
/// by_name.set("connect_timeout", 2.0)?;
/// by_name.set("max_attempts", 5.0)?;
/// assert_eq!(http, by_name);
///
/// let config = ClientConfig::new("tenant.auth0.com", "client-id", Credentials::client_secret("…"))
///     .http_options(http);
/// assert_eq!(config.http().max_attempts, Some(5));
/// # Ok::<(), tokenkeeper::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HttpOptions {
    /// TCP + TLS connect timeout (default 5 s).
    pub connect_timeout: Option<Duration>,
    /// Whole request, from sending to the last byte of the body (default 15 s).
    pub request_timeout: Option<Duration>,
    /// Larger response bodies are rejected as invalid (default 65536; at least 256).
    pub max_response_bytes: Option<u64>,
    /// Total attempts, including the first (default 3; 1 = no retry; at most 10).
    pub max_attempts: Option<u32>,
    /// First backoff; doubled per retry, with jitter (default 200 ms).
    pub initial_backoff: Option<Duration>,
    /// Upper bound of one backoff (default 5 s).
    pub max_backoff: Option<Duration>,
    /// A `Retry-After` longer than this is not waited for: the error is returned at once
    /// (default 30 s).
    pub max_retry_after: Option<Duration>,
    /// The longest wait a `Retry-After` or `X-RateLimit-Reset` can impose: a longer one is
    /// remembered (in the process and the shared level) and reported as this (default 1 h).
    pub retry_after_cap: Option<Duration>,
    /// A PEM file of extra CA certificates trusted for HTTPS, in addition to the system's
    /// roots (default: none). Read and checked when the client, verifier or sign-in client is
    /// built; part of the connection policy (one HTTP client per distinct set of CAs).
    pub ca_file: Option<String>,
}

/// One knob: its name on every surface (Python keyword, C `tk_*_set_http` name, the field),
/// its unit when given as a number, and its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Knob {
    /// The knob's name, which is also the [`HttpOptions`] field's.
    pub name: &'static str,
    /// `"seconds"` or `"count"`; `"path"` for a text knob ([`TEXT_KNOBS`]).
    pub unit: &'static str,
    /// The default, as text in the knob's unit (`"5"`, `"0.2"`); empty when there is none.
    pub default: &'static str,
}

/// Every knob of [`HttpOptions`], in field order.
///
/// See the example on [`HttpOptions`].
pub const KNOBS: [Knob; 8] = [
    Knob {
        name: "connect_timeout",
        unit: "seconds",
        default: "5",
    },
    Knob {
        name: "request_timeout",
        unit: "seconds",
        default: "15",
    },
    Knob {
        name: "max_response_bytes",
        unit: "count",
        default: "65536",
    },
    Knob {
        name: "max_attempts",
        unit: "count",
        default: "3",
    },
    Knob {
        name: "initial_backoff",
        unit: "seconds",
        default: "0.2",
    },
    Knob {
        name: "max_backoff",
        unit: "seconds",
        default: "5",
    },
    Knob {
        name: "max_retry_after",
        unit: "seconds",
        default: "30",
    },
    Knob {
        name: "retry_after_cap",
        unit: "seconds",
        default: "3600",
    },
];

/// The knobs of [`HttpOptions`] given as text ([`HttpOptions::set_text`]); their default is
/// none.
pub const TEXT_KNOBS: [Knob; 1] = [Knob {
    name: "ca_file",
    unit: "path",
    default: "",
}];

/// The default of [`HttpOptions::retry_after_cap`].
pub(crate) const DEFAULT_RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// A number given for a knob by name: finite and not negative, checked once for every kind.
pub(crate) struct KnobValue<'a> {
    name: &'a str,
    value: f64,
}

impl<'a> KnobValue<'a> {
    pub fn new(name: &'a str, value: f64) -> Result<Self> {
        let v = Self { name, value };
        if !value.is_finite() || value < 0.0 {
            return Err(v.bad("must be a finite number, zero or more"));
        }
        Ok(v)
    }

    pub fn bad(&self, why: &str) -> Error {
        Error::config(format!("{}: {why} (got {})", self.name, self.value))
    }

    pub fn get(&self) -> f64 {
        self.value
    }

    pub fn secs(&self) -> Result<Duration> {
        Duration::try_from_secs_f64(self.value).map_err(|_| self.bad("is not a usable duration"))
    }

    pub fn count(&self) -> Result<u32> {
        if self.value.fract() != 0.0 || self.value > u32::MAX as f64 {
            return Err(self.bad("must be a whole number"));
        }
        Ok(self.value as u32)
    }
}

/// The values in force: [`HttpOptions`] with every default filled in, checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Effective {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub max_response_bytes: usize,
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub max_retry_after: Duration,
    pub retry_after_cap: Duration,
    pub ca_file: Option<String>,
}

impl Effective {
    /// The longest one request with its retries may take: every attempt's whole timeout, and
    /// the longest pause between two. Another process waits this long for a holder of the
    /// key's lock before fetching on its own (review N8).
    pub fn fetch_budget(&self) -> Duration {
        let attempts = self.max_attempts.max(1);
        let pause = self.max_backoff.max(self.max_retry_after);
        self.request_timeout
            .saturating_mul(attempts)
            .saturating_add(pause.saturating_mul(attempts - 1))
    }
}

impl HttpOptions {
    /// Sets the TCP + TLS connect timeout (default 5 s).
    ///
    /// See the example on [`HttpOptions`].
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }

    /// Sets the timeout of a whole request, from sending to the last byte of the body
    /// (default 15 s).
    ///
    /// See the example on [`HttpOptions`].
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = Some(d);
        self
    }

    /// Sets the largest response body accepted, in bytes (default 65536; at least 256).
    ///
    /// See the example on [`HttpOptions`].
    pub fn max_response_bytes(mut self, n: u64) -> Self {
        self.max_response_bytes = Some(n);
        self
    }

    /// Sets the total attempts, the first included (default 3; 1 = no retry; at most 10).
    ///
    /// See the example on [`HttpOptions`].
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// Sets the first backoff, doubled per retry, with jitter (default 200 ms).
    ///
    /// See the example on [`HttpOptions`].
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = Some(d);
        self
    }

    /// Sets the upper bound of one backoff (default 5 s).
    ///
    /// See the example on [`HttpOptions`].
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = Some(d);
        self
    }

    /// Sets the longest `Retry-After` waited for before a retry; with a longer one the error
    /// (for a 429, [`Error::RateLimited`]) is returned at once (default 30 s).
    ///
    /// See the example on [`HttpOptions`].
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = Some(d);
        self
    }

    /// Sets the longest wait a server's `Retry-After` or `X-RateLimit-Reset` can impose: a
    /// longer one is remembered and reported as this (default 1 h), so one hostile or broken
    /// answer cannot stop a fleet for years.
    ///
    /// See the example on [`HttpOptions`].
    pub fn retry_after_cap(mut self, d: Duration) -> Self {
        self.retry_after_cap = Some(d);
        self
    }

    /// Trusts the CA certificates of this PEM file for HTTPS, besides the system's roots.
    ///
    /// See the example on [`HttpOptions`].
    pub fn ca_file(mut self, path: impl Into<String>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// No retries (the code exchange and the refresh grant: a lost answer must not spend a
    /// single-use code or a rotating refresh token twice).
    ///
    /// See the example on [`HttpOptions`].
    pub fn no_retries(mut self) -> Self {
        self.max_attempts = Some(1);
        self
    }

    /// Sets a knob by its name in [`KNOBS`]: seconds for durations, a whole number for
    /// counts. Unknown names and values that are negative, not finite or not whole are
    /// [`Error::Config`].
    ///
    /// See the example on [`HttpOptions`].
    pub fn set(&mut self, name: &str, value: f64) -> Result<()> {
        let v = KnobValue::new(name, value)?;
        let secs = || v.secs();
        let count = || v.count();
        match name {
            "connect_timeout" => self.connect_timeout = Some(secs()?),
            "request_timeout" => self.request_timeout = Some(secs()?),
            "max_response_bytes" => self.max_response_bytes = Some(count()?.into()),
            "max_attempts" => self.max_attempts = Some(count()?),
            "initial_backoff" => self.initial_backoff = Some(secs()?),
            "max_backoff" => self.max_backoff = Some(secs()?),
            "max_retry_after" => self.max_retry_after = Some(secs()?),
            "retry_after_cap" => self.retry_after_cap = Some(secs()?),
            _ if TEXT_KNOBS.iter().any(|k| k.name == name) => {
                return Err(Error::config(format!("{name}: must be text, not a number")));
            }
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    /// Sets a text knob by its name in [`TEXT_KNOBS`] (`ca_file`: a path). An empty value,
    /// an unknown name or a number knob's name is [`Error::Config`].
    ///
    /// See the example on [`HttpOptions`].
    pub fn set_text(&mut self, name: &str, value: &str) -> Result<()> {
        match name {
            "ca_file" if value.is_empty() => {
                return Err(Error::config("ca_file: must be a file path, not empty"))
            }
            "ca_file" => self.ca_file = Some(value.to_string()),
            _ if KNOBS.iter().any(|k| k.name == name) => {
                return Err(Error::config(format!("{name}: must be a number, not text")));
            }
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    /// Every default filled in, every value checked.
    pub(crate) fn effective(&self) -> Result<Effective> {
        let e = Effective {
            connect_timeout: self.connect_timeout.unwrap_or(Duration::from_secs(5)),
            request_timeout: self.request_timeout.unwrap_or(Duration::from_secs(15)),
            max_response_bytes: self
                .max_response_bytes
                .map_or(64 * 1024, |n| usize::try_from(n).unwrap_or(usize::MAX)),
            max_attempts: self.max_attempts.unwrap_or(3),
            initial_backoff: self.initial_backoff.unwrap_or(Duration::from_millis(200)),
            max_backoff: self.max_backoff.unwrap_or(Duration::from_secs(5)),
            max_retry_after: self.max_retry_after.unwrap_or(Duration::from_secs(30)),
            retry_after_cap: self.retry_after_cap.unwrap_or(DEFAULT_RETRY_AFTER_CAP),
            ca_file: self.ca_file.clone(),
        };
        if e.request_timeout.is_zero() || e.connect_timeout.is_zero() {
            return Err(Error::config("timeouts must be greater than zero"));
        }
        if e.max_response_bytes < 256 {
            return Err(Error::config("max_response_bytes must be at least 256"));
        }
        if !(1..=10).contains(&e.max_attempts) {
            return Err(Error::config("max_attempts must be 1..=10"));
        }
        Ok(e)
    }
}

/// Whether `name` is a number knob of [`KNOBS`] (a config's `set` hands those to its `http`).
pub(crate) fn is_http_knob(name: &str) -> bool {
    KNOBS.iter().any(|k| k.name == name)
}

fn unknown(name: &str) -> Error {
    let names: Vec<&str> = KNOBS.iter().chain(&TEXT_KNOBS).map(|k| k.name).collect();
    Error::config(format!(
        "unknown HTTP option {name:?}: expected one of {}",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_is_settable_by_name_and_defaults_match_the_table() {
        let defaults = HttpOptions::default().effective().unwrap();
        let mut o = HttpOptions::default();
        for k in KNOBS {
            let d: f64 = k.default.parse().unwrap();
            o.set(k.name, d).unwrap();
        }
        assert_eq!(o.effective().unwrap(), defaults);
        assert!(o.set("nope", 1.0).is_err());
        assert!(o.set("max_attempts", 1.5).is_err());
        assert!(o.set("connect_timeout", -1.0).is_err());
        assert!(o.set("connect_timeout", f64::NAN).is_err());
    }

    #[test]
    fn text_knobs_are_settable_by_name_and_kinds_do_not_mix() {
        let mut o = HttpOptions::default();
        o.set_text("ca_file", "/some/ca.pem").unwrap();
        assert_eq!(o, HttpOptions::default().ca_file("/some/ca.pem"));
        for (bad, why) in [
            (o.set_text("ca_file", ""), "not empty"),
            (o.set_text("connect_timeout", "5"), "must be a number"),
            (o.set("ca_file", 1.0), "must be text"),
            (o.set_text("nope", "x"), "ca_file"),
        ] {
            let e = bad.unwrap_err();
            assert!(
                matches!(e, Error::Config(_)) && e.to_string().contains(why),
                "{e}"
            );
        }
    }
}
