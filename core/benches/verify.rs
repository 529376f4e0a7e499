//! `cargo bench -p tokenkeeper --bench verify`
//!
//! Verification throughput with the JWKS cached (the steady state of an API server), in
//! tokens per second:
//! - `verify/RS256 1 thread`, `verify/RS256 8 threads`: an access token from the local
//!   issuer's token endpoint (Auth0's default algorithm), `verify_blocking` (signature and
//!   every claim check).
//! - `verify/ES256 1 thread`, `verify/ES256 8 threads`: the same claims signed with P-256.
//! - `reject/tampered payload`: a token whose signature does not verify (the cost of a forgery).

use std::sync::Arc;

mod common;

use common::on_threads;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokenkeeper::{
    ClientConfig, Credentials, TokenClient, TokenRequest, TokenVerifier, VerifierConfig,
};
use tokenkeeper_issuer::{Algorithm, Issuer, API};

fn threads(c: &mut Criterion, name: &str, v: &TokenVerifier, token: &str) {
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("{name} 1 thread"), |b| {
        b.iter(|| v.verify_blocking(token).unwrap())
    });
    g.throughput(Throughput::Elements(8));
    g.bench_function(format!("{name} 8 threads"), |b| {
        b.iter_custom(|iters| {
            let (v, token) = (v.clone(), token.to_string());
            on_threads(
                iters,
                Arc::new(move || drop(std::hint::black_box(v.verify_blocking(&token).unwrap()))),
            )
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = rt.block_on(Issuer::start()).unwrap();
    let f = &issuer.fixture;
    let client = TokenClient::new(ClientConfig::new(
        &f.url,
        &f.client_id,
        Credentials::client_secret(&f.client_secret),
    ))
    .unwrap();
    let rs256 = client
        .get_token_blocking(&TokenRequest::new(API).scope("read:things"))
        .unwrap()
        .access_token()
        .to_string();
    let claims = serde_json::json!({
        "iss": f.issuer, "sub": "auth0|bench", "aud": [API, format!("{}userinfo", f.issuer)],
        "iat": 1_700_000_000u64, "exp": 4_000_000_000u64, "azp": f.client_id,
        "scope": "openid read:things",
    });
    issuer.add_signing_key(Algorithm::ES256, true);
    let es256 = issuer.sign(&claims);

    let v = TokenVerifier::new(VerifierConfig::new(&f.url, API)).unwrap();
    v.verify_blocking(&rs256).unwrap();
    v.verify_blocking(&es256).unwrap();
    threads(c, "RS256", &v, &rs256);
    threads(c, "ES256", &v, &es256);

    let mut parts: Vec<String> = rs256.split('.').map(str::to_string).collect();
    parts[1] = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut payload: serde_json::Value =
            serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
        payload["sub"] = "auth0|admin".into();
        b64.encode(payload.to_string())
    };
    let forged = parts.join(".");
    let mut g = c.benchmark_group("reject");
    g.throughput(Throughput::Elements(1));
    g.bench_function("tampered payload", |b| {
        b.iter(|| v.verify_blocking(&forged).unwrap_err())
    });
    g.finish();
    drop(issuer);
}

criterion_group!(verify, benches);
criterion_main!(verify);
