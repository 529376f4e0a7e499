//! Review 2026-12-06 N9: a plain `redis://` shared level installs no process-wide rustls
//! provider (a host that installs its own afterwards must not get an error). Its own test
//! binary: the provider is process-wide.
#![cfg(unix)]
mod common;
mod shared;

use common::*;
use shared::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_redis_level_installs_no_process_wide_rustls_provider() {
    let url = std::env::var("TOKENKEEPER_TEST_REDIS_URL")
        .expect("TOKENKEEPER_TEST_REDIS_URL: source scripts/redis.sh; start_redis");
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    let i = issuer().await;
    let c = level_client(&i, &url, fast_retries());
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
