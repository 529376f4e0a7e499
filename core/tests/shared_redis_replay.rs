//! Review 2026-12-06 N2 (the 429 part): a sealed 429 put back into Redis with a `PX` of a year
//! does not block the key: no remembered 429 is honoured for longer than `retry_after_cap`.
#![cfg(unix)]
mod common;
mod shared;

use std::time::Duration;

use common::*;
use shared::*;
use tokenkeeper::{Error, TokenClient};

fn url() -> String {
    std::env::var("TOKENKEEPER_TEST_REDIS_URL").expect("source scripts/redis.sh; start_redis")
}

fn conn() -> redis::Connection {
    redis::Client::open(url())
        .unwrap()
        .get_connection()
        .unwrap()
}

fn shared_client(i: &Issuer) -> TokenClient {
    // A 429 is returned at once (not waited for), as any Retry-After over 1 s.
    level_client(
        i,
        &url(),
        fast_retries().max_retry_after(Duration::from_secs(1)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_put_back_with_a_year_long_px_does_not_block_the_key() {
    let i = issuer().await;
    i.inject(Fault::rate_limited(2));
    let c = shared_client(&i);
    assert!(matches!(
        c.get_token(&api()).await,
        Err(Error::RateLimited { .. })
    ));
    // The only 429 entry this client id wrote (tests on this Redis use other audiences or
    // other issuers: the names are digests, so find the one that appeared).
    let mut r = conn();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("tokenkeeper:*")
        .query(&mut r)
        .unwrap();
    let mut replayed = 0;
    for k in keys.iter().filter(|k| !k.ends_with(":lock")) {
        let pttl: i64 = redis::cmd("PTTL").arg(k).query(&mut r).unwrap();
        if (1..=2000).contains(&pttl) {
            let v: Vec<u8> = redis::cmd("GET").arg(k).query(&mut r).unwrap();
            let year_ms: u64 = 365 * 86_400 * 1000;
            redis::cmd("SET")
                .arg(k)
                .arg(v)
                .arg("PX")
                .arg(year_ms)
                .query::<()>(&mut r)
                .unwrap();
            replayed += 1;
        }
    }
    assert!(replayed >= 1, "no 429 entry found among {keys:?}");
    // A new process (default cap, 1 h) ignores a 429 that claims to last a year.
    let t = shared_client(&i).get_token(&api()).await.unwrap();
    assert!(t.access_token().starts_with("ey"));
    assert_eq!(i.count("token"), 2);
}
