//! `tokenkeeper demo`: the Python CLI's demo, step for step and line for line, against the
//! local issuer embedded in this binary: a token fetched, served again from the cache,
//! verified with `TokenVerifier` against the issuer's JWKS, single flight across threads, the
//! counters.

use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use tokenkeeper::{
    ClientConfig, Credentials, Error, Token, TokenClient, TokenVerifier, VerifierConfig,
};
use tokenkeeper_issuer::Issuer;

use crate::pytext::{isoformat, repr, repr_opt};
use crate::Failure;

pub fn run() -> Result<ExitCode, Failure> {
    let issuer = tokenkeeper::runtime::block_on(async {
        Issuer::start().await.map_err(|e| {
            Error::Network(format!("cannot start the local issuer on 127.0.0.1:0: {e}"))
        })
    })?;
    let ok = steps(&issuer)?;
    drop(issuer);
    println!("{}", if ok { "demo: ok" } else { "demo: FAILED" });
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn steps(issuer: &Issuer) -> Result<bool, Failure> {
    let fx = &issuer.fixture;
    println!("local issuer (embedded in this binary) at {}", fx.url);
    let config = ClientConfig::new(
        fx.url.as_str(),
        fx.client_id.as_str(),
        Credentials::client_secret(fx.client_secret.as_str()),
    );
    let client = TokenClient::new(config)?;
    println!(
        "client: TokenClient(issuer={}, client_id={}, auth_method={})",
        repr(client.issuer()),
        repr(client.client_id()),
        repr(client.auth_method().as_str())
    );
    let (audience, scope) = (fx.apis[0].audience.as_str(), "read:things write:things");
    println!("request: audience={} scope={}", repr(audience), repr(scope));

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
    println!("token: {}", token_repr(&first));
    let claims = payload(first.access_token());
    println!("claims:");
    println!("{}", sorted_pretty(&claims));
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let mut asked: Vec<&str> = scope.split_whitespace().collect();
    let mut got: Vec<&str> = text("scope").unwrap_or("").split_whitespace().collect();
    asked.sort();
    got.sort();
    let sub = format!("{}@clients", fx.client_id);
    let checks = [
        ("iss is the issuer", text("iss") == Some(fx.issuer.as_str())),
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
    let verifier = TokenVerifier::new(VerifierConfig::new(fx.url.as_str(), audience))?;
    let (verified, cold_verify) = timed(|| verifier.verify_blocking(first.access_token()));
    let verified = verified?;
    let n_verify = 1000u32;
    let t0 = Instant::now();
    for _ in 0..n_verify {
        verifier.verify_blocking(first.access_token())?;
    }
    let warm_verify = t0.elapsed() / n_verify;
    let exp = verified.exp();
    let when = exp.map_or_else(|| "?".to_string(), |e| isoformat(e as f64));
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
    let verify_ok = verified.iss() == Some(fx.issuer.as_str())
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
    println!(
        "counters: {{'tokens_minted': {}, 'cache_hits': {}, 'refreshes': {}, 'errors': {}, 'shared_hits': {}, 'shared_errors': {}}}",
        s.tokens_minted, s.cache_hits, s.refreshes, s.errors, s.shared_hits, s.shared_errors
    );
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

/// The Python `Token` repr (the token itself redacted).
fn token_repr(t: &Token) -> String {
    format!(
        "Token(token_type={}, expires_in={}, expires_at='{}', scope={}, access_token=[redacted])",
        repr(t.token_type()),
        t.expires_in(),
        isoformat(t.expires_at_unix()),
        repr_opt(t.scope())
    )
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

/// `json.dumps(claims, indent=2, sort_keys=True)`.
fn sorted_pretty(claims: &Map<String, Value>) -> String {
    let sorted: std::collections::BTreeMap<&String, &Value> = claims.iter().collect();
    serde_json::to_string_pretty(&sorted).unwrap_or_default()
}
