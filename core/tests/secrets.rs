//! Secrets never reach Debug output, error messages or log lines.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use tokenkeeper::{ClientConfig, Credentials, SigningAlg, TokenClient};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_debug_errors_or_logs() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    // Global, so events from the runtime's worker threads are captured too.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let i = issuer().await;
    let f = &i.fixture;
    let cfg = config(&i);
    let c = TokenClient::new(cfg.clone()).unwrap();
    let token = c.get_token(&api()).await.unwrap();
    i.inject(Fault::status(503, "server_error", "down").times(3));
    let err = c.get_token(&api().scope("read:things")).await.unwrap_err();
    let wrong = TokenClient::new(ClientConfig::new(
        &f.url,
        &f.client_id,
        Credentials::client_secret(format!("{}x", f.client_secret)),
    ))
    .unwrap();
    let err2 = wrong.get_token(&api()).await.unwrap_err();
    let jwt = TokenClient::new(ClientConfig::new(
        &f.url,
        &f.jwt_client_id,
        Credentials::private_key_jwt(&f.jwt_ec_private_key, SigningAlg::ES256),
    ))
    .unwrap();
    let jwt_token = jwt.get_token(&api()).await.unwrap();
    let bad_key = TokenClient::new(ClientConfig::new(
        &f.url,
        "id",
        Credentials::private_key_jwt(&f.jwt_ec_private_key[..200], SigningAlg::ES256),
    ))
    .unwrap_err();

    let shown = format!(
        "{cfg:?} {c:?} {token:?} {err:?} {err} {err2:?} {err2} {jwt:?} {jwt_token:?} {bad_key} {bad_key:?}"
    );
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("token minted"),
        "events are logged: {logged}"
    );
    assert!(logged.contains("retrying token request"));
    let pem_body = f.jwt_ec_private_key.lines().nth(1).unwrap();
    for secret in [
        f.client_secret.as_str(),
        token.access_token(),
        jwt_token.access_token(),
        pem_body,
    ] {
        assert!(!shown.contains(secret), "secret in Debug/Display: {shown}");
        assert!(!logged.contains(secret), "secret in logs");
    }
    assert!(shown.contains("[redacted]"));
}
