//! One HTTP exchange with the authorization server: timeouts, size limit, no redirects,
//! retries with backoff and jitter.
//!
//! The process keeps one `reqwest::Client` per distinct connection policy (connect and
//! request timeout, extra CAs, proxy), shared by every transport with that policy, and builds
//! them afresh in a forked child (pooled connections are sockets shared with the parent).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rand::Rng;
use url::Url;

use super::options::{Effective, HttpOptions};
use super::proxy::ProxyEnv;
use super::response::{chain, error_for, too_large, Failure};
use crate::error::{Error, Result};

/// A successful (2xx) answer. Its body (tokens, often) is wiped when dropped.
pub(crate) struct Reply {
    pub sent_at: SystemTime,
    /// The same moment on the suspend-aware monotonic clock, for cache deadlines.
    pub sent: crate::clock::Stamp,
    pub body: Vec<u8>,
}

pub(crate) struct Transport {
    /// The process's client for this policy, with the fork generation it was taken in.
    client: ArcSwap<(u64, reqwest::Client)>,
    /// Kept (not recomputed) so a forked child rebuilds the same client without rereading
    /// `ca_file` or the environment.
    policy: ClientPolicy,
    options: Effective,
}

/// Called once per retry with the attempt number, the wait and the cause (for counters, logs).
pub(crate) type OnRetry<'a> = &'a (dyn Fn(u32, Duration, &Error) + Send + Sync);

/// What a `reqwest::Client` is built from; everything else is applied per request.
#[derive(Clone, PartialEq, Eq, Hash)]
struct ClientPolicy {
    connect_timeout: Duration,
    request_timeout: Duration,
    /// The certificates of `ca_file` (by content: the same CAs share a client).
    extra_roots: Arc<[rustls::pki_types::CertificateDer<'static>]>,
    proxy: ProxyEnv,
}

type Pool = (u64, HashMap<ClientPolicy, reqwest::Client>);
static POOL: LazyLock<Mutex<Pool>> = LazyLock::new(Mutex::default);

/// The process's client for `policy` (one per policy, rebuilt after a fork).
fn shared_client(policy: &ClientPolicy) -> Result<(u64, reqwest::Client)> {
    let gen = crate::runtime::generation();
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    if pool.0 != gen {
        // The parent's clients hold its sockets and its runtime's tasks: never reuse them.
        std::mem::forget(std::mem::take(&mut pool.1));
        pool.0 = gen;
    }
    if let Some(c) = pool.1.get(policy) {
        return Ok((gen, c.clone()));
    }
    let client = build_client(policy)?;
    pool.1.insert(policy.clone(), client.clone());
    Ok((gen, client))
}

/// How many distinct clients the process holds (for tests of the sharing).
#[doc(hidden)]
pub fn shared_clients() -> usize {
    POOL.lock().unwrap_or_else(|p| p.into_inner()).1.len()
}

/// The form fields and Basic credentials of one request. The values are wiped on drop
/// (they may hold a secret or an assertion).
pub(crate) struct AuthParts {
    pub fields: Vec<(&'static str, String)>,
    pub basic: Option<(String, String)>,
}

impl Drop for AuthParts {
    fn drop(&mut self) {
        for (_, v) in self.fields.iter_mut() {
            zeroize::Zeroize::zeroize(v);
        }
        if let Some((_, p)) = self.basic.as_mut() {
            zeroize::Zeroize::zeroize(p);
        }
    }
}

/// Makes the client authentication of one attempt (a new assertion each time).
pub(crate) type Authenticate<'a> = &'a (dyn Fn() -> Result<AuthParts> + Send + Sync);

enum Method<'a> {
    Form {
        form: &'a [(&'a str, &'a str)],
        auth: Authenticate<'a>,
    },
    Get {
        bearer: Option<&'a str>,
    },
}

/// The send time, moved back to the start of its second on both clocks. Auth0 (like most
/// issuers) writes `iat` as whole seconds and `exp = iat + expires_in`, so a token's real expiry
/// can be up to a second earlier than `sent + expires_in`; counting from the whole second never
/// serves a token past its `exp`, whatever the margin.
fn whole_second(
    sent_at: SystemTime,
    sent: crate::clock::Stamp,
) -> (SystemTime, crate::clock::Stamp) {
    let frac = sent_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| Duration::from_nanos(u64::from(d.subsec_nanos())))
        .unwrap_or_default();
    (sent_at - frac, sent.checked_sub(frac).unwrap_or(sent))
}

impl Drop for Reply {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.body);
    }
}

impl Transport {
    pub fn new(options: &HttpOptions) -> Result<Self> {
        let options = options.effective()?;
        let policy = ClientPolicy::new(&options)?;
        let client = shared_client(&policy)?;
        Ok(Self {
            client: ArcSwap::from_pointee(client),
            policy,
            options,
        })
    }

