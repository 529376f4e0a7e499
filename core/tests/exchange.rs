//! Token exchange through the cache: On-Behalf-Of, Custom Token Exchange and Token Vault
//! against the local issuer; one request per subject while the answer is fresh; never cached
//! past a JWT subject's `exp`.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use tokenkeeper::{token_types, Error, ExchangeRequest, TokenCheck};

const DOWNSTREAM: &str = "https://downstream.example.com";

fn unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn downstream(i: &Issuer) {
    i.add_api(Api {
        audience: DOWNSTREAM.into(),
        scopes: vec!["read:things".into(), "write:things".into()],
        lifetime: 86_400,
    });
}

/// An access token of the fixture user for the main API, as a middle tier receives it.
fn user_token(i: &Issuer, lifetime: u64, extra: serde_json::Value) -> String {
    let mut claims = serde_json::json!({
        "iss": i.fixture.issuer,
        "sub": i.fixture.user.sub,
        "aud": API,
        "iat": unix(),
        "exp": unix() + lifetime,
        "scope": "read:things",
    });
    if let Some(o) = extra.as_object() {
        for (k, v) in o {
            claims[k] = v.clone();
        }
    }
    i.sign(&claims)
}

fn obo(subject: &str) -> ExchangeRequest {
    ExchangeRequest::new(subject, token_types::ACCESS_TOKEN).audience(DOWNSTREAM)
}

