//! `tokenkeeper demo`: the main job against a local issuer: a token fetched, served again from
//! the cache, verified with `TokenVerifier` against the issuer's JWKS, single flight across
//! threads, the counters. The issuer is the one embedded in the binary (feature `demo`) or,
//! from the Python wheel, `tokenkeeper.testing.LocalIssuer` (the tokenkeeper-testing wheel).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use tokenkeeper::{ClientConfig, Credentials, Error, TokenClient, TokenVerifier, VerifierConfig};

use crate::Failure;

/// What the demo needs of a running local issuer.
pub trait DemoIssuer {
    /// Where it runs, for the first line (`embedded in this binary`…).
    fn place(&self) -> &str;
    /// `http://127.0.0.1:PORT`.
    fn url(&self) -> String;
    /// `{url}/`: the `iss` of its tokens.
    fn issuer(&self) -> String;
    fn client_id(&self) -> String;
    fn client_secret(&self) -> String;
    /// The API the demo asks a token for.
    fn audience(&self) -> String;
    /// Requests served so far at `endpoint` (`token`).
    fn count(&self, endpoint: &str) -> u64;
}

/// Runs the demo against `issuer`; exit status 0 when every step did what it should.
pub fn demo_with(issuer: &dyn DemoIssuer) -> Result<u8, Failure> {
    let ok = steps(issuer)?;
    println!("{}", if ok { "demo: ok" } else { "demo: FAILED" });
    Ok(if ok { 0 } else { 1 })
}

#[cfg(feature = "demo")]
pub fn embedded() -> Result<u8, Failure> {
    use tokenkeeper_issuer::Issuer;

    struct Embedded(Issuer);
    impl DemoIssuer for Embedded {
        fn place(&self) -> &str {
            "embedded in this binary"
        }
        fn url(&self) -> String {
            self.0.fixture.url.clone()
        }
        fn issuer(&self) -> String {
            self.0.fixture.issuer.clone()
        }
        fn client_id(&self) -> String {
            self.0.fixture.client_id.clone()
        }
        fn client_secret(&self) -> String {
            self.0.fixture.client_secret.clone()
        }
        fn audience(&self) -> String {
            self.0.fixture.apis[0].audience.clone()
        }
        fn count(&self, endpoint: &str) -> u64 {
            self.0.count(endpoint)
        }
    }

    let issuer = tokenkeeper::runtime::block_on(async {
        Issuer::start().await.map_err(|e| {
            Error::Network(format!("cannot start the local issuer on 127.0.0.1:0: {e}"))
        })
    })?;
    demo_with(&Embedded(issuer))
}

