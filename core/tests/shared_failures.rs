//! Review 2026-12-06 N8: cross-process single flight lasts the holder's whole fetch (its
//! retries included, and past the Redis lock's lease, which the holder renews), and an outage
//! is shared like a 429: from the second failure in a row, every process holds back.
#![cfg(unix)]
mod common;
mod shared;

use std::time::{Duration, Instant};

use common::*;
use shared::*;
use tokenkeeper::{Error, HttpOptions};

fn redis_url() -> String {
    std::env::var("TOKENKEEPER_TEST_REDIS_URL").expect("source scripts/redis.sh; start_redis")
}

/// New processes (clients with no process cache) meet an issuer that answers 500: the first
/// two ask, the third is answered from the fleet's memory at once; the hold-down ends, and a
/// success ends the streak.
async fn an_outage_is_shared(level: &str) {
    let i = issuer().await;
    // A 2-s token: 1.5 s after it was published, no process adopts it any more.
    let req = lived(&i, 2);
    i.inject(Fault::status(500, "server_error", "down").times(1000));
    let process = || level_client(&i, level, HttpOptions::default().no_retries());
    for n in 1..=2 {
        match process().get_token(&req).await {
            Err(Error::OAuth { status: 500, .. }) => {}
            other => panic!("process {n}: {other:?}"),
        }
        assert_eq!(i.count("token"), n, "process {n} asks");
    }
    let started = Instant::now();
    match process().get_token(&req).await {
        Err(Error::OAuth {
            status: 500,
            error,
            description: Some(d),
        }) => {
            assert_eq!(error, "server_error");
            assert!(d.contains("2 times in a row"), "{d}");
        }
        other => panic!("third process: {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(i.count("token"), 2, "the third process sends nothing");

    // The hold-down after two failures is 1 s; then one process asks again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    i.reset();
    process().get_token(&req).await.expect("the issuer is back");
    assert_eq!(i.count("token"), 1);

    // After a success, one failure is a first one again: the next process asks.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    i.inject(Fault::status(503, "temporarily_unavailable", "blip"));
    assert!(process().get_token(&req).await.is_err());
    process()
        .get_token(&req)
        .await
        .expect("a single failure holds nobody back");
    assert_eq!(i.count("token"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_is_shared_through_the_file_level() {
    let dir = TempDir::new("outage");
    an_outage_is_shared(&format!("file:{}", dir.0.display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_is_shared_through_redis() {
    an_outage_is_shared(&redis_url()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_client_is_not_held_down_for_the_fleet() {
    let i = issuer().await;
    let dir = TempDir::new("refused");
    let level = format!("file:{}", dir.0.display());
    i.inject(Fault::status(401, "access_denied", "Unauthorized").times(3));
    for n in 1..=3 {
        let c = level_client(&i, &level, HttpOptions::default().no_retries());
        match c.get_token(&api()).await {
            Err(Error::OAuth { status: 401, .. }) => {}
            other => panic!("process {n}: {other:?}"),
        }
    }
    assert_eq!(i.count("token"), 3, "not an outage: each caller asks");
}

/// The holder's first two attempts time out (1 s each) and its third succeeds, past one
/// request timeout: a waiter still waits for it instead of sending its own requests.
#[tokio::test(flavor = "multi_thread")]
async fn a_waiter_waits_for_the_holders_retries() {
    let i = issuer().await;
    let dir = TempDir::new("slow-holder");
    let level = format!("file:{}", dir.0.display());
    i.inject(Fault::delay(1500).times(2));
    let http = fast_retries().request_timeout(Duration::from_secs(1));
    let holder = level_client(&i, &level, http.clone());
    let waiter = level_client(&i, &level, http);
    let first = tokio::spawn(async move { holder.get_token(&api()).await });
    wait_for_request(&i);
    let second = waiter.get_token(&api()).await.expect("the holder's token");
    let first = first.await.unwrap().expect("third attempt succeeds");
    assert_eq!(first.access_token(), second.access_token());
    assert_eq!(
        i.count("token"),
        3,
        "the holder's three attempts, none from the waiter"
    );
}

/// One fetch (two attempts that time out after 3 s, a third that succeeds) outlasts the
/// Redis lock's 5 s lease and one request timeout: the holder renews the lock, and another
/// host waits instead of fetching too.
#[tokio::test(flavor = "multi_thread")]
async fn a_redis_lock_lasts_as_long_as_its_holders_fetch() {
    let i = issuer().await;
    i.inject(Fault::delay(3500).times(2));
    let http = fast_retries().request_timeout(Duration::from_secs(3));
    let holder = level_client(&i, &redis_url(), http.clone());
    let other_host = level_client(&i, &redis_url(), http);
    let first = tokio::spawn(async move { holder.get_token(&api()).await });
    wait_for_request(&i);
    let second = other_host
        .get_token(&api())
        .await
        .expect("the holder's token");
    let first = first.await.unwrap().expect("the third attempt");
    assert_eq!(first.access_token(), second.access_token());
    assert_eq!(
        i.count("token"),
        3,
        "the holder's three attempts, none from the other host"
    );
}
