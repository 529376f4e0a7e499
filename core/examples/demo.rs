//! The main job: start the embedded local issuer, get a token twice (the second from the
//! cache), show its claims, and show the counters.
//!
//! `cargo run -p tokenkeeper --example demo`

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tokenkeeper::{ClientConfig, Credentials, TokenClient, TokenRequest};
use tokenkeeper_issuer::{Issuer, API};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The issuer runs on its own small runtime; tokenkeeper uses its shared one.
    let rt = tokio::runtime::Runtime::new()?;
    let issuer = rt.block_on(Issuer::start())?;
    let f = &issuer.fixture;
    println!("local issuer at {}", f.url);

    let config = ClientConfig::new(
        &f.url,
        &f.client_id,
        Credentials::client_secret(&f.client_secret),
    );
    let client = TokenClient::new(config)?;
    let req = TokenRequest::new(API).scope("read:things write:things");

    let t0 = std::time::Instant::now();
    let first = client.get_token_blocking(&req)?;
    let cold = t0.elapsed();
    let t1 = std::time::Instant::now();
    let second = client.get_token_blocking(&req)?;
    let warm = t1.elapsed();

    println!(
        "token type {}, expires in {} s, scope {:?}",
        first.token_type(),
        first.expires_in(),
        first.scope()
    );
    let payload = first.access_token().split('.').nth(1).ok_or("not a JWT")?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    println!("claims: {}", serde_json::to_string_pretty(&claims)?);
    println!("first call (token endpoint): {cold:?}");
    println!(
        "second call: {warm:?}, {}",
        if second.ptr_eq(&first) {
            "served from the cache"
        } else {
            "NOT from the cache"
        }
    );
    println!("token endpoint requests: {}", issuer.count("token"));
    println!("counters: {:?}", client.stats());
    drop(issuer);
    rt.shutdown_background();
    Ok(())
}
