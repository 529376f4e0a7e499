//! Static stability (issue 12, item 10): with the issuer down for the last part of a token's
//! life, callers keep the valid token with no error and no wait; after its usable end they get
//! a typed error at once, not a pile-up of timeouts; and the client recovers by itself.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::*;
use tokenkeeper::{CachePolicy, HttpOptions, TokenClient, TokenRequest};

const TIMEOUT: Duration = Duration::from_millis(400);

#[derive(Clone, Copy, Debug)]
enum Outage {
    /// Nothing listens on the issuer's port.
    Refused,
    /// Requests are accepted and never answered.
    BlackHoled,
    /// Every request gets a 503.
    Unavailable,
}

/// 5-second tokens: usable for 4 s (margin L/5), refreshed from 2 s on (no jitter), so the
/// outage covers the last half of their usable life.
fn outage_client(i: &Issuer) -> TokenClient {
    let cache = CachePolicy {
        refresh_ahead: 0.5,
        jitter: 0.0,
        ..CachePolicy::default()
    };
    let http = HttpOptions::default()
        .request_timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .max_attempts(2)
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(50));
    TokenClient::new(config(i).cache_policy(cache).http_options(http)).unwrap()
}

async fn begin(i: &mut Issuer, kind: Outage) {
    match kind {
        Outage::Refused => i.stop_listening().await,
        Outage::BlackHoled => i.inject(Fault::black_hole().times(1_000_000)),
        Outage::Unavailable => i.inject(
            Fault::status(503, "temporarily_unavailable", "down for maintenance").times(1_000_000),
        ),
    }
}

async fn end(i: &mut Issuer, kind: Outage) {
    i.reset();
    if let Outage::Refused = kind {
        i.resume().await.unwrap();
    }
}

fn expected_kind(kind: Outage) -> &'static str {
    match kind {
        Outage::Refused => "network",
        Outage::BlackHoled => "timeout",
        Outage::Unavailable => "oauth",
    }
}

async fn scenario(kind: Outage) {
    let mut i = issuer().await;
    let c = outage_client(&i);
    let req = TokenRequest::new(SHORT_API);
    let token = c.get_token(&req).await.unwrap();
    // Its usable end: expiry minus the margin (1 s, L/5). The expiry counts from the start of
    // the second the request was sent in (whole-second `exp`), so it is 4 to 5 s from now.
    let left = token
        .expires_at()
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    let usable_end = Instant::now() + left.saturating_sub(Duration::from_secs(1));
    begin(&mut i, kind).await;
    let sent_during = i.count("token");

    // Until (just before) the usable end: the valid token, at once, every time.
    let mut served = 0;
    let mut slowest = Duration::ZERO;
    while Instant::now() + Duration::from_millis(200) < usable_end {
        let t0 = Instant::now();
        let got = c.get_token(&req).await;
        slowest = slowest.max(t0.elapsed());
        match got {
            Ok(t) => assert!(t.ptr_eq(&token), "{kind:?}: another token was served"),
            Err(e) => panic!("{kind:?}: error while the token was valid: {e}"),
        }
        served += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(served > 100, "{kind:?}: only {served} calls");
    assert!(
        slowest < TIMEOUT / 2,
        "{kind:?}: a caller waited {slowest:?} for the failing refresh"
    );
    assert!(c.stats().refreshes >= 1, "{kind:?}: no refresh was tried");
    if !matches!(kind, Outage::Refused) {
        // One refresh at a time (2 attempts each), the next after a quarter of what is left:
        // a bounded number of requests, not one per call.
        let sent = i.count("token") - sent_during;
        assert!((1..=30).contains(&sent), "{kind:?}: {sent} requests");
    }

    // After the usable end: typed errors, quickly.
    tokio::time::sleep_until((usable_end + Duration::from_millis(50)).into()).await;
    let first = c.get_token(&req).await;
    assert_eq!(
        first.as_ref().map_err(|e| e.kind()).err(),
        Some(expected_kind(kind)),
        "{kind:?}: {first:?}"
    );
    let requests_before = i.count("token");
    let mut waited = 0;
    let t0 = Instant::now();
    for n in 0..100 {
        let t = Instant::now();
        match c.get_token(&req).await {
            Err(e) => assert_eq!(e.kind(), expected_kind(kind), "{kind:?} call {n}: {e}"),
            Ok(_) => panic!("{kind:?} call {n}: a token past its usable end"),
        }
        if t.elapsed() >= Duration::from_millis(50) {
            waited += 1;
        }
    }
    assert!(waited <= 1, "{kind:?}: {waited} of 100 calls waited");
    assert!(
        t0.elapsed() < 3 * TIMEOUT,
        "{kind:?}: 100 calls took {:?}",
        t0.elapsed()
    );
    if !matches!(kind, Outage::Refused) {
        // At most one probe (2 attempts) and the last attempt of a refresh still in flight.
        let sent = i.count("token") - requests_before;
        assert!(sent <= 3, "{kind:?}: 100 calls sent {sent} requests");
    }

    // The issuer returns: the client recovers by itself (the first call after the hold-down).
    end(&mut i, kind).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let fresh = loop {
        match c.get_token(&req).await {
            Ok(t) => break t,
            Err(e) => {
                assert!(Instant::now() < deadline, "{kind:?}: no recovery: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert!(!fresh.ptr_eq(&token));
    assert_eq!(claims(fresh.access_token())["aud"], SHORT_API);
    assert!(c.get_token(&req).await.unwrap().ptr_eq(&fresh));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_issuer_is_survived_until_the_usable_end() {
    scenario(Outage::Refused).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_black_holed_issuer_is_survived_until_the_usable_end() {
    scenario(Outage::BlackHoled).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issuer_answering_503_is_survived_until_the_usable_end() {
    scenario(Outage::Unavailable).await;
}

/// Many callers at once after the usable end with a black-holed issuer: one waits for the
/// probe, the others get the error without waiting a request timeout each.
#[tokio::test(flavor = "multi_thread")]
async fn callers_do_not_pile_up_behind_a_black_holed_probe() {
    let i = issuer().await;
    let c = outage_client(&i);
    let req = lived(&i, 1);
    c.get_token(&req).await.unwrap();
    i.inject(Fault::black_hole().times(1_000_000));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The token is past its end: this fetch (two attempts) times out.
    assert_eq!(c.get_token(&req).await.unwrap_err().kind(), "timeout");
    // The next one probes again; 32 callers arrive meanwhile.
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (c, req) = (c.clone(), req.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                let r = c.get_token(&req).await;
                (r.map(|_| ()).map_err(|e| e.kind()), t.elapsed())
            })
        })
        .collect();
    let mut slow = 0;
    for t in tasks {
        let (r, took) = t.await.unwrap();
        assert_eq!(r, Err("timeout"));
        if took >= TIMEOUT {
            slow += 1;
        }
    }
    assert!(slow <= 1, "{slow} callers waited a request timeout");
    assert!(t0.elapsed() < 4 * TIMEOUT);
    // Then the hold-down: 100 calls, no request, no wait.
    let sent = i.count("token");
    let t0 = Instant::now();
    for _ in 0..100 {
        assert_eq!(c.get_token(&req).await.unwrap_err().kind(), "timeout");
    }
    assert!(t0.elapsed() < TIMEOUT / 2, "{:?}", t0.elapsed());
    assert_eq!(i.count("token"), sent);
}
