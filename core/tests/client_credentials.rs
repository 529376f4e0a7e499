//! Client authentication methods, configuration checks and error causes, over real HTTP.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use tokenkeeper::{AuthMethod, ClientConfig, Credentials, Error, SigningAlg, TokenClient};

fn jwt_client(i: &Issuer, alg: SigningAlg) -> TokenClient {
    let f = &i.fixture;
    let pem = match alg {
        SigningAlg::ES256 => &f.jwt_ec_private_key,
        _ => &f.jwt_rsa_private_key,
    };
    TokenClient::new(ClientConfig::new(
        &f.url,
        &f.jwt_client_id,
        Credentials::private_key_jwt(pem, alg).with_key_id("k1"),
    ))
    .unwrap()
}

// ---- client authentication

#[tokio::test(flavor = "multi_thread")]
async fn client_secret_post_is_the_default() {
    let i = issuer().await;
    let c = client(&i);
    assert_eq!(c.auth_method(), AuthMethod::ClientSecretPost);
    let t = c.get_token(&api()).await.unwrap();
    assert_eq!(t.token_type(), "Bearer");
    assert_eq!(i.count("auth:client_secret_post"), 1);
    let cl = claims(t.access_token());
    assert_eq!(cl["sub"], format!("{}@clients", i.fixture.client_id));
    assert_eq!(cl["iss"], i.fixture.issuer);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_secret_basic() {
    let i = issuer().await;
    let c = TokenClient::new(config(&i).auth_method(AuthMethod::ClientSecretBasic)).unwrap();
    c.get_token(&api()).await.unwrap();
    assert_eq!(i.count("auth:client_secret_basic"), 1);
    assert_eq!(i.count("auth:client_secret_post"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn private_key_jwt_with_each_algorithm() {
    let i = issuer().await;
    // Distinct scopes, so each algorithm makes its own request (RS256 and PS256 with one key
    // are the same key material and would share a cached token).
    for (alg, scope) in [
        (SigningAlg::RS256, "read:things"),
        (SigningAlg::PS256, "write:things"),
        (SigningAlg::ES256, "delete:things"),
    ] {
        let c = jwt_client(&i, alg);
        assert_eq!(c.auth_method(), AuthMethod::PrivateKeyJwt);
        let t = c.get_token(&api().scope(scope)).await.unwrap();
        assert_eq!(
            claims(t.access_token())["azp"],
            i.fixture.jwt_client_id.as_str()
        );
    }
    assert_eq!(i.count("auth:private_key_jwt"), 3);
    assert_eq!(i.count("tokens_issued"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_the_server_does_not_know_is_invalid_client() {
    let i = issuer().await;
    let f = &i.fixture;
    // The secret-based app has no registered key.
    let c = TokenClient::new(
        ClientConfig::new(
            &f.url,
            &f.client_id,
            Credentials::private_key_jwt(&f.jwt_rsa_private_key, SigningAlg::RS256),
        )
        .http_options(fast_retries()),
    )
    .unwrap();
    match c.get_token(&api()).await {
        Err(Error::OAuth { error, status, .. }) => {
            assert_eq!((error.as_str(), status), ("invalid_client", 401))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_private_keys_are_configuration_errors() {
    let ec = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
    for (pem, alg) in [
        ("not a pem", SigningAlg::RS256),
        ("", SigningAlg::ES256),
        (ec, SigningAlg::ES256),
    ] {
        let r = TokenClient::new(ClientConfig::new(
            "tenant.auth0.com",
            "id",
            Credentials::private_key_jwt(pem, alg),
        ));
        assert!(matches!(r, Err(Error::Config(_))), "{pem:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_rsa_key_cannot_sign_es256() {
    let i = issuer().await;
    let r = TokenClient::new(ClientConfig::new(
        &i.fixture.url,
        "id",
        Credentials::private_key_jwt(&i.fixture.jwt_rsa_private_key, SigningAlg::ES256),
    ));
    assert!(matches!(r, Err(Error::Config(_))));
}

// ---- configuration

#[test]
fn domains_resolve_like_auth0() {
    let c = |d: &str| TokenClient::new(ClientConfig::new(d, "id", Credentials::client_secret("s")));
    let t = c("tenant.auth0.com").unwrap();
    assert_eq!(t.token_url(), "https://tenant.auth0.com/oauth/token");
    assert_eq!(t.issuer(), "https://tenant.auth0.com/");
    let t = c("https://login.northwind.com/").unwrap();
    assert_eq!(t.issuer(), "https://login.northwind.com/");
    assert_eq!(t.token_url(), "https://login.northwind.com/oauth/token");
    for ok in [
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:9",
    ] {
        assert!(c(ok).is_ok(), "{ok}");
    }
    for bad in [
        "http://tenant.auth0.com",
        "http://10.0.0.1",
        "ftp://tenant.auth0.com",
        "",
        "https://user:pw@tenant.auth0.com",
        "https://tenant.auth0.com/?x=1",
        "https://",
    ] {
        match c(bad) {
            Err(Error::Config(m)) => assert!(!m.contains("pw@"), "{m}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let r = TokenClient::new(
        ClientConfig::new("tenant.auth0.com", "id", Credentials::client_secret("s"))
            .token_url("http://evil.example.com/token"),
    );
    assert!(matches!(r, Err(Error::Config(_))));
}

#[test]
fn empty_fields_are_configuration_errors() {
    let bad = [
        ClientConfig::new("tenant.auth0.com", "", Credentials::client_secret("s")),
        ClientConfig::new("tenant.auth0.com", "id", Credentials::client_secret("")),
        ClientConfig::new("tenant.auth0.com", "id", Credentials::client_secret("s"))
            .auth_method(AuthMethod::PrivateKeyJwt),
    ];
    for cfg in bad {
        assert!(matches!(TokenClient::new(cfg), Err(Error::Config(_))));
    }
    let c = TokenClient::new(ClientConfig::new(
        "tenant.auth0.com",
        "id",
        Credentials::client_secret("s"),
    ))
    .unwrap();
    let r = c.get_token_blocking(&tokenkeeper::TokenRequest::new(" "));
    assert!(matches!(r, Err(Error::Config(_))));
}

// ---- OAuth errors from the server

#[tokio::test(flavor = "multi_thread")]
async fn oauth_errors_carry_error_description_and_status_and_are_not_retried() {
    let i = issuer().await;
    let f = &i.fixture;
    let wrong = TokenClient::new(
        ClientConfig::new(&f.url, &f.client_id, Credentials::client_secret("wrong"))
            .http_options(fast_retries()),
    )
    .unwrap();
    let ungranted = TokenClient::new(
        ClientConfig::new(
            &f.url,
            &f.ungranted_client_id,
            Credentials::client_secret(&f.ungranted_client_secret),
        )
        .http_options(fast_retries()),
    )
    .unwrap();
    let c = client(&i);
    let cases = [
        (
            wrong.get_token(&api()).await,
            401,
            "access_denied",
            "Unauthorized",
        ),
        (
            c.get_token(&tokenkeeper::TokenRequest::new("https://nope.example.com"))
                .await,
            403,
            "access_denied",
            "Service not found",
        ),
        (
            ungranted.get_token(&api()).await,
            403,
            "access_denied",
            "client-grant",
        ),
        (
            c.get_token(&api().scope("admin:all")).await,
            403,
            "access_denied",
            "not been granted scopes: admin:all",
        ),
        (
            c.get_token(&api().organization("nope")).await,
            400,
            "invalid_request",
            "Organization",
        ),
    ];
    let n = cases.len() as u64;
    for (r, st, err, desc) in cases {
        match r {
            Err(Error::OAuth {
                error,
                description,
                status,
            }) => {
                assert_eq!((status, error.as_str()), (st, err));
                assert!(description.unwrap().contains(desc));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(i.count("token"), n, "4xx are never retried");
    let e = wrong.get_token(&api()).await.unwrap_err();
    assert_eq!(e.kind(), "oauth");
    assert!(!e.is_transient());
}

// ---- rate limits and retries

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_beyond_the_cap_returns_at_once_with_retry_after() {
    let i = issuer().await;
    i.inject(Fault::rate_limited(120));
    let t0 = Instant::now();
    match client(&i).get_token(&api()).await {
        Err(Error::RateLimited {
            retry_after,
            description,
        }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(120)));
            assert_eq!(
                description.as_deref(),
                Some("Global limit has been reached")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(i.count("token"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured() {
    let i = issuer().await;
    i.inject(Fault::rate_limited(1));
    let t0 = Instant::now();
    client(&i).get_token(&api()).await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(950));
    assert_eq!(i.count("token"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn x_ratelimit_reset_gives_the_retry_time() {
    let i = issuer().await;
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 100;
    let mut f = Fault::status(429, "too_many_requests", "slow down");
    f.headers = vec![("x-ratelimit-reset".into(), reset.to_string())];
    i.inject(f);
    match client(&i).get_token(&api()).await {
        Err(Error::RateLimited {
            retry_after: Some(d),
            ..
        }) => assert!((95..=100).contains(&d.as_secs()), "{d:?}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_then_succeed() {
    let i = issuer().await;
    i.inject(Fault::status(503, "temporarily_unavailable", "busy").times(2));
    client(&i).get_token(&api()).await.unwrap();
    assert_eq!(i.count("token"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_after_the_last_attempt_are_returned() {
    let i = issuer().await;
    i.inject(Fault::status(500, "server_error", "boom").times(3));
    i.inject(Fault::raw(502, "<html>bad gateway</html>").times(3));
    let c = client(&i);
    match c.get_token(&api()).await {
        Err(Error::OAuth {
            status: 500, error, ..
        }) => assert_eq!(error, "server_error"),
        other => panic!("{other:?}"),
    }
    match c.get_token(&api()).await {
        Err(
            e @ Error::InvalidResponse {
                status: Some(502), ..
            },
        ) => assert!(e.is_transient()),
        other => panic!("{other:?}"),
    }
    assert_eq!(i.count("token"), 6);
}

// ---- network and timeouts

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_is_a_network_error() {
    let c = TokenClient::new(
        ClientConfig::new("http://127.0.0.1:1", "id", Credentials::client_secret("s"))
            .http_options(fast_retries()),
    )
    .unwrap();
    match c.get_token(&api()).await {
        Err(Error::Network(m)) => assert!(!m.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.stats().errors, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_connection_is_retried_then_a_network_error() {
    let i = issuer().await;
    i.inject(Fault::drop_connection());
    client(&i).get_token(&api()).await.unwrap();
    assert_eq!(i.count("token"), 2);
    i.inject(Fault::drop_connection().times(3));
    let r = client(&i).get_token(&api().scope("read:things")).await;
    assert!(matches!(r, Err(Error::Network(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_server_is_a_timeout() {
    let i = issuer().await;
    i.inject(Fault::delay(2000));
    let t0 = Instant::now();
    let r = short_timeout(&i, 300).get_token(&api()).await;
    assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
    // Well before the server's answer would have come.
    assert!(t0.elapsed() < Duration::from_millis(1900));
}

// ---- invalid responses

#[tokio::test(flavor = "multi_thread")]
async fn invalid_responses_say_what_was_wrong() {
    let i = issuer().await;
    let c = no_retry(&i);
    let cases: Vec<(Fault, &str)> = vec![
        (Fault::raw(200, "{not json"), "not a JSON"),
        (
            Fault::raw(200, r#"{"token_type":"Bearer"}"#),
            "access_token is missing",
        ),
        (
            Fault::raw(200, r#"{"access_token":"","token_type":"Bearer"}"#),
            "empty",
        ),
        (
            Fault::raw(200, r#"{"access_token":5,"token_type":"Bearer"}"#),
            "not a string",
        ),
        (
            Fault::raw(200, r#"{"access_token":"abc"}"#),
            "token_type is missing",
        ),
        (
            Fault::raw(200, r#"{"access_token":"abc","token_type":"mac"}"#),
            "not Bearer",
        ),
        (
            Fault::raw(
                200,
                r#"{"access_token":"abc","token_type":"Bearer","expires_in":-5}"#,
            ),
            "expires_in",
        ),
        (
            Fault::raw(
                200,
                r#"{"access_token":"abc","token_type":"Bearer","expires_in":1e12}"#,
            ),
            "expires_in",
        ),
        (
            Fault::raw(200, r#"{"access_token":"a\nb","token_type":"Bearer"}"#),
            "not allowed in a header",
        ),
        (Fault::oversized(100_000), "larger than"),
        (Fault::raw(200, "[]"), "not a JSON"),
    ];
    for (fault, want) in cases {
        i.inject(fault);
        match c.get_token(&api()).await {
            Err(Error::InvalidResponse { detail, .. }) => {
                assert!(detail.contains(want), "{detail:?} lacks {want:?}")
            }
            other => panic!("{want}: {other:?}"),
        }
    }
    // A lowercase bearer and a string expires_in are fine; no expires_in means a day.
    i.inject(Fault::raw(
        200,
        r#"{"access_token":"abc","token_type":"bearer","expires_in":"60"}"#,
    ));
    assert_eq!(c.get_token(&api()).await.unwrap().expires_in(), 60);
    c.invalidate(&api());
    i.inject(Fault::raw(
        200,
        r#"{"access_token":"abc","token_type":"Bearer"}"#,
    ));
    assert_eq!(c.get_token(&api()).await.unwrap().expires_in(), 86_400);
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_not_followed() {
    let i = issuer().await;
    i.inject(Fault::raw(302, "").header("location", &format!("{}/oauth/token", i.url())));
    let r = no_retry(&i).get_token(&api()).await;
    assert!(
        matches!(&r, Err(Error::InvalidResponse { status: Some(302), detail }) if detail.contains("redirect")),
        "{r:?}"
    );
    assert_eq!(i.count("token"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_request_bodies_are_accepted_by_the_issuer() {
    // The issuer takes JSON as Auth0 does; checked directly with a bare POST.
    let i = issuer().await;
    let f = &i.fixture;
    let body = serde_json::json!({
        "grant_type": "client_credentials", "client_id": f.client_id,
        "client_secret": f.client_secret, "audience": API,
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/token", f.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 86_400);
}

/// The tests that set process-wide variables, one at a time.
static ENV: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
async fn configuration_from_the_environment() {
    let _env = ENV.lock().await;
    let i = issuer().await;
    let f = &i.fixture;
    std::env::set_var("AUTH0_DOMAIN", &f.url);
    std::env::set_var("AUTH0_CLIENT_ID", &f.client_id);
    std::env::set_var("AUTH0_CLIENT_SECRET", &f.client_secret);
    std::env::set_var("AUTH0_AUDIENCE", API);
    let c = TokenClient::new(ClientConfig::from_env().unwrap()).unwrap();
    let req = c.default_request().unwrap();
    assert_eq!(req.audience_str(), API);
    assert!(c.get_token(&req).await.is_ok());
    // TOKENKEEPER_CA_FILE is the ca_file knob, read when the client is built; empty is unset.
    std::env::set_var("TOKENKEEPER_CA_FILE", "/nonexistent/tokenkeeper-ca.pem");
    let config = ClientConfig::from_env().unwrap();
    assert_eq!(
        config.http().ca_file.as_deref(),
        Some("/nonexistent/tokenkeeper-ca.pem")
    );
    match TokenClient::new(config) {
        Err(Error::Config(m)) => assert!(
            m.contains("ca_file \"/nonexistent/tokenkeeper-ca.pem\""),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    std::env::set_var("TOKENKEEPER_CA_FILE", "");
    assert_eq!(ClientConfig::from_env().unwrap().http().ca_file, None);
    std::env::remove_var("TOKENKEEPER_CA_FILE");
    std::env::remove_var("AUTH0_CLIENT_SECRET");
    match ClientConfig::from_env() {
        Err(Error::Config(m)) => assert!(m.contains("AUTH0_CLIENT_SECRET")),
        other => panic!("{other:?}"),
    }
    let no_default = client(&i);
    assert!(matches!(
        no_default.default_request(),
        Err(Error::Config(_))
    ));
}

/// Scenario V1 (every surface): the credential from the environment may be a secret file or a
/// private key file, exactly one; a file that cannot be read is named, never shown.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_from_files_named_by_the_environment() {
    let _env = ENV.lock().await;
    let i = issuer().await;
    let f = &i.fixture;
    let dir = std::env::temp_dir().join(format!("tk-env-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (secret, key) = (dir.join("secret"), dir.join("key.pem"));
    std::fs::write(&secret, format!("{}\n", f.client_secret)).unwrap();
    std::fs::write(&key, &f.jwt_rsa_private_key).unwrap();
    let set = |vars: &[(&str, Option<&str>)]| {
        for (k, v) in vars {
            match v {
                Some(v) => std::env::set_var(k, v),
                None => std::env::remove_var(k),
            }
        }
    };
    let (secret, key) = (secret.to_str().unwrap(), key.to_str().unwrap());
    set(&[
        ("AUTH0_DOMAIN", Some(&f.url)),
        ("AUTH0_CLIENT_ID", Some(&f.client_id)),
        ("AUTH0_CLIENT_SECRET", None),
        ("AUTH0_CLIENT_SECRET_FILE", Some(secret)),
        ("AUTH0_PRIVATE_KEY_FILE", None),
        ("AUTH0_AUDIENCE", Some(API)),
    ]);
    let c = TokenClient::new(ClientConfig::from_env().unwrap()).unwrap();
    c.get_token(&c.default_request().unwrap())
        .await
        .expect("the secret from its file");
    set(&[
        ("AUTH0_CLIENT_ID", Some(&f.jwt_client_id)),
        ("AUTH0_CLIENT_SECRET_FILE", None),
        ("AUTH0_PRIVATE_KEY_FILE", Some(key)),
    ]);
    let c = TokenClient::new(ClientConfig::from_env().unwrap()).unwrap();
    assert_eq!(c.auth_method(), tokenkeeper::AuthMethod::PrivateKeyJwt);
    c.get_token(&c.default_request().unwrap())
        .await
        .expect("private_key_jwt from the key file");
    // Two credentials, or a file that cannot be read: Config, naming what to fix.
    set(&[("AUTH0_CLIENT_SECRET", Some("also-a-secret"))]);
    match ClientConfig::from_env() {
        Err(Error::Config(m)) => assert!(
            m.contains("AUTH0_PRIVATE_KEY_FILE") && !m.contains("also-a-secret"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    set(&[
        ("AUTH0_CLIENT_SECRET", None),
        ("AUTH0_PRIVATE_KEY_FILE", Some("/nonexistent/tk-key.pem")),
    ]);
    match ClientConfig::from_env() {
        Err(Error::Config(m)) => assert!(
            m.contains("AUTH0_PRIVATE_KEY_FILE \"/nonexistent/tk-key.pem\""),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    set(&[
        ("AUTH0_PRIVATE_KEY_FILE", None),
        ("AUTH0_DOMAIN", None),
        ("AUTH0_CLIENT_ID", None),
        ("AUTH0_AUDIENCE", None),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
}
