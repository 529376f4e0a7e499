//! The cache's behaviours, each against the local issuer over real HTTP.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tokenkeeper::{CachePolicy, TokenClient, TokenRequest};

#[tokio::test(flavor = "multi_thread")]
async fn second_call_is_served_from_the_cache() {
    let i = issuer().await;
    let c = client(&i);
    let a = c.get_token(&api()).await.unwrap();
    let b = c.get_token(&api()).await.unwrap();
    assert!(a.ptr_eq(&b));
    assert_eq!(i.count("token"), 1);
    let s = c.stats();
    assert_eq!((s.tokens_minted, s.cache_hits, s.errors), (1, 1, 0));
    assert_eq!(claims(a.access_token())["aud"], API);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_part_of_the_key_separates_tokens() {
    let i = issuer().await;
    let c = client(&i);
    let reqs = [
        TokenRequest::new(API),
        TokenRequest::new(SHORT_API),
        TokenRequest::new(API).scope("read:things"),
        TokenRequest::new(API).scope("read:things write:things"),
        TokenRequest::new(API).organization("acme"),
        TokenRequest::new(API).organization("org_4dK8wZqX2mN7pL1s"),
    ];
    let mut tokens = vec![];
    for r in &reqs {
        tokens.push(c.get_token(r).await.unwrap().access_token().to_string());
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), reqs.len(), "no two keys share a token");
    assert_eq!(i.count("token"), reqs.len() as u64);

    // Scope order and repeats do not matter.
    let ab = c
        .get_token(&TokenRequest::new(API).scope("write:things read:things"))
        .await
        .unwrap();
    let ba = c
        .get_token(&TokenRequest::new(API).scope(" read:things  write:things read:things"))
        .await
        .unwrap();
    assert!(ab.ptr_eq(&ba));
    assert_eq!(i.count("token"), reqs.len() as u64);

    // Another client id (the private_key_jwt app) never gets this client's token.
    let f = &i.fixture;
    let other = TokenClient::new(tokenkeeper::ClientConfig::new(
        &f.url,
        &f.jwt_client_id,
        tokenkeeper::Credentials::private_key_jwt(
            &f.jwt_rsa_private_key,
            tokenkeeper::SigningAlg::RS256,
        ),
    ))
    .unwrap();
    let t = other.get_token(&api()).await.unwrap();
    assert_eq!(claims(t.access_token())["azp"], f.jwt_client_id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn organization_reaches_the_token() {
    let i = issuer().await;
    let t = client(&i)
        .get_token(&api().organization("acme"))
        .await
        .unwrap();
    assert_eq!(claims(t.access_token())["org_id"], "org_4dK8wZqX2mN7pL1s");
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_with_the_same_key_material_share_the_cache() {
    let i = issuer().await;
    let (a, b) = (client(&i), client(&i));
    let t1 = a.get_token(&api()).await.unwrap();
    let t2 = b.get_token(&api()).await.unwrap();
    assert!(t1.ptr_eq(&t2));
    assert_eq!(i.count("token"), 1);
    assert_eq!(b.stats().cache_hits, 1);

    // Same client id, different (wrong) secret: not the same key, so no token for it.
    let f = &i.fixture;
    let wrong = TokenClient::new(tokenkeeper::ClientConfig::new(
        &f.url,
        &f.client_id,
        tokenkeeper::Credentials::client_secret("not-the-secret"),
    ))
    .unwrap();
    assert!(wrong.get_token(&api()).await.is_err());
    assert_eq!(i.count("token"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn single_flight_64_tasks() {
    let i = issuer().await;
    i.inject(Fault::delay(300));
    let c = client(&i);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get_token(&api()).await.unwrap() })
        })
        .collect();
    let mut tokens = vec![];
    for t in tasks {
        tokens.push(t.await.unwrap());
    }
    assert!(tokens.iter().all(|t| t.ptr_eq(&tokens[0])));
    assert_eq!(i.count("token"), 1);
    assert_eq!(c.stats().tokens_minted, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn single_flight_64_threads() {
    let i = issuer().await;
    i.inject(Fault::delay(300));
    let c = client(&i);
    let barrier = Arc::new(std::sync::Barrier::new(64));
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let (c, b) = (c.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                c.get_token_blocking(&api()).unwrap()
            })
        })
        .collect();
    let tokens: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(tokens.iter().all(|t| t.ptr_eq(&tokens[0])));
    assert_eq!(i.count("token"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_fetch_reaches_every_waiter_once() {
    let i = issuer().await;
    // The slow answer keeps the one fetch in flight until all 16 callers have joined it; a
    // caller arriving after the failure would (rightly) start a fetch of its own.
    i.inject(Fault {
        delay_ms: 500,
        ..Fault::status(400, "invalid_request", "nope").times(10)
    });
    let c = client(&i);
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (c, b) = (c.clone(), barrier.clone());
            tokio::spawn(async move {
                b.wait().await;
                c.get_token(&api()).await
            })
        })
        .collect();
    for t in tasks {
        assert!(matches!(
            t.await.unwrap(),
            Err(tokenkeeper::Error::OAuth { status: 400, .. })
        ));
    }
    assert_eq!(i.count("token"), 1);
    assert_eq!(c.stats().errors, 1);
}

/// Refresh window: from 1.6 s of a 4 s token (refresh_ahead 0.5, margin 0.8 s, no jitter).
fn refresh_policy() -> CachePolicy {
    CachePolicy {
        expiry_margin: Duration::from_secs(1),
        refresh_ahead: 0.5,
        jitter: 0.0,
        ..CachePolicy::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_ahead_serves_the_current_token_while_one_refresh_runs() {
    let i = issuer().await;
    let req = lived(&i, 4);
    let c = client_with(&i, refresh_policy());
    let first = c.get_token(&req).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    i.inject(Fault::delay(800));
    // Every caller in the window gets the current token at once.
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (c, r) = (c.clone(), req.clone());
            tokio::spawn(async move { c.get_token(&r).await.unwrap() })
        })
        .collect();
    // The refresh takes 800 ms and yields a new token: a caller that got `first` did not
    // wait for it.
    for t in tasks {
        assert!(
            t.await.unwrap().ptr_eq(&first),
            "a caller waited for the refresh"
        );
    }
    assert_eq!(c.stats().refreshes, 1);
    // The one refresh lands, and is then served.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(i.count("token"), 2);
    let next = c.get_token(&req).await.unwrap();
    assert!(!next.ptr_eq(&first));
    assert!(next.remaining() > next_min_remaining());
    assert_eq!(i.count("token"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_inside_its_margin_is_never_returned() {
    let i = issuer().await;
    let req = lived(&i, 5);
    // No refresh ahead: the token is served until 5 s - 1 s, then callers must wait.
    let policy = CachePolicy {
        expiry_margin: Duration::from_secs(1),
        refresh_ahead: 0.0,
        jitter: 0.0,
        ..CachePolicy::default()
    };
    let c = client_with(&i, policy);
    let first = c.get_token(&req).await.unwrap();
    tokio::time::sleep(Duration::from_millis(4100)).await;
    i.inject(Fault::delay(500));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (c, r) = (c.clone(), req.clone());
            tokio::spawn(async move { c.get_token(&r).await.unwrap() })
        })
        .collect();
    for t in tasks {
        let t = t.await.unwrap();
        assert!(!t.ptr_eq(&first), "the old token is inside its margin");
    }
    assert!(t0.elapsed() >= Duration::from_millis(450), "callers waited");
    assert_eq!(i.count("token"), 2, "and they waited for one fetch");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_two_second_token_causes_no_refresh_storm() {
    let i = issuer().await;
    let req = lived(&i, 2);
    let c = client(&i);
    let t0 = Instant::now();
    let mut served = 0;
    while t0.elapsed() < Duration::from_secs(5) {
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let (c, r) = (c.clone(), req.clone());
                tokio::spawn(async move { c.get_token(&r).await.unwrap() })
            })
            .collect();
        for t in calls {
            let t = t.await.unwrap();
            assert!(t.remaining() > Duration::ZERO, "never an expired token");
            served += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A 2 s token is usable 1.6 s and refreshed once near its end: about 3-4 fetches in 5 s.
    let n = i.count("token");
    assert!((2..=6).contains(&n), "{n} requests for {served} calls");
}

#[tokio::test(flavor = "multi_thread")]
async fn day_long_tokens_expire_a_day_later() {
    let i = issuer().await;
    let t = client(&i).get_token(&api()).await.unwrap();
    assert_eq!(t.expires_in(), 86_400);
    let left = t.remaining().as_secs();
    assert!((86_390..=86_400).contains(&left), "{left}");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalidate_forces_a_new_token() {
    let i = issuer().await;
    let c = client(&i);
    let a = c.get_token(&api()).await.unwrap();
    c.invalidate(&api());
    let b = c.get_token(&api()).await.unwrap();
    assert!(!a.ptr_eq(&b));
    assert_eq!(i.count("token"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_cache_fetches_every_time() {
    let i = issuer().await;
    let c = client_with(
        &i,
        CachePolicy {
            enabled: false,
            ..CachePolicy::default()
        },
    );
    c.get_token(&api()).await.unwrap();
    c.get_token(&api()).await.unwrap();
    assert_eq!(i.count("token"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn blocking_facade_works_inside_a_multi_thread_runtime() {
    let i = issuer().await;
    let c = client(&i);
    let t = c.get_token_blocking(&api()).unwrap();
    assert!(t.access_token().starts_with("ey"));
}

#[test]
fn blocking_facade_refuses_a_current_thread_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = TokenClient::new(tokenkeeper::ClientConfig::new(
        "http://127.0.0.1:1",
        "id",
        tokenkeeper::Credentials::client_secret("s"),
    ))
    .unwrap();
    let r = rt.block_on(async { c.get_token_blocking(&api()) });
    assert!(matches!(r, Err(tokenkeeper::Error::Config(_))), "{r:?}");
}

/// The refreshed 4 s token was requested about 1.2 s before it is checked.
fn next_min_remaining() -> Duration {
    Duration::from_millis(2000)
}

/// A prepared request's hit (issue 22) serves the cached token while it is the cache's and
/// before its refresh point, counts each one, and never holds on after a change.
#[tokio::test(flavor = "multi_thread")]
async fn a_prepared_hit_holds_until_the_token_changes_or_nears_its_refresh() {
    let i = issuer().await;
    let c = client(&i);
    let p = c.prepared(api()).unwrap();
    assert!(p.hit().is_none(), "nothing cached yet");
    let t = p.get_token().await.unwrap();
    let hits = c.stats().cache_hits;
    assert!(p.hit().unwrap().ptr_eq(&t) && p.hit().unwrap().ptr_eq(&t));
    assert_eq!(
        c.stats().cache_hits,
        hits + 2,
        "each hit is counted by the core"
    );
    assert!(
        c.get_token(&api()).await.unwrap().ptr_eq(&t),
        "one slot for both"
    );

    // Another client of the same key invalidates: no hit until the next fetch.
    client(&i).invalidate(&api());
    assert!(p.hit().is_none());
    assert_eq!(c.stats().cache_hits, hits + 3);
    let t2 = p.get_token().await.unwrap();
    assert!(!t2.ptr_eq(&t));
    assert!(p.hit().unwrap().ptr_eq(&t2));
    assert!(p.invalidate_if_current(&t2));
    assert!(p.hit().is_none(), "invalidate_if_current ends it too");
    assert_eq!(i.count("token"), 2);

    // A token inside its refresh window is no plain hit: the slow path serves it and starts
    // one refresh (refresh_ahead 0.999: a 2-s token is in its window 2 ms after it was asked).
    let short = TokenClient::new(config(&i).cache_policy(CachePolicy {
        refresh_ahead: 0.999,
        ..CachePolicy::default()
    }))
    .unwrap();
    let r = short.prepared(lived(&i, 2)).unwrap();
    r.get_token().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(r.hit().is_none());
    assert!(r.get_token().await.is_ok());

    // No hits when the cache is off: every call fetches.
    let off = client_with(
        &i,
        CachePolicy {
            enabled: false,
            ..CachePolicy::default()
        },
    );
    let p = off.prepared(api()).unwrap();
    let a = p.get_token().await.unwrap();
    assert!(p.hit().is_none());
    assert!(!p.get_token().await.unwrap().ptr_eq(&a));
}

/// The 401 rule (issue 22, scenario R1): the rejected token is dropped once, the retry gets a
/// new one; the same rejected token again (a second caller that saw the same 401) gets that new
/// token without another request.
#[tokio::test(flavor = "multi_thread")]
async fn after_rejection_drops_the_rejected_token_once_and_gives_the_one_to_retry_with() {
    let i = issuer().await;
    let c = client(&i);
    let p = c.prepared(api().scope("read:things")).unwrap();
    let t1 = p.get_token().await.unwrap();
    let t2 = p.after_rejection(&t1).await.unwrap().expect("a new token");
    assert_ne!(t2.access_token(), t1.access_token());
    let again = p
        .after_rejection_blocking(&t1)
        .unwrap()
        .expect("the newer token");
    assert!(again.ptr_eq(&t2));
    assert_eq!(i.count("token"), 2);
    assert!(
        p.hit().unwrap().ptr_eq(&t2),
        "the new token is the cached one"
    );
}

/// The 401 rule when the issuer hands the rejected token back: `None` (retrying the call with
/// it cannot help: the caller gets the 401), after one request.
#[tokio::test(flavor = "multi_thread")]
async fn after_rejection_is_none_when_the_issuer_gives_the_same_token_again() {
    let i = issuer().await;
    let c = client(&i);
    let p = c.prepared(api()).unwrap();
    let t1 = p.get_token().await.unwrap();
    let same = serde_json::json!({
        "access_token": t1.access_token(),
        "token_type": "Bearer",
        "expires_in": 86_400,
    });
    i.inject(Fault::raw(200, &same.to_string()));
    assert!(p.after_rejection(&t1).await.unwrap().is_none());
    assert_eq!(i.count("token"), 2, "one request after the rejection");
    i.inject(Fault::raw(200, &same.to_string()));
    assert!(p.after_rejection_blocking(&t1).unwrap().is_none());
}

/// A prepared request whose slot the table dropped (dead: nothing servable, nothing in flight)
/// fetches through the table's new slot and holds that one: it shares tokens with every other
/// caller, and its hits work again.
#[tokio::test(flavor = "multi_thread")]
async fn a_prepared_request_follows_its_slot_when_the_table_drops_it() {
    let i = issuer().await;
    let c = client(&i);
    let p = c.prepared(api()).unwrap();
    p.get_token().await.unwrap();
    p.invalidate();
    // Enough new slots for the table to grow twice, dropping the dead ones.
    for n in 0..200 {
        assert!(c
            .cached(&TokenRequest::new(format!("https://other/{n}")))
            .is_none());
    }
    assert!(c.cache_census().slots < 200, "{:?}", c.cache_census());
    let t = c.get_token(&api()).await.unwrap();
    assert!(p.get_token().await.unwrap().ptr_eq(&t), "the table's slot");
    assert!(p.hit().unwrap().ptr_eq(&t), "and holds it");
    assert_eq!(i.count("token"), 2);
}

/// The hit path reads coarse clocks; a token is still never served past its refresh point
/// without the slow path's precise check (a short token renews on time).
#[tokio::test(flavor = "multi_thread")]
async fn the_hit_path_hands_over_to_a_refresh_on_time() {
    let i = issuer().await;
    let c = client(&i);
    let r = lived(&i, 2);
    let first = c.get_token(&r).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut renewed = false;
    while Instant::now() < deadline {
        let t = c.get_token(&r).await.unwrap();
        assert!(t.remaining() > Duration::ZERO, "never an expired token");
        if !t.ptr_eq(&first) {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(renewed, "the 2-s token was renewed before it expired");
    assert!(i.count("token") >= 2);
}