#[tokio::test(flavor = "multi_thread")]
async fn on_behalf_of_keeps_the_user_names_the_actor_and_is_cached_per_subject() {
    let i = issuer().await;
    downstream(&i);
    let c = client(&i);
    let alice = user_token(&i, 3_600, serde_json::json!({}));
    let t = c
        .exchange(&obo(&alice).scope("write:things read:things"))
        .await
        .unwrap();
    let cl = claims(t.access_token());
    assert_eq!(cl["sub"], i.fixture.user.sub);
    assert_eq!(cl["aud"], DOWNSTREAM);
    assert_eq!(cl["act"]["sub"], format!("{}@clients", i.fixture.client_id));
    assert_eq!(t.scope(), Some("read:things write:things"));

    // The same subject and scope set (in any order): the cached answer, no request.
    let again = c
        .exchange(&obo(&alice).scope("read:things write:things"))
        .await
        .unwrap();
    assert!(again.ptr_eq(&t));
    assert_eq!(i.count("grant:token_exchange:obo"), 1);
    assert_eq!(c.stats().cache_hits, 1);
    // Another scope set, another subject: their own answers.
    c.exchange(&obo(&alice)).await.unwrap();
    let bob = user_token(&i, 3_600, serde_json::json!({"sub": "auth0|bob"}));
    let b = c.exchange(&obo(&bob)).await.unwrap();
    assert_eq!(claims(b.access_token())["sub"], "auth0|bob");
    assert_eq!(i.count("grant:token_exchange:obo"), 3);
    // A client-credentials token for the same audience is a separate entry.
    let m2m = c
        .get_token(&tokenkeeper::TokenRequest::new(DOWNSTREAM))
        .await
        .unwrap();
    assert!(!m2m.ptr_eq(&t));
    assert_eq!(i.count("tokens_issued"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_concurrent_requests_with_one_subject_send_one_exchange() {
    let i = issuer().await;
    downstream(&i);
    let c = client(&i);
    let subject = user_token(&i, 3_600, serde_json::json!({}));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (c, req) = (c.clone(), obo(&subject));
            tokio::spawn(async move { c.exchange(&req).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().unwrap());
    }
    for (n, t) in tokens.iter().enumerate() {
        assert!(t.ptr_eq(&tokens[0]), "token {n} is another token");
    }
    assert_eq!(i.count("grant:token_exchange:obo"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_answer_is_never_cached_past_the_subjects_exp() {
    let i = issuer().await;
    downstream(&i);
    let c = client(&i);
    let subject = user_token(&i, 30, serde_json::json!({}));
    let exp = UNIX_EPOCH + Duration::from_secs(claims(&subject)["exp"].as_u64().unwrap());
    let t = c.exchange(&obo(&subject)).await.unwrap();
    // The issuer gave a day; the subject has 30 s.
    assert!(t.expires_at() <= exp, "{:?} > {exp:?}", t.expires_at());
    assert!(t.expires_in() <= 30, "{}", t.expires_in());
    assert!(claims(t.access_token())["exp"].as_u64().unwrap() > unix() + 80_000);

    // A subject that has expired is refused before any request.
    let before = i.count("token");
    let old = user_token(&i, 0, serde_json::json!({"exp": unix() - 5}));
    let e = c.exchange(&obo(&old)).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidToken {
                check: TokenCheck::Expired,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(i.count("token"), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_act_chain_nests_the_subjects_own_actor_under_the_new_one() {
    let i = issuer().await;
    downstream(&i);
    let c = client(&i);
    let subject = user_token(&i, 3_600, serde_json::json!({"act": {"sub": "first-hop"}}));
    let agent = user_token(&i, 3_600, serde_json::json!({"sub": "agent|7"}));
    let t = c
        .exchange(&obo(&subject).actor(&agent, token_types::ACCESS_TOKEN))
        .await
        .unwrap();
    let cl = claims(t.access_token());
    assert_eq!(cl["act"]["sub"], "agent|7");
    assert_eq!(cl["act"]["act"]["sub"], "first-hop");
    // The verifier of the downstream API reads the chain, newest actor first.
    let v = tokenkeeper::TokenVerifier::new(tokenkeeper::VerifierConfig::new(
        &i.fixture.url,
        DOWNSTREAM,
    ))
    .unwrap();
    let verified = v.verify(t.access_token()).await.unwrap();
    assert_eq!(verified.actor_chain(), ["agent|7", "first-hop"]);
    // With and without the actor: two answers.
    c.exchange(&obo(&subject)).await.unwrap();
    assert_eq!(i.count("grant:token_exchange:obo"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_token_exchange_uses_the_profile_of_its_type() {
    let i = issuer().await;
    downstream(&i);
    let c = client(&i);
    let f = &i.fixture;
    let cte =
        |t: &str| ExchangeRequest::new(t, &f.exchange_subject_token_type).audience(DOWNSTREAM);
    let t = c.exchange(&cte(&f.exchange_subject_token)).await.unwrap();
    assert_eq!(claims(t.access_token())["sub"], f.user.sub);
    c.exchange(&cte(&f.exchange_subject_token)).await.unwrap();
    assert_eq!(i.count("grant:token_exchange:custom"), 1);

    // A token the profile's check refuses; a type with no profile.
    match c.exchange(&cte("forged")).await.unwrap_err() {
        Error::OAuth { error, status, .. } => {
            assert_eq!((error.as_str(), status), ("invalid_grant", 403))
        }
        e => panic!("{e}"),
    }
    let unknown = ExchangeRequest::new("x", "urn:example:nobody").audience(DOWNSTREAM);
    match c.exchange(&unknown).await.unwrap_err() {
        Error::OAuth { error, .. } => assert_eq!(error, "invalid_request"),
        e => panic!("{e}"),
    }
    // A profile added later (a new Action): its tokens work at once.
    i.add_exchange_profile("urn:example:partner", &[("partner-1", "auth0|partner")]);
    let p = ExchangeRequest::new("partner-1", "urn:example:partner").audience(DOWNSTREAM);
    assert_eq!(
        claims(c.exchange(&p).await.unwrap().access_token())["sub"],
        "auth0|partner"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_vault_gives_the_connections_token_and_caches_it() {
    let i = issuer().await;
    let c = client(&i);
    let subject = user_token(&i, 3_600, serde_json::json!({}));
    let vault = |conn: &str| {
        ExchangeRequest::new(&subject, token_types::ACCESS_TOKEN)
            .connection(conn)
            .login_hint(&i.fixture.user.email)
    };
    let t = c.exchange(&vault("google-oauth2")).await.unwrap();
    assert!(
        t.access_token().starts_with("fca.google-oauth2."),
        "{}",
        t.access_token()
    );
    assert!(c
        .exchange(&vault("google-oauth2"))
        .await
        .unwrap()
        .ptr_eq(&t));
    let gh = c.exchange(&vault("github")).await.unwrap();
    assert!(gh.access_token().starts_with("fca.github."));
    assert_eq!(i.count("grant:token_vault"), 2);

    match c.exchange(&vault("myspace")).await.unwrap_err() {
        Error::OAuth { error, .. } => assert_eq!(error, "invalid_request"),
        e => panic!("{e}"),
    }
    let wrong = ExchangeRequest::new(&subject, token_types::ACCESS_TOKEN)
        .connection("google-oauth2")
        .login_hint("mallory@example.com");
    match c.exchange(&wrong).await.unwrap_err() {
        Error::OAuth { error, .. } => assert_eq!(error, "invalid_grant"),
        e => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_answer_is_forgotten_only_while_it_is_current() {
    let i = issuer().await;
    downstream(&i);
    let c = client(&i);
    let subject = user_token(&i, 3_600, serde_json::json!({}));
    let t = c.exchange(&obo(&subject)).await.unwrap();
    assert!(c.invalidate_exchange_if_current(&obo(&subject), &t));
    let t2 = c.exchange(&obo(&subject)).await.unwrap();
    assert!(!t2.ptr_eq(&t));
    assert!(!c.invalidate_exchange_if_current(&obo(&subject), &t));
    assert!(c.exchange(&obo(&subject)).await.unwrap().ptr_eq(&t2));
    assert_eq!(i.count("grant:token_exchange:obo"), 2);
}

#[test]
fn the_blocking_form_serves_the_same_cache() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    downstream(&i);
    let c = client(&i);
    let subject = user_token(&i, 3_600, serde_json::json!({}));
    let t = c.exchange_blocking(&obo(&subject)).unwrap();
    assert!(c.exchange_blocking(&obo(&subject)).unwrap().ptr_eq(&t));
    assert_eq!(i.count("grant:token_exchange:obo"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_blocking_threads_get_one_token() {
    let i = issuer().await;
    downstream(&i);
    let c = client(&i);
    let subject = user_token(&i, 3_600, serde_json::json!({}));
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (c, req, b) = (c.clone(), obo(&subject), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                c.exchange_blocking(&req)
            })
        })
        .collect();
    let tokens: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    for (n, t) in tokens.iter().enumerate() {
        assert!(t.ptr_eq(&tokens[0]), "token {n} is another token");
    }
    assert_eq!(i.count("grant:token_exchange:obo"), 1);
}
