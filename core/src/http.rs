//! One HTTP exchange with the authorization server: timeouts, size limit, no redirects,
//! retries with backoff and jitter, and the mapping of every answer to a typed error.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use crate::config::{HttpPolicy, RetryPolicy};
use crate::error::{Error, Result};
use crate::token::truncate;

/// A successful (2xx) answer.
pub(crate) struct Reply {
    pub sent_at: SystemTime,
    /// The same moment on the monotonic clock, for cache deadlines.
    pub sent: Instant,
    pub body: Vec<u8>,
}

pub(crate) struct Transport {
    /// Rebuilt in a forked child: pooled connections are sockets shared with the parent.
    client: ArcSwap<(u64, reqwest::Client)>,
    http: HttpPolicy,
    retry: RetryPolicy,
}

/// Called once per retry with the attempt number, the wait and the cause (for counters, logs).
pub(crate) type OnRetry<'a> = &'a (dyn Fn(u32, Duration, &Error) + Send + Sync);

impl Transport {
    pub fn new(http: &HttpPolicy, retry: &RetryPolicy) -> Result<Self> {
        let client = build_client(http)?;
        Ok(Self {
            client: ArcSwap::from_pointee((crate::runtime::generation(), client)),
            http: http.clone(),
            retry: retry.clone(),
        })
    }

    fn client(&self) -> Result<reqwest::Client> {
        let gen = crate::runtime::generation();
        let cur = self.client.load();
        if cur.0 == gen {
            return Ok(cur.1.clone());
        }
        let fresh = build_client(&self.http)?;
        self.client.store(Arc::new((gen, fresh.clone())));
        Ok(fresh)
    }

    /// POSTs a form, retrying transient failures. `basic` is HTTP Basic credentials.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
        on_retry: OnRetry<'_>,
    ) -> Result<Reply> {
        let client = self.client()?;
        let mut attempt = 1;
        loop {
            let mut req = client.post(url.clone()).form(form);
            if let Some((user, pass)) = basic {
                // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
                req = req.basic_auth(form_encode(user), Some(form_encode(pass)));
            }
            match self.once(req).await {
                Ok(reply) => return Ok(reply),
                Err(Failure { error, retry_after }) => {
                    let retryable = error.is_transient()
                        && attempt < self.retry.max_attempts
                        && retry_after.is_none_or(|d| d <= self.retry.max_retry_after);
                    if !retryable {
                        return Err(error);
                    }
                    let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
                    on_retry(attempt, wait, &error);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    /// GETs a JSON resource (the JWKS, `/userinfo`) with the same timeouts, size limit,
    /// no-redirect policy and retries as [`Self::post_form`]. `bearer` is sent as
    /// `Authorization: Bearer …`.
    pub(crate) async fn get(
        &self,
        url: &Url,
        bearer: Option<&str>,
        on_retry: OnRetry<'_>,
    ) -> Result<Reply> {
        let client = self.client()?;
        let mut attempt = 1;
        loop {
            let mut req = client
                .get(url.clone())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(token) = bearer {
                req = req.bearer_auth(token);
            }
            match self.once(req).await {
                Ok(reply) => return Ok(reply),
                Err(Failure { error, retry_after }) => {
                    let retryable = error.is_transient()
                        && attempt < self.retry.max_attempts
                        && retry_after.is_none_or(|d| d <= self.retry.max_retry_after);
                    if !retryable {
                        return Err(error);
                    }
                    let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
                    on_retry(attempt, wait, &error);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Exponential, with "equal jitter": between half and all of the doubled delay.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry
            .initial_backoff
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(self.retry.max_backoff);
        let half = exp / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }

    async fn once(&self, req: reqwest::RequestBuilder) -> Result<Reply, Failure> {
        let (sent_at, sent) = (SystemTime::now(), Instant::now());
        let mut resp = req
            .send()
            .await
            .map_err(|e| Failure::now(from_reqwest(&e)))?;
        let status = resp.status();
        if resp
            .content_length()
            .is_some_and(|n| n > self.http.max_response_bytes as u64)
        {
            return Err(Failure::now(too_large(
                status,
                self.http.max_response_bytes,
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| Failure::now(from_reqwest(&e)))?
        {
            if body.len() + chunk.len() > self.http.max_response_bytes {
                return Err(Failure::now(too_large(
                    status,
                    self.http.max_response_bytes,
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(Reply {
                sent_at,
                sent,
                body,
            });
        }
        Err(error_for(status, resp.headers(), &body))
    }
}

fn build_client(http: &HttpPolicy) -> Result<reqwest::Client> {
    // ring, not aws-lc: pure Rust + asm, quick to build for every binding. A host that
    // installed its own provider first keeps it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(http.connect_timeout)
        .timeout(http.request_timeout)
        .user_agent(concat!("tokenkeeper/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::config(format!("HTTP client: {}", chain(&e))))
}

/// An error, plus how long the server asked us to wait before trying again.
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

impl Failure {
    fn now(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

#[derive(Deserialize)]
struct OAuthBody {
    error: String,
    error_description: Option<String>,
}

/// Parses an OAuth error body (`{"error": …, "error_description": …}`), if that is what it is.
pub(crate) fn oauth_body(body: &[u8]) -> Option<(String, Option<String>)> {
    let b: OAuthBody = serde_json::from_slice(body).ok()?;
    // Server text goes into messages: keep it printable and bounded.
    let clean = |s: &str| truncate(&s.replace(|c: char| c.is_control(), " "), 300);
    (!b.error.is_empty()).then(|| (clean(&b.error), b.error_description.as_deref().map(clean)))
}

fn error_for(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Failure {
    let code = status.as_u16();
    let parsed = oauth_body(body);
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after = retry_after(headers, SystemTime::now());
        return Failure {
            error: Error::RateLimited {
                retry_after,
                description: parsed.and_then(|(_, d)| d),
            },
            retry_after,
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
        .then(|| retry_after(headers, SystemTime::now()))
        .flatten();
    Failure { error, retry_after }
}

/// `Retry-After` (seconds or an HTTP date), else Auth0's `X-RateLimit-Reset` (Unix seconds).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(v) = text(RETRY_AFTER.as_str()) {
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = httpdate::parse_http_date(v) {
            return Some(at.duration_since(now).unwrap_or_default());
        }
    }
    let reset: u64 = text("x-ratelimit-reset")?.parse().ok()?;
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(reset);
    Some(at.duration_since(now).unwrap_or_default())
}

fn too_large(status: StatusCode, limit: usize) -> Error {
    Error::invalid(
        Some(status.as_u16()),
        format!("response body larger than {limit} bytes"),
    )
}

fn from_reqwest(e: &reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout(chain(e))
    } else {
        Error::Network(chain(e))
    }
}

/// The error and its causes on one line (reqwest's own text says only "error sending request").
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
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

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
