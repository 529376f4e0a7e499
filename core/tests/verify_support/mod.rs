//! Shared setup of the validation and sign-in tests: the local issuer, verifiers for it,
//! tokens signed by its keys, and the test-mode `/authorize` round trip over real HTTP.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use tokenkeeper::{
    Error, HttpOptions, LoginTransaction, SignInClient, SignInConfig, TokenCheck, TokenVerifier,
    VerifierConfig,
};
#[allow(unused_imports)]
pub use tokenkeeper_issuer::{Algorithm, Fault, Issuer, API, BILLING_API, SHORT_API};

pub async fn issuer() -> Issuer {
    Issuer::start().await.expect("local issuer starts")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn fast_retries() -> HttpOptions {
    HttpOptions::default()
        .max_attempts(3)
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(100))
}

pub fn verifier_config(i: &Issuer, audience: &str) -> VerifierConfig {
    let mut c = VerifierConfig::new(&i.fixture.url, audience);
    c.http = fast_retries();
    c
}

pub fn verifier(i: &Issuer) -> TokenVerifier {
    TokenVerifier::new(verifier_config(i, API)).expect("valid verifier config")
}

/// Claims of a good access token for the main API.
pub fn good_claims(i: &Issuer) -> Value {
    let t = now();
    json!({
        "iss": i.fixture.issuer,
        "sub": "auth0|user-1",
        "aud": API,
        "iat": t,
        "exp": t + 3600,
        "azp": i.fixture.client_id,
        "scope": "read:things",
    })
}

/// `claims` with `changes` merged over it (a `null` removes the claim).
pub fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

pub fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

/// The check a rejection names; panics with the result otherwise.
#[track_caller]
pub fn check_of<T: std::fmt::Debug>(r: Result<T, Error>) -> TokenCheck {
    match r {
        Err(Error::InvalidToken { check, .. }) => check,
        other => panic!("expected an invalid token error, got {other:?}"),
    }
}

/// Decodes a JWT segment (header 0, payload 1) without verification.
pub fn segment(jwt: &str, n: usize) -> Value {
    let s = jwt.split('.').nth(n).expect("segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).expect("base64url")).expect("JSON")
}

// ---- sign-in ----

pub fn public_config(i: &Issuer) -> SignInConfig {
    let f = &i.fixture;
    let mut c = SignInConfig::new(&f.url, &f.public_client_id, &f.redirect_uri);
    c.http = fast_retries();
    c
}

pub fn public_client(i: &Issuer) -> SignInClient {
    SignInClient::new(public_config(i)).expect("valid sign-in config")
}

/// Plays the browser: GETs the `/authorize` URL without following the redirect and returns
/// the `Location` (the callback URL with `code` and `state`, or `error`).
pub async fn browse(tx: &LoginTransaction) -> String {
    let resp = bare_http(false)
        .get(&tx.url)
        .send()
        .await
        .expect("authorize answers");
    assert_eq!(resp.status().as_u16(), 302, "authorize redirects");
    resp.headers()["location"].to_str().unwrap().to_string()
}

/// A plain reqwest client (rustls with ring, as the core uses), following redirects or not.
pub fn bare_http(follow: bool) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let policy = if follow {
        reqwest::redirect::Policy::limited(3)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder().redirect(policy).build().unwrap()
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
