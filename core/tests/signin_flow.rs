//! Authorization code + PKCE against the local issuer's test-mode `/authorize`, the code
//! exchange (public and confidential clients), ID-token checks, refresh with rotation and
//! reuse detection, and `/userinfo` — all over real HTTP.

mod verify_support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use tokenkeeper::{
    AuthMethod, AuthorizeParams, ClientConfig, Credentials, Error, SignInClient, SignInConfig,
    TokenCheck, TokenClient, TokenRequest, TokenVerifier, VerifierConfig,
};
use verify_support::*;

fn api_login() -> AuthorizeParams {
    AuthorizeParams {
        audience: Some(API.into()),
        scope: Some("openid profile email read:things write:things".into()),
        ..AuthorizeParams::default()
    }
}

#[tokio::test]
async fn the_authorize_url_carries_every_parameter() {
    let i = issuer().await;
    let client = public_client(&i);
    let params = AuthorizeParams {
        audience: Some(API.into()),
        scope: Some("read:things profile read:things".into()),
        organization: Some("acme".into()),
        max_age: Some(300),
        redirect_uri: None,
        extra: vec![
            ("prompt".into(), "login".into()),
            ("login_hint".into(), "alice@example.com".into()),
        ],
    };
    let tx = client.authorize(&params).unwrap();
    let url = url::Url::parse(&tx.url).unwrap();
    assert_eq!(
        url.as_str().split('?').next().unwrap(),
        format!("{}/authorize", i.fixture.url)
    );
    let q = |k: &str| query_param(&tx.url, k);
    assert_eq!(q("response_type").as_deref(), Some("code"));
    assert_eq!(
        q("client_id").as_deref(),
        Some(i.fixture.public_client_id.as_str())
    );
    assert_eq!(
        q("redirect_uri").as_deref(),
        Some(i.fixture.redirect_uri.as_str())
    );
    assert_eq!(
        q("scope").as_deref(),
        Some("openid read:things profile offline_access")
    );
    assert_eq!(q("audience").as_deref(), Some(API));
    assert_eq!(q("organization").as_deref(), Some("acme"));
    assert_eq!(q("max_age").as_deref(), Some("300"));
    assert_eq!(q("prompt").as_deref(), Some("login"));
    assert_eq!(q("login_hint").as_deref(), Some("alice@example.com"));
    assert_eq!(q("state"), Some(tx.state.clone()));
    assert_eq!(q("nonce"), Some(tx.nonce.clone()));
    assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(tx.code_verifier.as_bytes()));
    assert_eq!(q("code_challenge"), Some(challenge));
    assert!(tx.code_verifier.len() >= 43 && tx.state.len() >= 43 && tx.nonce.len() >= 43);
    // The verifier never shows in Debug.
    assert!(!format!("{tx:?}").contains(&tx.code_verifier));
    // It can be saved while the browser is open.
    assert_eq!(
        tokenkeeper::LoginTransaction::from_json(&tx.to_json()).unwrap(),
        tx
    );
    assert!(tokenkeeper::LoginTransaction::from_json("{}").is_err());
    // Every transaction is new.
    let tx2 = client.authorize(&params).unwrap();
    assert_ne!(tx.state, tx2.state);
    assert_ne!(tx.code_verifier, tx2.code_verifier);
    // Extra parameters cannot override the ones we set.
    for reserved in [
        "state",
        "nonce",
        "code_challenge",
        "redirect_uri",
        "scope",
        "client_id",
    ] {
        let p = AuthorizeParams {
            extra: vec![(reserved.into(), "x".into())],
            ..AuthorizeParams::default()
        };
        assert!(
            matches!(client.authorize(&p), Err(Error::Config(_))),
            "{reserved}"
        );
    }
    // No offline_access when refresh tokens are not wanted.
    let mut c = public_config(&i);
    c.offline_access = false;
    let tx = SignInClient::new(c)
        .unwrap()
        .authorize(&AuthorizeParams::default())
        .unwrap();
    assert_eq!(
        query_param(&tx.url, "scope").as_deref(),
        Some("openid profile email")
    );
    assert_eq!(query_param(&tx.url, "audience"), None);
}

