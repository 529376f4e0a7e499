//! The soak (issue 12 item 13): 64 threads get 2-second tokens for SECONDS (default 60) from
//! the local issuer while 10 % of its token responses are faulted at random (seeded: 5xx, 429,
//! dropped connections, delays). Every token served is checked (its claims decoded: the right
//! audience, not expired at the moment it was served), and the process's RSS and open file
//! descriptors are sampled every 5 s. Exit status 0 when no wrong or expired token was served
//! and both stayed flat (the last third's maximum within a small band of the first third's).
//!
//! `scripts/soak.sh [SECONDS]` (release build); `cargo run --release -p tokenkeeper --example
//! soak -- SECONDS [SEED]`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tokenkeeper::{ClientConfig, Credentials, TokenClient, TokenRequest};
use tokenkeeper_issuer::{Api, Issuer, RandomFaults};

const THREADS: usize = 64;
const AUDIENCES: usize = 4;
const FAULT_RATE: f64 = 0.10;
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Tally {
    served: AtomicU64,
    wrong_audience: AtomicU64,
    expired: AtomicU64,
    /// Served a whole second or more after `exp`: beyond the issuer's rounding of `iat`.
    expired_by_a_second: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(12);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let issuer = rt.block_on(Issuer::start()).expect("local issuer");
    let f = issuer.fixture.clone();
    let audiences: Vec<String> = (0..AUDIENCES)
        .map(|n| format!("https://soak-{n}.example.com"))
        .collect();
    for a in &audiences {
        issuer.add_api(Api {
            audience: a.clone(),
            scopes: vec![],
            lifetime: 2,
        });
    }
    issuer.random_faults(RandomFaults {
        rate: FAULT_RATE,
        seed,
        endpoint: "token".into(),
    });
    let client = TokenClient::new(ClientConfig::new(
        &f.url,
        &f.client_id,
        Credentials::client_secret(&f.client_secret),
    ))
    .expect("client");
    println!(
        "soak: {THREADS} threads, {AUDIENCES} audiences of 2 s tokens, {secs} s, {:.0} % of token responses faulted (seed {seed})",
        FAULT_RATE * 100.0
    );

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..THREADS)
        .map(|n| {
            let (client, tally, stop) = (client.clone(), tally.clone(), stop.clone());
            let audiences = audiences.clone();
            std::thread::spawn(move || {
                let reqs: Vec<TokenRequest> = audiences.iter().map(TokenRequest::new).collect();
                let mut k = n;
                while !stop.load(Relaxed) {
                    let req = &reqs[k % reqs.len()];
                    k += 1;
                    match client.get_token_blocking(req) {
                        Ok(t) => check(&tally, req.audience_str(), t.access_token()),
                        Err(e) => *tally.errors.lock().unwrap().entry(e.kind()).or_default() += 1,
                    }
                    // A realistic caller does some work between calls; also spares the CPU.
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        })
        .collect();

    let t0 = Instant::now();
    let mut samples: Vec<(u64, u64)> = vec![];
    while t0.elapsed() < Duration::from_secs(secs) {
        let left = Duration::from_secs(secs).saturating_sub(t0.elapsed());
        std::thread::sleep(SAMPLE_EVERY.min(left));
        let (rss, fds) = (rss_kib(), open_fds());
        samples.push((rss, fds));
        println!(
            "t={:>3}s rss={:>7.1} MiB fds={:>4} served={:>9} minted={:>5} errors={:>4}",
            t0.elapsed().as_secs(),
            rss as f64 / 1024.0,
            fds,
            tally.served.load(Relaxed),
            client.stats().tokens_minted,
            tally.errors.lock().unwrap().values().sum::<u64>(),
        );
    }
    stop.store(true, Relaxed);
    for w in workers {
        w.join().expect("worker");
    }

    let stats = client.stats();
    let requests = issuer.count("token");
    let (wrong, expired) = (
        tally.wrong_audience.load(Relaxed),
        tally.expired.load(Relaxed),
    );
    println!(
        "served {} tokens: {wrong} for a wrong audience, {expired} expired when served ({} by a second or more)",
        tally.served.load(Relaxed),
        tally.expired_by_a_second.load(Relaxed)
    );
    println!(
        "issuer: {requests} token requests (about {:.0} faulted); client: {} minted, {} refreshes, {} failed fetches; caller errors by kind: {:?}",
        requests as f64 * FAULT_RATE,
        stats.tokens_minted,
        stats.refreshes,
        stats.errors,
        tally.errors.lock().unwrap()
    );
    let rss_flat = flat(samples.iter().map(|s| s.0), |first| first / 10 + 2048);
    let fds_flat = flat(samples.iter().map(|s| s.1), |_| 8);
    println!(
        "verdict: RSS {}, fds {}, tokens {}",
        word(rss_flat, "flat", "growing"),
        word(fds_flat, "flat", "growing"),
        word(wrong == 0 && expired == 0, "all valid", "BAD"),
    );
    let ok = rss_flat && fds_flat && wrong == 0 && expired == 0;
    drop(issuer);
    std::process::exit(if ok { 0 } else { 1 });
}

/// The token's claims (the issuer's own JWT, not verified here): right `aud`, `exp` not passed.
fn check(tally: &Tally, audience: &str, jwt: &str) {
    tally.served.fetch_add(1, Relaxed);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let claims: Option<serde_json::Value> = jwt
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|raw| serde_json::from_slice(&raw).ok());
    let Some(claims) = claims else {
        tally.wrong_audience.fetch_add(1, Relaxed);
        return;
    };
    if claims["aud"] != audience {
        tally.wrong_audience.fetch_add(1, Relaxed);
    }
    let exp = claims["exp"].as_f64().unwrap_or(0.0);
    if now >= exp {
        tally.expired.fetch_add(1, Relaxed);
    }
    if now >= exp + 1.0 {
        tally.expired_by_a_second.fetch_add(1, Relaxed);
    }
}

/// Flat: the last third's maximum is within `band(first third's maximum)` of it.
fn flat(values: impl Iterator<Item = u64>, band: impl Fn(u64) -> u64) -> bool {
    let v: Vec<u64> = values.collect();
    let third = (v.len() / 3).max(1);
    let first = v.iter().take(third).copied().max().unwrap_or(0);
    let last = v.iter().rev().take(third).copied().max().unwrap_or(0);
    last <= first + band(first)
}

fn word<'a>(ok: bool, yes: &'a str, no: &'a str) -> &'a str {
    if ok {
        yes
    } else {
        no
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}
