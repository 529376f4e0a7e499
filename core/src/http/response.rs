//! Every answer of the authorization server as a typed error, and when to try again.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::error::Error;
use crate::text::truncate;

/// An error, plus how long the server asked us to wait before trying again.
pub(crate) struct Failure {
    pub error: Error,
    pub retry_after: Option<Duration>,
    /// Trying again would fail the same way (the server's certificate was rejected).
    pub permanent: bool,
}

impl Failure {
    pub fn now(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
            permanent: false,
        }
    }

    /// A failure of reqwest: a timeout, a rejected certificate or another network error.
    pub fn from_reqwest(e: &reqwest::Error) -> Self {
        if let Some(tls) = super::tls::tls_failure(e) {
            return Self {
                error: Error::Network(tls.message),
                retry_after: None,
                permanent: tls.certificate,
            };
        }
        Self::now(from_reqwest(e))
    }
}

#[derive(Deserialize)]
struct OAuthBody {
    error: String,
    error_description: Option<String>,
}

/// Parses an OAuth error body (`{"error": …, "error_description": …}`), if that is what it is.
fn oauth_body(body: &[u8]) -> Option<(String, Option<String>)> {
    if !crate::text::is_json_object(body) {
        return None;
    }
    let b: OAuthBody = serde_json::from_slice(body).ok()?;
    // Server text goes into messages: keep it printable and bounded.
    let clean = |s: &str| truncate(&s.replace(|c: char| c.is_control(), " "), 300);
    (!b.error.is_empty()).then(|| (clean(&b.error), b.error_description.as_deref().map(clean)))
}

/// The failure an error status stands for. A server's wait is capped at `cap`
/// (`retry_after_cap`): the cap is what is waited for, remembered and reported.
pub(crate) fn error_for(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    cap: Duration,
) -> Failure {
    let code = status.as_u16();
    let parsed = oauth_body(body);
    let retry_after = |h| retry_after(h, SystemTime::now()).map(|d| d.min(cap));
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after = retry_after(headers);
        return Failure {
            error: Error::RateLimited {
                retry_after,
                description: parsed.and_then(|(_, d)| d),
            },
            retry_after,
            permanent: false,
        };
    }
    let error = match parsed {
        Some((error, description)) => Error::OAuth {
            error,
            description,
            status: code,
        },
        None if status.is_redirection() => Error::invalid(
            Some(code),
            "the server answered with a redirect, which is not followed",
        ),
        None => Error::invalid(Some(code), "error status without an OAuth error body"),
    };
    // A 503 may say when to come back, too.
    let retry_after = status
        .is_server_error()
        .then(|| retry_after(headers))
        .flatten();
    Failure {
        error,
        retry_after,
        permanent: false,
    }
}

/// `Retry-After` (seconds or an HTTP date), else Auth0's `X-RateLimit-Reset` (Unix seconds).
/// Saturating: a number too large for a `u64`, or a reset past the end of `SystemTime`, is the
/// longest wait there is (the caller caps it), never a panic nor "no wait".
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(v) = text(RETRY_AFTER.as_str()) {
        if let Some(secs) = saturating_secs(v) {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = httpdate::parse_http_date(v) {
            return Some(at.duration_since(now).unwrap_or_default());
        }
    }
    let reset = saturating_secs(text("x-ratelimit-reset")?)?;
    // A reset past what a SystemTime holds is the longest wait, not a panic (found by fuzzing).
    let Some(at) = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(reset)) else {
        return Some(Duration::MAX);
    };
    Some(at.duration_since(now).unwrap_or_default())
}

/// Whole seconds: ASCII digits (after an optional `+`, as `u64::from_str` takes), saturating
/// at `u64::MAX`; anything else is no number.
fn saturating_secs(v: &str) -> Option<u64> {
    let digits = v.strip_prefix('+').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

pub(crate) fn too_large(status: StatusCode, limit: usize) -> Error {
    Error::invalid(
        Some(status.as_u16()),
        format!("response body larger than {limit} bytes"),
    )
}

pub(crate) fn from_reqwest(e: &reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout(chain(e))
    } else {
        Error::Network(chain(e))
    }
}

/// The error and its causes on one line (reqwest's own text says only "error sending request").
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
