//! `cargo bench -p tokenkeeper --bench tokens`
//!
//! - `cached/1 thread`, `cached/8 threads`: a `get_token_blocking` served from the cache.
//! - `cold/tokenkeeper`: a full fetch (cache disabled) against the local issuer on loopback,
//!   beside `cold/bare reqwest`: the same POST made with reqwest alone and parsed with serde_json,
//!   so the overhead of our stack shows as a ratio.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

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
    client.get_token_blocking(&req).unwrap();
    let mut g = c.benchmark_group("cached");
    g.throughput(Throughput::Elements(1));
    g.bench_function("1 thread", |b| {
        b.iter(|| client.get_token_blocking(&req).unwrap())
    });
    g.throughput(Throughput::Elements(8));
    g.bench_function("8 threads", |b| {
        b.iter_custom(|iters| {
            let barrier = Arc::new(Barrier::new(9));
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (client, req, barrier) = (client.clone(), req.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        for _ in 0..iters {
                            std::hint::black_box(client.get_token_blocking(&req).unwrap());
                        }
                    })
                })
                .collect();
            barrier.wait();
            let t0 = Instant::now();
            for h in handles {
                h.join().unwrap();
            }
            t0.elapsed()
        })
    });
    g.finish();
}

fn cold(c: &mut Criterion, issuer: &Issuer, rt: &tokio::runtime::Runtime) {
    let f = &issuer.fixture;
    let client = TokenClient::new(config(issuer).cache_policy(CachePolicy {
        enabled: false,
        ..CachePolicy::default()
    }))
    .unwrap();
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
    let mut g = c.benchmark_group("cold");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    g.bench_function("tokenkeeper", |b| {
        b.iter(|| client.get_token_blocking(&req).unwrap())
    });
    g.bench_function("bare reqwest", |b| {
        b.iter(|| {
            rt.block_on(async {
                let r = bare.post(&url).form(&form).send().await.unwrap();
                let v: serde_json::Value = r.json().await.unwrap();
                assert!(v["access_token"].is_string());
                v
            })
        })
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
