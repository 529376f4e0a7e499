//! Review 2026-12-06 N10: `localhost`, accepted as loopback for plain `http://`, connects to
//! 127.0.0.1 / ::1 itself (the resolver is never asked, so DNS cannot send a secret elsewhere).
mod common;

use common::*;
use tokenkeeper::{ClientConfig, Credentials, TokenClient};

#[tokio::test(flavor = "multi_thread")]
async fn localhost_reaches_the_loopback_issuer() {
    let i = issuer().await;
    let f = &i.fixture;
    let url = f.url.replace("127.0.0.1", "localhost");
    assert!(url.starts_with("http://localhost:"), "{url}");
    let c = TokenClient::new(
        ClientConfig::new(
            &url,
            &f.client_id,
            Credentials::client_secret(&f.client_secret),
        )
        .http_options(fast_retries()),
    )
    .unwrap();
    let t = c.get_token(&api()).await.unwrap();
    assert!(t.access_token().starts_with("ey"));
    assert_eq!(i.count("token"), 1);
}