fn steps(issuer: &dyn DemoIssuer) -> Result<bool, Failure> {
    let (url, iss, client_id) = (issuer.url(), issuer.issuer(), issuer.client_id());
    println!("local issuer ({}) at {url}", issuer.place());
    let config = ClientConfig::new(
        url.as_str(),
        client_id.as_str(),
        Credentials::client_secret(issuer.client_secret()),
    );
    let client = TokenClient::new(config)?;
    println!("client: {client:?}");
    let (audience, scope) = (issuer.audience(), "read:things write:things");
    let audience = audience.as_str();
    println!("request: audience={audience:?} scope={scope:?}");

    let req = client.request(Some(audience), Some(scope), None)?;
    let (first, cold) = timed(|| client.get_token_blocking(&req));
    let (second, warm) = timed(|| client.get_token_blocking(&req));
    let (first, second) = (first?, second?);
    let after_two = issuer.count("token");
    let cache_hit = second.ptr_eq(&first) && after_two == 1;
    println!("first call:  {}, from the token endpoint", took(cold));
    println!(
        "second call: {}, {}",
        took(warm),
        if cache_hit {
            "a cache hit: the same token, no request"
        } else {
            "NOT a cache hit"
        }
    );
    println!("token: {first:?}");
    let claims = payload(first.access_token());
    println!("claims:");
    println!("{}", sorted_pretty(&claims));
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let mut asked: Vec<&str> = scope.split_whitespace().collect();
    let mut got: Vec<&str> = text("scope").unwrap_or("").split_whitespace().collect();
    asked.sort();
    got.sort();
    let sub = format!("{client_id}@clients");
    let checks = [
        ("iss is the issuer", text("iss") == Some(iss.as_str())),
        ("aud is the audience", text("aud") == Some(audience)),
        ("scope as asked", asked == got),
        ("sub is the client", text("sub") == Some(sub.as_str())),
    ];
    let shown: Vec<String> = checks
        .iter()
        .map(|(k, v)| format!("{k}: {}", if *v { "yes" } else { "NO" }))
        .collect();
    println!("checks: {}", shown.join(", "));

    // What the API does with the token: verify it (JWKS from the issuer, signature, iss,
    // aud, exp), many times over with one JWKS fetch, and reject a tampered copy.
    let verifier = TokenVerifier::new(VerifierConfig::new(url.as_str(), audience))?;
    let (verified, cold_verify) = timed(|| verifier.verify_blocking(first.access_token()));
    let verified = verified?;
    let n_verify = 1000u32;
    let t0 = Instant::now();
    for _ in 0..n_verify {
        verifier.verify_blocking(first.access_token())?;
    }
    let warm_verify = t0.elapsed() / n_verify;
    let exp = verified.exp();
    let when = verified
        .expires_at()
        .map_or_else(|| "?".to_string(), crate::fetch::iso8601);
    println!(
        "verified with TokenVerifier (JWKS {}):",
        verifier.jwks_url()
    );
    println!("  iss: {}", verified.iss().unwrap_or("None"));
    println!("  aud: {}", verified.aud().join(", "));
    println!(
        "  sub: {}   azp: {}",
        verified.sub().unwrap_or("None"),
        verified.azp().unwrap_or("None")
    );
    println!(
        "  exp: {} ({when})",
        exp.map_or_else(|| "None".to_string(), |e| e.to_string())
    );
    println!(
        "  first verification {} (JWKS fetched), then {} each ({n_verify} more)",
        took(cold_verify),
        took(warm_verify)
    );
    let mut forged = claims.clone();
    forged.insert(
        "scope".into(),
        "read:things write:things delete:things".into(),
    );
    let parts: Vec<&str> = first.access_token().split('.').collect();
    let p2 = URL_SAFE_NO_PAD.encode(Value::Object(forged).to_string());
    let tampered_rejected =
        match verifier.verify_blocking(&format!("{}.{p2}.{}", parts[0], parts[2])) {
            Err(Error::InvalidToken { check, .. }) => check.as_str(),
            Err(e) => return Err(e.into()),
            Ok(_) => "",
        };
    println!(
        "a tampered copy (scope widened): {}",
        if tampered_rejected.is_empty() {
            "ACCEPTED".to_string()
        } else {
            format!("rejected: {tampered_rejected}")
        }
    );
    let vstats = verifier.stats();
    println!(
        "verifier: {} verified, {} rejected, JWKS fetches: {}",
        vstats.verified, vstats.rejected, vstats.jwks_fetches
    );
    let verify_ok = verified.iss() == Some(iss.as_str())
        && verified.aud() == [audience]
        && verified.sub() == Some(sub.as_str())
        && tampered_rejected == "signature"
        && vstats.jwks_fetches == 1;

    let n_threads = 32;
    let barrier = Arc::new(Barrier::new(n_threads));
    let req = client.request(Some(audience), Some("read:things"), None)?;
    let workers: Vec<_> = (0..n_threads)
        .map(|_| {
            let (client, req, barrier) = (client.clone(), req.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client.get_token_blocking(&req)
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n_threads);
    for w in workers {
        let token = w
            .join()
            .map_err(|_| Error::Network("a demo thread panicked".into()))??;
        results.push(token);
    }
    let stampede = issuer.count("token") - after_two;
    let one_flight = stampede == 1 && results.iter().all(|t| t.ptr_eq(&results[0]));
    println!("{n_threads} threads at once on another scope: {stampede} request(s) reached the token endpoint");
    println!("token endpoint requests in all: {}", issuer.count("token"));
    let s = client.stats();
    println!("counters: {s:?}");
    Ok(cache_hit && one_flight && checks.iter().all(|(_, v)| *v) && verify_ok)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t0 = Instant::now();
    (f(), t0.elapsed())
}

fn took(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

/// The JWT's claims, unverified (what the demo shows before the verifier checks them).
fn payload(jwt: &str) -> Map<String, Value> {
    let part = jwt.split('.').nth(1).unwrap_or("");
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The claims as indented JSON, keys sorted.
fn sorted_pretty(claims: &Map<String, Value>) -> String {
    let sorted: std::collections::BTreeMap<&String, &Value> = claims.iter().collect();
    serde_json::to_string_pretty(&sorted).unwrap_or_default()
}
