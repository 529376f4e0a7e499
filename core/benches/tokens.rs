//! `cargo bench -p tokenkeeper --bench tokens`
//!
//! - `cached/1 thread`, `cached/8 threads`: a `get_token_blocking` served from the cache,
//!   beside `cached/baseline RwLock<HashMap>` on 1 and 8 threads: a read of the same key from a
//!   bare `RwLock<HashMap<String, Arc<str>>>` with an `Arc` clone, the floor issue 13 measures
//!   against.
//! - `cold/new client + first token`: a new `TokenClient` (cache disabled) and one fetch from
//!   the local issuer on loopback, beside `cold/bare reqwest (client reused)` and
//!   `cold/bare reqwest (new client)`: the same POST made with reqwest alone and parsed with
//!   serde_json, so the overhead of our stack shows as a ratio.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, RwLock};
use std::time::Duration;

mod common;

use common::on_threads;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokenkeeper::{CachePolicy, ClientConfig, Credentials, TokenClient, TokenRequest};
use tokenkeeper_issuer::{Issuer, API};

fn config(i: &Issuer) -> ClientConfig {
    let f = &i.fixture;
    ClientConfig::new(
        &f.url,
        &f.client_id,
        Credentials::client_secret(&f.client_secret),
    )
}

fn cached(c: &mut Criterion, issuer: &Issuer) {
    let client = TokenClient::new(config(issuer)).unwrap();
    let req = TokenRequest::new(API).scope("read:things");
    let token = client.get_token_blocking(&req).unwrap();
    let map: Arc<RwLock<HashMap<String, Arc<str>>>> = Arc::new(RwLock::new(HashMap::from([(
        API.to_string(),
        Arc::from(token.authorization_header()),
    )])));
    let mut g = c.benchmark_group("cached");
    g.throughput(Throughput::Elements(1));
    g.bench_function("1 thread", |b| {
        b.iter(|| client.get_token_blocking(&req).unwrap())
    });
    g.bench_function("baseline RwLock<HashMap> 1 thread", |b| {
        b.iter(|| map.read().unwrap().get(black_box(API)).cloned().unwrap())
    });
    g.throughput(Throughput::Elements(8));
    g.bench_function("8 threads", |b| {
        b.iter_custom(|iters| {
            let (client, req) = (client.clone(), req.clone());
            on_threads(
                iters,
                Arc::new(move || drop(black_box(client.get_token_blocking(&req).unwrap()))),
            )
        })
    });
    g.bench_function("baseline RwLock<HashMap> 8 threads", |b| {
        b.iter_custom(|iters| {
            let map = map.clone();
            on_threads(
                iters,
                Arc::new(move || drop(black_box(map.read().unwrap().get(black_box(API)).cloned()))),
            )
        })
    });
    g.finish();
    let s = client.stats();
    // The sharded counters must not lose a hit under 8 threads.
    assert_eq!(s.tokens_minted, 1, "{s:?}");
}

fn cold(c: &mut Criterion, issuer: &Issuer, rt: &tokio::runtime::Runtime) {
    let f = &issuer.fixture;
    // A new client each time, caching nothing (a client with the same key would share the
    // process cache and hit): its construction and its first token.
    let new_client = || {
        TokenClient::new(config(issuer).cache_policy(CachePolicy {
            enabled: false,
            ..CachePolicy::default()
        }))
        .unwrap()
    };
    let req = TokenRequest::new(API).scope("read:things");
    let bare = reqwest::Client::new();
    let url = format!("{}/oauth/token", f.url);
    let form = [
        ("grant_type", "client_credentials"),
        ("audience", API),
        ("scope", "read:things"),
        ("client_id", f.client_id.as_str()),
        ("client_secret", f.client_secret.as_str()),
    ];
    let post = |client: &reqwest::Client| {
        rt.block_on(async {
            let r = client.post(&url).form(&form).send().await.unwrap();
            let v: serde_json::Value = r.json().await.unwrap();
            assert!(v["access_token"].is_string());
            v
        })
    };
    let mut g = c.benchmark_group("cold");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    g.bench_function("new client + first token", |b| {
        b.iter(|| new_client().get_token_blocking(&req).unwrap())
    });
    g.bench_function("bare reqwest (client reused)", |b| b.iter(|| post(&bare)));
    g.bench_function("bare reqwest (new client)", |b| {
        b.iter(|| post(&reqwest::Client::new()))
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let issuer = rt.block_on(Issuer::start()).unwrap();
    // Installed by the first TokenClient; the bare client needs it too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    cached(c, &issuer);
    cold(c, &issuer, &rt);
}

criterion_group!(tokens, benches);
criterion_main!(tokens);
