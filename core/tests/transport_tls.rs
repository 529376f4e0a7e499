//! HTTPS against the local issuer with a CA made in the test: a token only when that CA is
//! trusted (`ca_file`), a typed error naming what failed otherwise, and no process-wide rustls
//! provider installed on the way.

mod common;

use common::*;
use tokenkeeper::{
    ClientConfig, Credentials, Error, HttpOptions, SignInClient, SignInConfig, TokenClient,
    TokenVerifier, VerifierConfig,
};
use tokenkeeper_issuer::TlsOptions;

async fn tls_issuer(options: TlsOptions) -> Issuer {
    Issuer::start_tls(options).await.expect("TLS issuer starts")
}

fn client_at(i: &Issuer, url: &str, http: HttpOptions) -> TokenClient {
    let f = &i.fixture;
    TokenClient::new(
        ClientConfig::new(
            url,
            &f.client_id,
            Credentials::client_secret(&f.client_secret),
        )
        .http_options(http),
    )
    .expect("valid config")
}

fn ca_file(i: &Issuer) -> String {
    i.fixture
        .ca_file
        .clone()
        .expect("a TLS issuer has a CA file")
}

/// The error of a fetch that must fail at the TLS handshake: a `Network` error with `what` in
/// its message, no secret in it, and no request reached the issuer.
async fn tls_error(i: &Issuer, url: &str, http: HttpOptions, what: &str) {
    let e = client_at(i, url, http).get_token(&api()).await.unwrap_err();
    assert!(matches!(e, Error::Network(_)), "{e:?}");
    assert_eq!(e.kind(), "network");
    let text = e.to_string();
    assert!(text.contains(what), "{text}");
    assert!(!text.contains(&i.fixture.client_secret), "{text}");
    assert_eq!(i.count("token"), 0, "no request got through: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_fetched_over_tls_only_when_the_test_ca_is_trusted() {
    let i = tls_issuer(TlsOptions::default()).await;
    let url = i.fixture.url.clone();
    assert!(url.starts_with("https://localhost:"), "{url}");
    // Unknown CA: the system's roots do not know it.
    tls_error(&i, &url, fast_retries(), "unknown issuer").await;

    let trusted = fast_retries().ca_file(ca_file(&i));
    let t = client_at(&i, &url, trusted.clone())
        .get_token(&api())
        .await
        .expect("a token over TLS with the CA trusted");
    assert_eq!(i.count("token"), 1);
    // The verifier fetches the JWKS over TLS with the same knob.
    let mut v = VerifierConfig::new(&url, API);
    v.http = trusted;
    let claims = TokenVerifier::new(v)
        .unwrap()
        .verify(t.access_token())
        .await
        .expect("verified with the JWKS fetched over TLS");
    assert_eq!(claims.iss(), Some(i.fixture.issuer.as_str()));
    assert_eq!(i.count("jwks"), 1);
    // L7: nothing installed a process-wide provider on the way.
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_for_another_name_is_a_typed_error() {
    let i = tls_issuer(TlsOptions {
        names: vec!["issuer.test".into()],
        ..Default::default()
    })
    .await;
    let http = fast_retries().ca_file(ca_file(&i));
    tls_error(&i, &i.fixture.url.clone(), http, "name mismatch").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_is_a_typed_error() {
    let i = tls_issuer(TlsOptions {
        expired: true,
        ..Default::default()
    })
    .await;
    let http = fast_retries().ca_file(ca_file(&i));
    tls_error(&i, &i.fixture.url.clone(), http, "certificate expired").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_ca_file_is_a_config_error_when_built() {
    let i = issuer().await;
    let f = &i.fixture;
    let dir = std::env::temp_dir().join(format!("tk-ca-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let secretish = "hunter2-do-not-echo";
    let cases = [
        (
            dir.join("missing.pem").display().to_string(),
            "cannot be read",
        ),
        (write("empty.pem", ""), "no PEM certificate"),
        (write("text.pem", secretish), "no PEM certificate"),
        (
            write(
                "key.pem",
                &format!("{}\n{secretish}\n", f.jwt_ec_private_key.trim()),
            ),
            "no PEM certificate",
        ),
        (
            write(
                "broken.pem",
                "-----BEGIN CERTIFICATE-----\nhunter2-do-not-echo\n-----END CERTIFICATE-----\n",
            ),
            "not a valid PEM",
        ),
    ];
    for (path, why) in cases {
        let http = HttpOptions::default().ca_file(&path);
        let client = ClientConfig::new(&f.url, &f.client_id, Credentials::client_secret("s"))
            .http_options(http.clone());
        let mut v = VerifierConfig::new(&f.url, API);
        v.http = http.clone();
        let mut s = SignInConfig::new(&f.url, &f.public_client_id, &f.redirect_uri);
        s.http = http;
        let errors = [
            TokenClient::new(client).err(),
            TokenVerifier::new(v).err(),
            SignInClient::new(s).err(),
        ];
        for e in errors {
            let e = e.unwrap_or_else(|| panic!("{path}: built"));
            let text = e.to_string();
            assert!(matches!(e, Error::Config(_)), "{path}: {e:?}");
            assert!(text.contains("ca_file") && text.contains(why), "{text}");
            assert!(
                !text.contains(secretish) && !text.contains("PRIVATE"),
                "{text}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