#[tokio::test]
async fn public_client_code_flow_with_an_api_audience() {
    let i = issuer().await;
    let f = &i.fixture;
    let client = public_client(&i);
    let tx = client.authorize(&api_login()).unwrap();
    let callback = browse(&tx).await;
    assert!(callback.starts_with(&f.redirect_uri), "{callback}");
    assert_eq!(query_param(&callback, "state"), Some(tx.state.clone()));
    let creds = client.handle_callback(&tx, &callback).await.unwrap();
    assert_eq!(creds.token_type, "Bearer");
    assert!(creds.refresh_token.is_some());
    assert!(creds.remaining().as_secs() > 86_000);
    assert!(creds.has_scope("openid read:things write:things offline_access"));
    // The ID token was verified; its claims are the user's.
    let id = creds.id_token_claims().unwrap();
    assert_eq!(id.sub(), Some(f.user.sub.as_str()));
    assert_eq!(id.get_str("email"), Some(f.user.email.as_str()));
    assert_eq!(id.nonce(), Some(tx.nonce.as_str()));
    assert_eq!(id.aud(), vec![f.public_client_id.as_str()]);
    // openid + an API: the access token's aud is an array, and it verifies for both.
    let v = verifier(&i);
    let at = v.verify(&creds.access_token).await.unwrap();
    assert_eq!(at.aud(), vec![API.to_string(), i.userinfo_audience()]);
    assert_eq!(at.sub(), Some(f.user.sub.as_str()));
    assert_eq!(at.azp(), Some(f.public_client_id.as_str()));
    let mut c = verifier_config(&i, &i.userinfo_audience());
    c.authorized_party = Some(f.public_client_id.clone());
    TokenVerifier::new(c)
        .unwrap()
        .verify(&creds.access_token)
        .await
        .unwrap();
    // …and it works at /userinfo.
    let me = client.userinfo(&creds.access_token).await.unwrap();
    assert_eq!(me.sub(), Some(f.user.sub.as_str()));
    assert_eq!(me.get_str("email"), Some(f.user.email.as_str()));
    assert_eq!(me.get_str("name"), Some(f.user.name.as_str()));
    assert_eq!(i.count("authorize"), 1);
    assert_eq!(i.count("userinfo"), 1);
    assert_eq!(i.count("auth:none"), 1);
    // Debug shows no token.
    let dbg = format!("{creds:?}");
    assert!(
        !dbg.contains(&creds.access_token)
            && !dbg.contains(creds.refresh_token.as_deref().unwrap())
    );
    // The JSON form round-trips.
    let back = tokenkeeper::UserCredentials::from_json(&creds.to_json()).unwrap();
    assert_eq!(back, creds);
}

