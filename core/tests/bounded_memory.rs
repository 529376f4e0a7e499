//! Bounded memory (issue 12 item 11, review L5): 10,000 distinct audiences on one client keep
//! the cache bounded by the live entries, and an insert copies O(1) entries, not the map.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tokenkeeper::{ClientConfig, Credentials, TokenClient, TokenRequest};

/// 10 batches of 1,000 audiences with 1-second tokens, each batch fetched after the previous
/// one's tokens expired: the table keeps about the live batch, not all 10,000.
#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_audiences_use_bounded_memory() {
    let i = issuer().await;
    // ES256 signs far faster than RS256: 10,000 tokens stay quick to mint.
    i.add_signing_key(tokenkeeper_issuer::Algorithm::ES256, true);
    let c = client(&i);
    let (batches, per_batch) = (10, 1_000);
    for b in 0..batches {
        let reqs: Vec<TokenRequest> = (0..per_batch)
            .map(|n| {
                let audience = format!("https://api-{b}-{n}.example.com");
                i.add_api(Api {
                    audience: audience.clone(),
                    scopes: vec![],
                    lifetime: 1,
                });
                TokenRequest::new(audience)
            })
            .collect();
        let reqs = Arc::new(reqs);
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let (c, reqs) = (c.clone(), reqs.clone());
                tokio::spawn(async move {
                    for r in reqs.iter().skip(w).step_by(8) {
                        let t = c.get_token(r).await.unwrap();
                        assert_eq!(claims(t.access_token())["aud"], r.audience_str());
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        let census = c.cache_census();
        // A rebuild keeps the live entries with room for 4 times as many: at most twice the
        // batch is ever held (dead entries go at the next rebuild).
        assert!(
            census.slots <= 2 * 2 * per_batch,
            "batch {b}: {census:?} slots held"
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let census = c.cache_census();
    let inserts = (batches * per_batch) as u64;
    assert_eq!(c.stats().tokens_minted, inserts);
    // Copy-on-write copied the whole map on each insert (about n²/2 = 50 million entries
    // here); growing in place copies each entry O(1) times.
    assert!(census.copied <= 2 * inserts, "{census:?}");
    assert!(census.slots < 4 * per_batch, "{census:?}");
}

/// Audiences a client only looked up (`cached`, no token) and client identities that never
/// got a token leave nothing behind once the tables grow.
#[test]
fn lookups_and_clients_without_tokens_are_not_kept() {
    let cfg = |id: &str| {
        ClientConfig::new(
            "http://127.0.0.1:1",
            id,
            Credentials::client_secret("a-secret-value"),
        )
    };
    let c = TokenClient::new(cfg("looker")).unwrap();
    let t0 = Instant::now();
    for n in 0..10_000 {
        assert!(c
            .cached(&TokenRequest::new(format!("https://{n}.example.com")))
            .is_none());
    }
    let census = c.cache_census();
    assert!(census.slots <= 16, "{census:?}");
    assert!(census.copied <= 2 * 10_000, "{census:?}");
    for n in 0..2_000 {
        let other = TokenClient::new(cfg(&format!("client-{n}"))).unwrap();
        assert!(other
            .cached(&TokenRequest::new("https://a.example.com"))
            .is_none());
    }
    assert!(c.cache_census().clients <= 64, "{:?}", c.cache_census());
    assert!(t0.elapsed() < Duration::from_secs(60));
}
