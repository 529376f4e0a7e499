//! Review 2026-12-06 N9: a plain `redis://` shared level installs no process-wide rustls
//! provider (a host that installs its own afterwards must not get an error). Its own test
//! binary: the provider is process-wide.
#![cfg(unix)]
mod common;

use common::*;
use tokenkeeper::{CachePolicy, ClientConfig, Credentials, SharedCache, TokenClient};

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_redis_level_installs_no_process_wide_rustls_provider() {
    let url = std::env::var("TOKENKEEPER_TEST_REDIS_URL")
        .expect("TOKENKEEPER_TEST_REDIS_URL: source scripts/redis.sh; start_redis");
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    let i = issuer().await;
    let f = &i.fixture;
    let c = TokenClient::new(
        ClientConfig::new(
            &f.url,
            &f.client_id,
            Credentials::client_secret(&f.client_secret),
        )
        .http_options(fast_retries())
        .cache_policy(CachePolicy {
            enabled: false,
            ..CachePolicy::default()
        })
        .shared_cache(SharedCache::parse(&url).unwrap()),
    )
    .unwrap();
    c.get_token(&api()).await.unwrap();
    c.get_token(&api()).await.unwrap();
    assert_eq!(c.stats().shared_errors, 0, "the Redis level was used");
    assert!(c.stats().shared_hits >= 1, "the Redis level was used");
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "a process-wide provider was installed"
    );
    // The host can still install its own.
    rustls::crypto::ring::default_provider()
        .install_default()
        .unwrap();
}