#[tokio::test]
async fn without_an_audience_the_access_token_is_opaque_and_good_for_userinfo() {
    let i = issuer().await;
    let mut c = public_config(&i);
    c.scope = "openid email".into();
    c.offline_access = false;
    let client = SignInClient::new(c).unwrap();
    let tx = client.authorize(&AuthorizeParams::default()).unwrap();
    let creds = client
        .handle_callback(&tx, &browse(&tx).await)
        .await
        .unwrap();
    assert_eq!(creds.access_token.split('.').count(), 1, "opaque");
    assert!(creds.refresh_token.is_none());
    let me = client.userinfo(&creds.access_token).await.unwrap();
    assert_eq!(me.get_str("email"), Some(i.fixture.user.email.as_str()));
    assert_eq!(me.get("name"), None, "no profile scope");
    // A bad token at /userinfo.
    match client.userinfo("not-a-token").await {
        Err(Error::OAuth { error, status, .. }) => {
            assert_eq!((error.as_str(), status), ("invalid_token", 401))
        }
        other => panic!("{other:?}"),
    }
    // An access token for the API only (no openid in it) is refused by /userinfo.
    let m2m = tokenkeeper::TokenClient::new(tokenkeeper::ClientConfig::new(
        &i.fixture.url,
        &i.fixture.client_id,
        Credentials::client_secret(&i.fixture.client_secret),
    ))
    .unwrap();
    let tok = m2m
        .get_token(&tokenkeeper::TokenRequest::new(API))
        .await
        .unwrap();
    assert!(matches!(
        client.userinfo(tok.access_token()).await,
        Err(Error::OAuth { status: 401, .. })
    ));
    // A 5xx is retried.
    i.inject(Fault::status(503, "temporarily_unavailable", "x").on("userinfo"));
    client.userinfo(&creds.access_token).await.unwrap();
    // Garbage answers are invalid responses.
    i.inject(Fault::raw(200, "[1]").on("userinfo"));
    assert!(matches!(
        client.userinfo(&creds.access_token).await,
        Err(Error::InvalidResponse { .. })
    ));
    i.inject(Fault::oversized(200_000).on("userinfo"));
    assert!(matches!(
        client.userinfo(&creds.access_token).await,
        Err(Error::InvalidResponse { .. })
    ));
    assert!(matches!(
        client.userinfo("bad token with spaces").await,
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn confidential_clients_authenticate_at_the_code_exchange() {
    let i = issuer().await;
    let f = &i.fixture;
    for method in [AuthMethod::ClientSecretPost, AuthMethod::ClientSecretBasic] {
        let mut c = public_config(&i);
        c.client_id = f.web_client_id.clone();
        c.credentials = Some(Credentials::client_secret(&f.web_client_secret));
        c.auth_method = Some(method);
        let client = SignInClient::new(c).unwrap();
        let tx = client.authorize(&api_login()).unwrap();
        let creds = client
            .handle_callback(&tx, &browse(&tx).await)
            .await
            .unwrap();
        let rt = creds.refresh_token.clone().unwrap();
        // This app does not rotate refresh tokens: a refresh returns none, the old one stays good.
        let renewed = client.refresh(&rt, None).await.unwrap();
        assert!(renewed.refresh_token.is_none());
        client.refresh(&rt, None).await.unwrap();
        assert_ne!(renewed.access_token, creds.access_token);
    }
    assert_eq!(i.count("auth:client_secret_post"), 3);
    assert_eq!(i.count("auth:client_secret_basic"), 3);
    // A wrong secret.
    let mut c = public_config(&i);
    c.client_id = f.web_client_id.clone();
    c.credentials = Some(Credentials::client_secret("wrong"));
    let client = SignInClient::new(c).unwrap();
    let tx = client.authorize(&api_login()).unwrap();
    match client.handle_callback(&tx, &browse(&tx).await).await {
        Err(Error::OAuth { status: 401, .. }) => {}
        other => panic!("{other:?}"),
    }
    // The confidential app without its secret.
    let mut c = public_config(&i);
    c.client_id = f.web_client_id.clone();
    let client = SignInClient::new(c).unwrap();
    let tx = client.authorize(&api_login()).unwrap();
    assert!(matches!(
        client.handle_callback(&tx, &browse(&tx).await).await,
        Err(Error::OAuth { status: 401, .. })
    ));
}

#[tokio::test]
async fn organizations_reach_the_tokens() {
    let i = issuer().await;
    let f = &i.fixture;
    let client = public_client(&i);
    for org in ["acme", "org_4dK8wZqX2mN7pL1s"] {
        let tx = client
            .authorize(&AuthorizeParams {
                organization: Some(org.into()),
                ..api_login()
            })
            .unwrap();
        let creds = client
            .handle_callback(&tx, &browse(&tx).await)
            .await
            .unwrap();
        let id = creds.id_token_claims().unwrap();
        assert_eq!(id.org_id(), Some(f.organizations[0].id.as_str()));
        let mut c = verifier_config(&i, API);
        // Names compare case-insensitively, ids exactly.
        c.organization = Some(if org == "acme" {
            "ACME".into()
        } else {
            org.into()
        });
        TokenVerifier::new(c)
            .unwrap()
            .verify(&creds.access_token)
            .await
            .unwrap();
    }
    // A user outside the organization is refused by /authorize.
    let tx = client
        .authorize(&AuthorizeParams {
            organization: Some("acme".into()),
            extra: vec![("login_hint".into(), f.other_user.email.clone())],
            ..api_login()
        })
        .unwrap();
    match client.handle_callback(&tx, &browse(&tx).await).await {
        Err(Error::OAuth { error, .. }) => assert_eq!(error, "access_denied"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn callback_and_exchange_failures() {
    let i = issuer().await;
    let client = public_client(&i);
    // state mismatch (a forged callback)
    let tx = client.authorize(&api_login()).unwrap();
    let callback = browse(&tx).await;
    let other = client.authorize(&api_login()).unwrap();
    assert!(matches!(
        client.handle_callback(&other, &callback).await,
        Err(Error::InvalidResponse { .. })
    ));
    // The genuine transaction still works once; the code is single use.
    client.handle_callback(&tx, &callback).await.unwrap();
    match client.handle_callback(&tx, &callback).await {
        Err(Error::OAuth { error, status, .. }) => {
            assert_eq!((error.as_str(), status), ("invalid_grant", 403))
        }
        other => panic!("{other:?}"),
    }
    // An error from /authorize (unknown audience) comes back as an OAuth error.
    let tx = client
        .authorize(&AuthorizeParams {
            audience: Some("https://nope.example.com".into()),
            ..api_login()
        })
        .unwrap();
    match client.handle_callback(&tx, &browse(&tx).await).await {
        Err(Error::OAuth {
            error, description, ..
        }) => {
            assert_eq!(error, "access_denied");
            assert!(description.unwrap().contains("Service not found"));
        }
        other => panic!("{other:?}"),
    }
    // PKCE: a wrong verifier.
    let mut tx = client.authorize(&api_login()).unwrap();
    let callback = browse(&tx).await;
    tx.code_verifier = "x".repeat(43);
    match client.handle_callback(&tx, &callback).await {
        Err(Error::OAuth {
            error, description, ..
        }) => {
            assert_eq!(error, "invalid_grant");
            assert!(description.unwrap().contains("code verifier"));
        }
        other => panic!("{other:?}"),
    }
    // redirect_uri must match the one sent to /authorize.
    let mut tx = client.authorize(&api_login()).unwrap();
    let callback = browse(&tx).await;
    tx.redirect_uri = i.fixture.native_redirect_uri.clone();
    assert!(matches!(
        client.handle_callback(&tx, &callback).await,
        Err(Error::OAuth { status: 403, .. })
    ));
    // A nonce that is not the one in the ID token.
    let mut tx = client.authorize(&api_login()).unwrap();
    let callback = browse(&tx).await;
    tx.nonce = "another-nonce".into();
    assert_eq!(
        check_of(client.handle_callback(&tx, &callback).await),
        TokenCheck::Nonce
    );
    // Callback URLs without a code, or not URLs at all.
    let tx = client.authorize(&api_login()).unwrap();
    let no_code = format!("{}?state={}", i.fixture.redirect_uri, tx.state);
    assert!(matches!(
        client.handle_callback(&tx, &no_code).await,
        Err(Error::InvalidResponse { .. })
    ));
    assert!(matches!(
        client.handle_callback(&tx, "::").await,
        Err(Error::InvalidResponse { .. })
    ));
    // An app whose accepted issuer is another domain rejects the ID token.
    let mut c = public_config(&i);
    c.issuers = vec!["https://login.example.com/".into()];
    let strict = SignInClient::new(c).unwrap();
    let tx = strict.authorize(&api_login()).unwrap();
    assert_eq!(
        check_of(strict.handle_callback(&tx, &browse(&tx).await).await),
        TokenCheck::Issuer
    );
    // The native callback is allowed too.
    let tx = client
        .authorize(&AuthorizeParams {
            redirect_uri: Some(i.fixture.native_redirect_uri.clone()),
            ..api_login()
        })
        .unwrap();
    let cb = browse(&tx).await;
    assert!(
        cb.starts_with("com.example.tokenkeeper://callback?code="),
        "{cb}"
    );
    client.handle_callback(&tx, &cb).await.unwrap();
}

#[tokio::test]
async fn max_age_is_checked_against_auth_time() {
    let i = issuer().await;
    let client = public_client(&i);
    let tx = client
        .authorize(&AuthorizeParams {
            max_age: Some(0),
            ..api_login()
        })
        .unwrap();
    // auth_time is now: within max_age 0 plus the leeway.
    let creds = client
        .handle_callback(&tx, &browse(&tx).await)
        .await
        .unwrap();
    let id = creds.id_token_claims().unwrap();
    assert!(id.auth_time().unwrap() + 5 >= now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let i = issuer().await;
    let client = public_client(&i);
    let tx = client.authorize(&api_login()).unwrap();
    let creds = client
        .handle_callback(&tx, &browse(&tx).await)
        .await
        .unwrap();
    let rt1 = creds.refresh_token.clone().unwrap();
    let r2 = client.refresh(&rt1, None).await.unwrap();
    let rt2 = r2.refresh_token.clone().expect("a rotated refresh token");
    assert_ne!(rt1, rt2);
    assert!(r2.id_token.is_some(), "a new ID token, verified");
    verifier(&i).verify(&r2.access_token).await.unwrap();
    // A narrower scope.
    let r3 = client
        .refresh(&rt2, Some("openid read:things"))
        .await
        .unwrap();
    assert_eq!(r3.scope.as_deref(), Some("openid read:things"));
    let rt3 = r3.refresh_token.clone().unwrap();
    // A scope that was never granted.
    assert!(matches!(
        client.refresh(&rt3, Some("delete:things")).await,
        Err(Error::OAuth { status: 403, .. })
    ));
    // Reuse of a rotated-out token: re-authentication, and the whole family is revoked.
    match client.refresh(&rt1, None).await {
        Err(Error::ReauthenticationRequired { error, description }) => {
            assert_eq!(error, "invalid_grant");
            assert_eq!(
                description.as_deref(),
                Some("Unknown or invalid refresh token.")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(i.count("refresh_reuse"), 1);
    assert!(matches!(
        client.refresh(&rt3, None).await,
        Err(Error::ReauthenticationRequired { .. })
    ));
    assert!(matches!(
        client.refresh("v1.unknown", None).await,
        Err(Error::ReauthenticationRequired { .. })
    ));
    // Blocking facade, from a plain thread.
    let c2 = client.clone();
    let r = std::thread::spawn(move || c2.refresh_blocking("v1.unknown", None))
        .join()
        .unwrap();
    assert!(matches!(r, Err(Error::ReauthenticationRequired { .. })));
}

#[test]
fn the_whole_flow_through_the_blocking_facade() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let client = public_client(&i);
    let tx = client.authorize(&api_login()).unwrap();
    let callback = rt.block_on(browse(&tx));
    let creds = client.handle_callback_blocking(&tx, &callback).unwrap();
    let me = client.userinfo_blocking(&creds.access_token).unwrap();
    assert_eq!(me.sub(), Some(i.fixture.user.sub.as_str()));
    let renewed = client
        .refresh_blocking(creds.refresh_token.as_deref().unwrap(), None)
        .unwrap();
    assert!(renewed.refresh_token.is_some());
    // exchange_code_blocking with a code taken from the callback.
    let tx = client.authorize(&api_login()).unwrap();
    let code = client
        .callback_code(&tx, &rt.block_on(browse(&tx)))
        .unwrap();
    client.exchange_code_blocking(&tx, &code).unwrap();
}

#[tokio::test]
async fn bad_sign_in_configurations_are_config_errors() {
    let i = issuer().await;
    let is_config = |c| matches!(SignInClient::new(c), Err(Error::Config(_)));
    let mut c = public_config(&i);
    c.client_id = "".into();
    assert!(is_config(c));
    let mut c = public_config(&i);
    c.redirect_uri = "/callback".into();
    assert!(is_config(c));
    let mut c = public_config(&i);
    c.redirect_uri = "http://example.com/callback".into();
    assert!(is_config(c));
    let mut c = public_config(&i);
    c.auth_method = Some(AuthMethod::ClientSecretBasic);
    assert!(is_config(c), "an auth method without credentials");
    let mut c = public_config(&i);
    c.credentials = Some(Credentials::client_secret(""));
    assert!(is_config(c));
    let mut c = public_config(&i);
    c.credentials = Some(Credentials::private_key_jwt(
        "not a pem",
        tokenkeeper::SigningAlg::RS256,
    ));
    assert!(is_config(c));
    let mut c = public_config(&i);
    c.domain = "http://example.com".into();
    assert!(is_config(c));
    // Custom-scheme and https redirect URIs are fine.
    let mut c = public_config(&i);
    c.redirect_uri = "com.example.app://callback".into();
    SignInClient::new(c).unwrap();
    let dbg = format!(
        "{:?}",
        SignInClient::new(
            public_config(&i).with_credentials(Credentials::client_secret("s3cr3t-value"))
        )
        .unwrap()
    );
    assert!(!dbg.contains("s3cr3t-value"));
}

/// Scenario V2 (every surface): a verifier and a sign-in app come from the environment too;
/// with no credential variable the app is public, with `AUTH0_CLIENT_SECRET_FILE` it is the
/// confidential app and signs in with that secret; a missing variable is `Config` naming it.
#[tokio::test(flavor = "multi_thread")]
async fn verifier_and_signin_configs_from_the_environment() {
    let i = issuer().await;
    let f = &i.fixture;
    let dir = std::env::temp_dir().join(format!("tk-env-v2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("secret");
    std::fs::write(&secret, format!("{}\n", f.web_client_secret)).unwrap();
    std::env::set_var("AUTH0_DOMAIN", &f.url);
    std::env::set_var("AUTH0_AUDIENCE", API);
    let cc = ClientConfig::new(
        &f.url,
        &f.client_id,
        Credentials::client_secret(&f.client_secret),
    );
    let token = TokenClient::new(cc)
        .unwrap()
        .get_token(&TokenRequest::new(API))
        .await
        .unwrap();
    let verifier = TokenVerifier::new(VerifierConfig::from_env().unwrap()).unwrap();
    assert_eq!(
        verifier.verify(token.access_token()).await.unwrap().aud(),
        vec![API]
    );

    std::env::set_var("AUTH0_CLIENT_ID", &f.public_client_id);
    match SignInConfig::from_env() {
        Err(Error::Config(m)) => assert!(m.contains("AUTH0_REDIRECT_URI"), "{m}"),
        other => panic!("{other:?}"),
    }
    std::env::set_var("AUTH0_REDIRECT_URI", &f.redirect_uri);
    std::env::set_var("AUTH0_SCOPE", "openid email read:things");
    let public = SignInConfig::from_env().unwrap();
    assert!(public.credentials.is_none());
    let public = SignInClient::new(public).unwrap();
    let tx = public.authorize(&AuthorizeParams::default()).unwrap();
    assert_eq!(tx.scope, "openid email read:things offline_access");
    let creds = public
        .handle_callback(&tx, &browse(&tx).await)
        .await
        .unwrap();
    assert!(creds.has_scope("read:things"));

    std::env::set_var("AUTH0_CLIENT_ID", &f.web_client_id);
    std::env::set_var("AUTH0_CLIENT_SECRET_FILE", &secret);
    // TOKENKEEPER_SHARED_CACHE: the level renewals are shared on, as for a TokenClient.
    let level = format!("file:{}", dir.join("level").display());
    std::env::set_var("TOKENKEEPER_SHARED_CACHE", &level);
    let on_level = SignInConfig::from_env().unwrap();
    let want = tokenkeeper::SharedCache::parse(&level).unwrap();
    assert_eq!(on_level.shared_cache, Some(want));
    std::env::remove_var("TOKENKEEPER_SHARED_CACHE");
    let web = SignInClient::new(SignInConfig::from_env().unwrap()).unwrap();
    let tx = web.authorize(&AuthorizeParams::default()).unwrap();
    web.handle_callback(&tx, &browse(&tx).await).await.unwrap();
    assert_eq!(
        i.count("auth:client_secret_post"),
        2,
        "the M2M token, then this exchange"
    );

    for v in [
        "AUTH0_DOMAIN",
        "AUTH0_AUDIENCE",
        "AUTH0_CLIENT_ID",
        "AUTH0_REDIRECT_URI",
        "AUTH0_SCOPE",
        "AUTH0_CLIENT_SECRET_FILE",
    ] {
        std::env::remove_var(v);
    }
    match VerifierConfig::from_env() {
        Err(Error::Config(m)) => assert!(m.contains("AUTH0_DOMAIN"), "{m}"),
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
