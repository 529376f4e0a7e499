//! Shared test setup: a fresh local issuer per test, and clients for its fixture.
#![allow(dead_code)]

use std::time::Duration;

use tokenkeeper::{CachePolicy, ClientConfig, Credentials, HttpOptions, TokenClient, TokenRequest};
#[allow(unused_imports)]
pub use tokenkeeper_issuer::{Api, Fault, Issuer, API, SHORT_API};

pub async fn issuer() -> Issuer {
    Issuer::start().await.expect("local issuer starts")
}

pub fn config(i: &Issuer) -> ClientConfig {
    let f = &i.fixture;
    ClientConfig::new(
        &f.url,
        &f.client_id,
        Credentials::client_secret(&f.client_secret),
    )
    .http_options(fast_retries())
}

/// Retries with short waits, so tests that exercise them stay quick.
pub fn fast_retries() -> HttpOptions {
    HttpOptions::default()
        .max_attempts(3)
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(100))
}

pub fn client(i: &Issuer) -> TokenClient {
    TokenClient::new(config(i)).expect("valid config")
}

pub fn client_with(i: &Issuer, cache: CachePolicy) -> TokenClient {
    TokenClient::new(config(i).cache_policy(cache)).expect("valid config")
}

pub fn no_retry(i: &Issuer) -> TokenClient {
    TokenClient::new(config(i).http_options(HttpOptions::default().no_retries()))
        .expect("valid config")
}

pub fn short_timeout(i: &Issuer, ms: u64) -> TokenClient {
    let http = HttpOptions::default()
        .request_timeout(Duration::from_millis(ms))
        .no_retries();
    TokenClient::new(config(i).http_options(http)).unwrap()
}

pub fn api() -> TokenRequest {
    TokenRequest::new(API)
}

/// An API with the given lifetime, registered on the issuer, and a request for it.
pub fn lived(i: &Issuer, secs: u64) -> TokenRequest {
    let audience = format!("https://lived-{secs}.example.com");
    i.add_api(Api {
        audience: audience.clone(),
        scopes: vec!["read:things".into()],
        lifetime: secs,
    });
    TokenRequest::new(audience)
}

/// Claims of a JWT, unverified (the issuer's own tokens; verification is tested elsewhere).
pub fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("JWT");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&raw).expect("JSON claims")
}
