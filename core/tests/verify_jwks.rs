//! The JWKS cache: lifetime, refetch on an unknown `kid` at most once per interval (a flood of
//! random `kid`s is not a flood of JWKS requests), key rotation, failures — counted on the
//! local issuer's `jwks` endpoint.

mod verify_support;

use std::time::Duration;

use serde_json::json;
use tokenkeeper::{Error, HttpOptions, TokenCheck, TokenVerifier, JWKS_MIN_REFETCH_FLOOR};
use verify_support::*;

fn verifier_with(i: &Issuer, lifetime: Duration, interval: Duration) -> TokenVerifier {
    let mut c = verifier_config(i, API);
    c.jwks_lifetime = lifetime;
    c.jwks_min_refetch_interval = interval;
    TokenVerifier::new(c).unwrap()
}

fn random_kid_tokens(i: &Issuer, n: usize) -> Vec<String> {
    (0..n)
        .map(|k| {
            i.sign_with_header(
                &json!({ "kid": format!("flood-{k}-{}", now()) }),
                &good_claims(i),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_flood_of_unknown_kids_makes_at_most_one_jwks_request_per_interval() {
    let i = issuer().await;
    let v = verifier_with(&i, Duration::from_secs(600), Duration::from_secs(60));
    v.verify(&i.sign(&good_claims(&i))).await.unwrap();
    assert_eq!(i.count("jwks"), 1);
    // 400 tokens with random kids, from 16 concurrent tasks: the JWKS was fetched less than
    // an interval ago, so none refetches.
    let tokens = random_kid_tokens(&i, 400);
    let mut tasks = Vec::new();
    for chunk in tokens.chunks(25) {
        let (v, chunk) = (v.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            for t in chunk {
                assert_eq!(check_of(v.verify(&t).await), TokenCheck::UnknownKey);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(i.count("jwks"), 1, "the flood reached the JWKS endpoint");
    // The blocking facade is limited the same way (and answers without the runtime).
    for t in random_kid_tokens(&i, 50) {
        assert_eq!(check_of(v.verify_blocking(&t)), TokenCheck::UnknownKey);
    }
    assert_eq!(i.count("jwks"), 1);
    // Known keys keep verifying throughout.
    v.verify(&i.sign(&good_claims(&i))).await.unwrap();
    assert_eq!(v.stats().jwks_fetches, 1);
}

#[tokio::test]
async fn a_concurrent_flood_on_a_cold_verifier_makes_one_request() {
    let i = issuer().await;
    let v = verifier_with(&i, Duration::from_secs(600), Duration::from_secs(60));
    let tokens = random_kid_tokens(&i, 200);
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            let v = v.clone();
            tokio::spawn(async move { check_of(v.verify(&t).await) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), TokenCheck::UnknownKey);
    }
    assert_eq!(i.count("jwks"), 1);
}

#[tokio::test]
async fn an_unknown_kid_refetches_once_the_interval_has_passed() {
    let i = issuer().await;
    let interval = JWKS_MIN_REFETCH_FLOOR;
    let v = verifier_with(&i, Duration::from_secs(600), interval);
    v.verify(&i.sign(&good_claims(&i))).await.unwrap();
    // Over two intervals, a steady stream of unknown kids refetches about once per interval.
    let start = std::time::Instant::now();
    let mut n = 0;
    while start.elapsed() < interval * 2 + interval / 2 {
        for t in random_kid_tokens(&i, 5) {
            assert_eq!(check_of(v.verify(&t).await), TokenCheck::UnknownKey);
            n += 1;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let elapsed = start.elapsed();
    let fetches = i.count("jwks");
    // The first fetch, then at most one per interval of the stream (bounded by the time it
    // really took, so a slow machine cannot make this flaky).
    let most = 2 + (elapsed.as_millis() / interval.as_millis()) as u64;
    assert!(n > 20, "{n} tokens");
    assert!(
        (2..=most).contains(&fetches),
        "{fetches} JWKS requests for {n} unknown kids in {elapsed:?}"
    );
}

#[tokio::test]
async fn key_rotation() {
    let i = issuer().await;
    let interval = JWKS_MIN_REFETCH_FLOOR;
    let v = verifier_with(&i, Duration::from_secs(600), interval);
    let old_kid = i.active_kid();
    let old_token = i.sign(&good_claims(&i));
    v.verify(&old_token).await.unwrap();
    tokio::time::sleep(interval + Duration::from_millis(50)).await;

    // 1. A new key is published and signs from now on; the old one stays in the JWKS.
    let new_kid = i.add_signing_key(Algorithm::RS256, true);
    let new_token = i.sign(&good_claims(&i));
    assert_eq!(segment(&new_token, 0)["kid"], new_kid);
    v.verify(&new_token).await.unwrap(); // unknown kid → one refetch
    assert_eq!(i.count("jwks"), 2);
    v.verify(&old_token).await.unwrap(); // still published
    assert_eq!(i.count("jwks"), 2);

    // 2. The old key is retired. A verifier that refetches no longer knows it.
    i.retire_signing_key(&old_kid).unwrap();
    assert_eq!(i.published_kids(), vec![new_kid.clone()]);
    assert!(
        i.retire_signing_key(&new_kid).is_err(),
        "the active key cannot be retired"
    );
    let fresh = verifier_with(&i, Duration::from_secs(600), interval);
    fresh.verify(&new_token).await.unwrap();
    assert_eq!(
        check_of(fresh.verify(&old_token).await),
        TokenCheck::UnknownKey
    );

    // 3. Tokens from the token endpoint are signed by the new key, and the old verifier takes
    //    them without another request (it learned the key in step 1).
    let f = &i.fixture;
    let client = tokenkeeper::TokenClient::new(tokenkeeper::ClientConfig::new(
        &f.url,
        &f.client_id,
        tokenkeeper::Credentials::client_secret(&f.client_secret),
    ))
    .unwrap();
    let minted = client
        .get_token(&tokenkeeper::TokenRequest::new(API))
        .await
        .unwrap();
    assert_eq!(segment(minted.access_token(), 0)["kid"], new_kid);
    let before = i.count("jwks");
    v.verify(minted.access_token()).await.unwrap();
    assert_eq!(i.count("jwks"), before);

    // 4. rotate_signing_key does both steps at once.
    let newest = i.rotate_signing_key();
    assert_eq!(i.published_kids(), vec![newest.clone()]);
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    v.verify(&i.sign(&good_claims(&i))).await.unwrap();
}

#[tokio::test]
async fn the_jwks_is_refetched_after_its_lifetime() {
    let i = issuer().await;
    let v = verifier_with(&i, JWKS_MIN_REFETCH_FLOOR, JWKS_MIN_REFETCH_FLOOR);
    let t = i.sign(&good_claims(&i));
    v.verify(&t).await.unwrap();
    v.verify(&t).await.unwrap();
    assert_eq!(i.count("jwks"), 1);
    tokio::time::sleep(JWKS_MIN_REFETCH_FLOOR + Duration::from_millis(50)).await;
    // Stale: served at once, refreshed in the background (once).
    v.verify(&t).await.unwrap();
    v.verify_blocking(&t).unwrap();
    wait_for_count(&i, "jwks", 2).await;
    v.verify(&t).await.unwrap();
    assert_eq!(i.count("jwks"), 2);
}

/// Waits (bounded) until the issuer has counted `n` requests to `endpoint`.
async fn wait_for_count(i: &Issuer, endpoint: &str, n: u64) {
    for _ in 0..500 {
        if i.count(endpoint) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_unreachable_jwks_is_a_jwks_error_and_is_not_hammered() {
    let i = issuer().await;
    let mut c = verifier_config(&i, API);
    c.http = HttpOptions::default().no_retries();
    c.jwks_min_refetch_interval = Duration::from_secs(60);
    let v = TokenVerifier::new(c).unwrap();
    let t = i.sign(&good_claims(&i));
    i.inject(
        Fault::status(503, "temporarily_unavailable", "try later")
            .on("jwks")
            .times(100),
    );
    let e = v.verify(&t).await.unwrap_err();
    assert_eq!(check_of(Err::<(), _>(e.clone())), TokenCheck::Jwks);
    assert!(e.to_string().contains("jwks"), "{e}");
    for _ in 0..20 {
        assert_eq!(check_of(v.verify(&t).await), TokenCheck::Jwks);
    }
    assert_eq!(
        i.count("jwks"),
        1,
        "a failing JWKS endpoint was retried within the interval"
    );

    // A closed port.
    let mut c = verifier_config(&i, API);
    c.domain = "http://127.0.0.1:1".into();
    c.http = HttpOptions::default().no_retries();
    let closed = TokenVerifier::new(c).unwrap();
    assert_eq!(check_of(closed.verify(&t).await), TokenCheck::Jwks);
}

#[tokio::test]
async fn a_broken_jwks_document_is_a_jwks_error() {
    let i = issuer().await;
    let t = i.sign(&good_claims(&i));
    let bodies = [
        Fault::raw(200, "{not json"),
        Fault::raw(200, "[]"),
        Fault::raw(200, r#"{"keys": "none"}"#),
        Fault::oversized(200_000),
        Fault::raw(404, "Not Found"),
        Fault::raw(302, ""),
    ];
    for fault in bodies {
        let mut c = verifier_config(&i, API);
        c.http = HttpOptions::default().no_retries();
        c.http = c.http.max_response_bytes(64 * 1024);
        let v = TokenVerifier::new(c).unwrap();
        i.inject(fault.clone().on("jwks"));
        assert_eq!(check_of(v.verify(&t).await), TokenCheck::Jwks, "{fault:?}");
    }
    // Keys the verifier must not use are skipped: only HMAC or unknown keys → unknown key.
    let odd = json!({"keys": [
        {"kty": "oct", "kid": i.active_kid(), "k": "c2VjcmV0"},
        {"kty": "RSA", "kid": "small", "n": b64("tiny"), "e": "AQAB"},
        {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"},
        {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AA", "e": "AQAB"},
        "not an object"
    ]});
    i.inject(Fault::raw(200, &odd.to_string()).on("jwks"));
    let v = TokenVerifier::new(verifier_config(&i, API)).unwrap();
    assert_eq!(check_of(v.verify(&t).await), TokenCheck::UnknownKey);
}

#[tokio::test]
async fn stale_keys_serve_while_the_jwks_is_down() {
    let i = issuer().await;
    let mut c = verifier_config(&i, API);
    c.http = HttpOptions::default().no_retries();
    c.jwks_lifetime = Duration::from_millis(100);
    c.jwks_min_refetch_interval = JWKS_MIN_REFETCH_FLOOR;
    let v = TokenVerifier::new(c).unwrap();
    let t = i.sign(&good_claims(&i));
    v.verify(&t).await.unwrap();
    tokio::time::sleep(JWKS_MIN_REFETCH_FLOOR + Duration::from_millis(50)).await;
    i.inject(
        Fault::status(500, "server_error", "down")
            .on("jwks")
            .times(100),
    );
    for _ in 0..10 {
        v.verify(&t).await.unwrap();
    }
    wait_for_count(&i, "jwks", 2).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    for _ in 0..10 {
        v.verify(&t).await.unwrap();
    }
    assert_eq!(
        i.count("jwks"),
        2,
        "one failed refetch, then the interval holds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_jwks_fetches_now() {
    let i = issuer().await;
    i.add_signing_key(Algorithm::ES256, false);
    let v = verifier(&i);
    assert_eq!(v.refresh_jwks().await.unwrap(), 2);
    assert_eq!(v.refresh_jwks().await.unwrap(), 2);
    assert_eq!(i.count("jwks"), 2);
    v.verify(&i.sign(&good_claims(&i))).await.unwrap();
    assert_eq!(i.count("jwks"), 2);
    let v2 = v.clone();
    let n = std::thread::spawn(move || v2.refresh_jwks_blocking())
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(v.stats().jwks_fetches, 3);
}

#[test]
fn the_refetch_interval_has_a_floor() {
    let mut c = tokenkeeper::VerifierConfig::new("http://127.0.0.1:1", API);
    for below in [Duration::ZERO, Duration::from_millis(999)] {
        c.jwks_min_refetch_interval = below;
        match TokenVerifier::new(c.clone()) {
            Err(Error::Config(msg)) => {
                assert!(msg.contains("jwks_min_refetch_interval"), "{msg}");
                assert!(msg.contains("at least 1 s"), "{msg}");
            }
            other => panic!("{below:?}: {other:?}"),
        }
    }
    c.jwks_min_refetch_interval = JWKS_MIN_REFETCH_FLOOR;
    TokenVerifier::new(c).unwrap();
}
