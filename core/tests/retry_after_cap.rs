//! Review 2026-12-06 N3: every remembered `Retry-After` is capped (`retry_after_cap`, 1 h by
//! default) and its parsing saturates, so no answer can panic the fetch or stop a fleet for
//! years.
#![cfg(unix)]
mod common;
mod shared;

use std::time::Duration;

use common::*;
use shared::*;
use tokenkeeper::Error;

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_of_u64_max_is_held_down_for_the_cap() {
    let i = issuer().await;
    i.inject(Fault::rate_limited(u64::MAX).times(100));
    let c = client(&i);
    for n in 0..5 {
        match c.get_token(&api()).await {
            Err(Error::RateLimited {
                retry_after: Some(w),
                ..
            }) => assert!(w <= Duration::from_secs(3600), "call {n}: {w:?}"),
            other => panic!("call {n}: {other:?}"),
        }
    }
    assert_eq!(i.count("token"), 1, "held down after the first 429");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ten_year_retry_after_is_remembered_on_disk_for_at_most_the_cap() {
    let i = issuer().await;
    let dir = TempDir::new("retry-after-cap");
    i.inject(Fault::rate_limited(10 * 365 * 86_400));
    let level = format!("file:{}", dir.0.display());
    let mk = |cap: Option<Duration>| {
        // A 429 is returned at once (not waited for), as any Retry-After over 1 s.
        let mut http = fast_retries().max_retry_after(Duration::from_secs(1));
        if let Some(cap) = cap {
            http = http.retry_after_cap(cap);
        }
        level_client(&i, &level, http)
    };
    match mk(Some(Duration::from_secs(2))).get_token(&api()).await {
        Err(Error::RateLimited {
            retry_after: Some(w),
            ..
        }) => {
            assert_eq!(w, Duration::from_secs(2))
        }
        other => panic!("{other:?}"),
    }
    // Another process sees the capped 429, not ten years…
    match mk(None).get_token(&api()).await {
        Err(Error::RateLimited {
            retry_after: Some(w),
            ..
        }) => {
            assert!(w <= Duration::from_secs(2), "{w:?}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(i.count("token"), 1);
    // …and once the cap has passed, asks again.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    mk(None).get_token(&api()).await.unwrap();
    assert_eq!(i.count("token"), 2);
}

#[test]
fn the_cap_is_a_knob_by_name() {
    let mut o = tokenkeeper::HttpOptions::default();
    o.set("retry_after_cap", 60.0).unwrap();
    assert_eq!(o.retry_after_cap, Some(Duration::from_secs(60)));
    let k = tokenkeeper::HTTP_KNOBS
        .iter()
        .find(|k| k.name == "retry_after_cap")
        .unwrap();
    assert_eq!((k.unit, k.default), ("seconds", "3600"));
}
