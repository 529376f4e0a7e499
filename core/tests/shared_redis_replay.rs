//! Review 2026-12-06 N2: whoever can write to the Redis, without the credential, can put a
//! captured sealed value back with a `PX` of their choosing. A value lives no longer than the
//! end sealed with it (on Redis's clock), and no remembered 429 longer than `retry_after_cap`:
//! a replayed token is never served after its expiry, a replayed 429 never blocks the key.
#![cfg(unix)]
mod common;
mod shared;

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// The tests of this file one at a time: each finds its own entries as the keys that appeared.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn shared_client(i: &Issuer) -> TokenClient {
    // A 429 is returned at once (not waited for), as any Retry-After over 1 s.
    level_client(
        i,
        &url(),
        fast_retries().max_retry_after(Duration::from_secs(1)),
    )
}

fn keys() -> HashSet<String> {
    redis::cmd("KEYS")
        .arg("tokenkeeper:*")
        .query::<Vec<String>>(&mut conn())
        .unwrap()
        .into_iter()
        .filter(|k| !k.ends_with(":lock"))
        .collect()
}

/// The values `step` published (keys that appeared), captured as they were.
async fn captured<F: std::future::Future>(step: F) -> Vec<(String, Vec<u8>)> {
    let before = keys();
    step.await;
    let mut c = conn();
    keys()
        .difference(&before)
        .map(|k| (k.clone(), redis::cmd("GET").arg(k).query(&mut c).unwrap()))
        .collect()
}

fn put_back(values: &[(String, Vec<u8>)], px_ms: u64) {
    let mut c = conn();
    for (k, v) in values {
        redis::cmd("SET")
            .arg(k)
            .arg(v)
            .arg("PX")
            .arg(px_ms)
            .query::<()>(&mut c)
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_put_back_after_its_end_does_not_block_the_key() {
    let _one = ONE_AT_A_TIME.lock().await;
    let i = issuer().await;
    let req = lived(&i, 60);
    i.inject(Fault::rate_limited(2));
    let c = shared_client(&i);
    let values = captured(async {
        let e = c.get_token(&req).await;
        assert!(matches!(e, Err(Error::RateLimited { .. })), "{e:?}");
    })
    .await;
    assert_eq!(values.len(), 1, "one remembered 429");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Put back for a minute: under the cap, so only its sealed end can refuse it.
    put_back(&values, 60_000);
    let t = shared_client(&i).get_token(&req).await.unwrap();
    assert!(t.access_token().starts_with("ey"));
    assert_eq!(i.count("token"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_put_back_with_a_year_long_px_does_not_block_the_key() {
    let _one = ONE_AT_A_TIME.lock().await;
    let i = issuer().await;
    let req = lived(&i, 61);
    i.inject(Fault::rate_limited(2));
    let c = shared_client(&i);
    let values = captured(async {
        assert!(c.get_token(&req).await.is_err());
    })
    .await;
    assert_eq!(values.len(), 1, "one remembered 429");
    // At once, while its sealed end is still ahead: it blocks at most until then.
    put_back(&values, 365 * 86_400 * 1000);
    match shared_client(&i).get_token(&req).await {
        Err(Error::RateLimited {
            retry_after: Some(w),
            ..
        }) => assert!(w <= Duration::from_secs(2), "{w:?}"),
        Ok(_) => {} // its 2 s were already over
        Err(e) => panic!("{e:?}"),
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(shared_client(&i).get_token(&req).await.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_put_back_after_its_expiry_is_not_served() {
    let _one = ONE_AT_A_TIME.lock().await;
    let i = issuer().await;
    let req = lived(&i, 3);
    let c = shared_client(&i);
    let mut first = None;
    let values = captured(async {
        first = Some(c.get_token(&req).await.unwrap());
    })
    .await;
    let first = first.unwrap();
    assert_eq!(values.len(), 1, "one token entry");
    tokio::time::sleep(Duration::from_secs(4)).await; // it has expired
    put_back(&values, 2500);
    let served = shared_client(&i).get_token(&req).await.unwrap();
    assert_ne!(served.access_token(), first.access_token());
    let exp = claims(served.access_token())["exp"].as_u64().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(exp >= now, "an expired token was served");
    assert_eq!(i.count("token"), 2);
}