    fn client(&self) -> Result<reqwest::Client> {
        let gen = crate::runtime::generation();
        let cur = self.client.load();
        if cur.0 == gen {
            return Ok(cur.1.clone());
        }
        let fresh = shared_client(&self.policy)?;
        let client = fresh.1.clone();
        self.client.store(Arc::new(fresh));
        Ok(client)
    }

    /// POSTs a form with the client authentication `auth` makes for each attempt, retrying
    /// transient failures.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        auth: Authenticate<'_>,
        on_retry: OnRetry<'_>,
    ) -> Result<Reply> {
        self.exchange(url, Method::Form { form, auth }, on_retry)
            .await
    }

    /// GETs a JSON resource (the JWKS, `/userinfo`); `bearer` is sent as
    /// `Authorization: Bearer …`.
    pub(crate) async fn get(
        &self,
        url: &Url,
        bearer: Option<&str>,
        on_retry: OnRetry<'_>,
    ) -> Result<Reply> {
        self.exchange(url, Method::Get { bearer }, on_retry).await
    }

    async fn exchange(
        &self,
        url: &Url,
        method: Method<'_>,
        on_retry: OnRetry<'_>,
    ) -> Result<Reply> {
        let client = self.client()?;
        let mut attempt = 1;
        loop {
            let req = match &method {
                Method::Form { form, auth } => {
                    // Wiped when dropped, once the request holds its own copy.
                    let parts = auth()?;
                    let mut all = form.to_vec();
                    all.extend(parts.fields.iter().map(|(k, v)| (*k, v.as_str())));
                    let mut req = client.post(url.clone()).form(&all);
                    if let Some((user, pass)) = &parts.basic {
                        // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
                        req = req.basic_auth(form_encode(user), Some(form_encode(pass)));
                    }
                    req
                }
                Method::Get { bearer } => {
                    let mut req = client
                        .get(url.clone())
                        .header(reqwest::header::ACCEPT, "application/json");
                    if let Some(token) = bearer {
                        req = req.bearer_auth(token);
                    }
                    req
                }
            };
            match self.once(req).await {
                Ok(reply) => return Ok(reply),
                Err(Failure {
                    error,
                    retry_after,
                    permanent,
                }) => {
                    let o = &self.options;
                    let retryable = error.is_transient()
                        && !permanent
                        && attempt < o.max_attempts
                        && retry_after.is_none_or(|d| d <= o.max_retry_after);
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
            .options
            .initial_backoff
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(self.options.max_backoff);
        let half = exp / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }

    async fn once(&self, req: reqwest::RequestBuilder) -> Result<Reply, Failure> {
        let limit = self.options.max_response_bytes;
        let (sent_at, sent) = whole_second(SystemTime::now(), crate::clock::Stamp::now());
        let mut resp = req.send().await.map_err(|e| Failure::from_reqwest(&e))?;
        let status = resp.status();
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(Failure::now(too_large(status, limit)));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| Failure::from_reqwest(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(Failure::now(too_large(status, limit)));
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
        Err(error_for(
            status,
            resp.headers(),
            &body,
            self.options.retry_after_cap,
        ))
    }
}

impl ClientPolicy {
    /// The policy of `o` (reads `ca_file` and the proxy variables: errors are the caller's
    /// `Error::Config` at build time, not at the first request).
    fn new(o: &Effective) -> Result<Self> {
        let extra_roots = match &o.ca_file {
            Some(path) => super::tls::load_ca_file(path)?.into(),
            None => Arc::from([]),
        };
        Ok(Self {
            connect_timeout: o.connect_timeout,
            request_timeout: o.request_timeout,
            extra_roots,
            proxy: ProxyEnv::from_env(),
        })
    }
}

/// What `localhost` connects to (the port is the URL's).
const LOCALHOST: [std::net::SocketAddr; 2] = [
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0),
    std::net::SocketAddr::new(std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), 0),
];

fn build_client(policy: &ClientPolicy) -> Result<reqwest::Client> {
    // ring, not aws-lc: pure Rust + asm, quick to build for every binding. Handed over as a
    // finished rustls config, so no process-wide default provider is installed.
    let tls = super::tls::client_config(&policy.extra_roots)?;
    let builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        // `localhost` is accepted as loopback for plain http (url.rs): it must connect to
        // loopback only, never to whatever DNS answers where /etc/hosts lacks it (N10).
        .resolve_to_addrs("localhost", &LOCALHOST)
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.request_timeout)
        .user_agent(concat!("tokenkeeper/", env!("CARGO_PKG_VERSION")));
    policy
        .proxy
        .apply(builder)?
        .build()
        .map_err(|e| Error::config(format!("HTTP client: {}", chain(&e))))
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
