//! Proxies from the environment (L4): `HTTPS_PROXY`/`https_proxy`/`ALL_PROXY` and
//! `NO_PROXY` are honoured for `https://`, and no proxy is ever used for a loopback `http://`
//! URL. The environment is process-wide: one test in its own binary, its scenarios in turn,
//! each changing the environment only while no request is in flight.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use tokenkeeper::{CachePolicy, ClientConfig, Credentials, Error, HttpOptions, TokenClient};
use tokenkeeper_issuer::{ConnectProxy, TlsOptions};

const VARS: [&str; 8] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Exactly these proxy variables set (a client reads them when it is built).
fn proxy_env(vars: &[(&str, &str)]) {
    for v in VARS {
        std::env::remove_var(v);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
}

/// A client of `url` (no process cache: every call is a request), trusting `ca_file`.
fn client(i: &Issuer, url: &str, ca_file: Option<&str>) -> Result<TokenClient, Error> {
    let f = &i.fixture;
    let mut http = HttpOptions::default()
        .no_retries()
        .connect_timeout(Duration::from_secs(3))
        .request_timeout(Duration::from_secs(5));
    if let Some(ca) = ca_file {
        http = http.ca_file(ca);
    }
    let mut cache = CachePolicy::default();
    cache.set("enabled", 0.0).unwrap();
    TokenClient::new(
        ClientConfig::new(
            url,
            &f.client_id,
            Credentials::client_secret(&f.client_secret),
        )
        .http_options(http)
        .cache_policy(cache),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn https_proxy_and_no_proxy_are_honoured_and_loopback_http_is_never_proxied() {
    let tls = Issuer::start_tls(TlsOptions::default()).await.unwrap();
    let plain = issuer().await;
    let port = tls.addr().port();
    let proxy = ConnectProxy::start(HashMap::from([
        (format!("issuer.test:{port}"), tls.addr()),
        (format!("localhost:{port}"), tls.addr()),
    ]))
    .await
    .unwrap();
    let ca = tls.fixture.ca_file.clone().unwrap();
    let unresolvable = format!("https://issuer.test:{port}");
    let p = proxy.url();

    // Each variable that names a proxy for https, alone: the token comes through the tunnel
    // (`issuer.test` resolves nowhere but in the proxy's map).
    for var in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        proxy_env(&[(var, &p)]);
        let before = proxy.connects();
        let c = client(&tls, &unresolvable, Some(&ca)).unwrap();
        c.get_token(&api())
            .await
            .unwrap_or_else(|e| panic!("{var}: {e}"));
        assert_eq!(proxy.connects(), before + 1, "{var}: one CONNECT");
    }
    assert_eq!(tls.count("token"), 4);

    // NO_PROXY: the host is reached directly (localhost), or not at all (issuer.test does
    // not resolve), and never through the proxy.
    let seen = proxy.connections();
    for no in ["NO_PROXY", "no_proxy"] {
        proxy_env(&[("HTTPS_PROXY", &p), (no, "localhost,issuer.test")]);
        let direct = format!("https://localhost:{port}");
        let c = client(&tls, &direct, Some(&ca)).unwrap();
        c.get_token(&api())
            .await
            .unwrap_or_else(|e| panic!("{no}: {e}"));
        let e = client(&tls, &unresolvable, Some(&ca))
            .unwrap()
            .get_token(&api())
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Network(_) | Error::Timeout(_)),
            "{no}: {e}"
        );
    }
    assert_eq!(proxy.connections(), seen, "NO_PROXY hosts bypass the proxy");
    assert_eq!(tls.count("token"), 6);

    // Loopback http: never proxied, whatever the variables say (a secret would go to the
    // proxy in cleartext).
    proxy_env(&[
        ("HTTP_PROXY", &p),
        ("http_proxy", &p),
        ("ALL_PROXY", &p),
        ("all_proxy", &p),
        ("HTTPS_PROXY", &p),
    ]);
    let c = client(&plain, &plain.fixture.url, None).unwrap();
    c.get_token(&api()).await.expect("direct to loopback http");
    assert_eq!(plain.count("token"), 1);
    assert_eq!(proxy.connections(), seen, "the proxy saw nothing");

    // A proxy URL that cannot be used is a config error naming the variable, never its value
    // (it may hold the proxy's password).
    proxy_env(&[("HTTPS_PROXY", "http://user:s3cret@[::bad")]);
    let Err(e) = client(&tls, &unresolvable, Some(&ca)) else {
        panic!("a client with an unusable proxy URL was built");
    };
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("HTTPS_PROXY") && !text.contains("s3cret"),
        "{text}"
    );
    proxy_env(&[]);
}
