//! The local issuer's sign-in and key endpoints as a foreign test drives them: plain HTTP,
//! no tokenkeeper client. `/authorize` errors, the `/callback` landing page, `/userinfo`
//! challenges, and the admin endpoints for keys, signing and revocation.

mod verify_support;

use serde_json::{json, Value};
use tokenkeeper::{TokenCheck, TokenVerifier};
use verify_support::*;

fn http(follow: bool) -> reqwest::Client {
    bare_http(follow)
}

fn authorize_url(i: &Issuer, pairs: &[(&str, &str)]) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{}/authorize?{q}", i.fixture.url)
}

#[tokio::test]
async fn authorize_redirects_or_explains() {
    let i = issuer().await;
    let f = &i.fixture;
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let good = [
        ("response_type", "code"),
        ("client_id", f.public_client_id.as_str()),
        ("redirect_uri", f.redirect_uri.as_str()),
        ("scope", "openid"),
        ("state", "s1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    // A client that follows redirects lands on the issuer's /callback page with the code.
    let resp = http(true)
        .get(authorize_url(&i, &good))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let landed = resp.url().to_string();
    assert!(landed.starts_with(&f.redirect_uri), "{landed}");
    assert!(query_param(&landed, "code").is_some());
    assert_eq!(query_param(&landed, "state").as_deref(), Some("s1"));
    assert_eq!(i.count("callback"), 1);

    // Errors that cannot go back to the app: a page, no redirect.
    for (k, v) in [
        ("client_id", "nobody"),
        ("redirect_uri", "https://evil.example.com/cb"),
    ] {
        let mut p = good.to_vec();
        p.retain(|(x, _)| *x != k);
        p.push((k, v));
        let resp = http(false).get(authorize_url(&i, &p)).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{k}");
    }
    // Errors that go back to the app as error/error_description with the state.
    let cases: [(&str, Option<&str>, &str); 5] = [
        ("response_type", Some("token"), "unsupported_response_type"),
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge", None, "invalid_request"),
        ("organization", Some("globex"), "invalid_request"),
        (
            "audience",
            Some("https://nope.example.com"),
            "access_denied",
        ),
    ];
    for (k, v, error) in cases {
        let mut p = good.to_vec();
        p.retain(|(x, _)| *x != k && !(k == "code_challenge" && *x == "code_challenge_method"));
        if let Some(v) = v {
            p.push((k, v));
        }
        let resp = http(false).get(authorize_url(&i, &p)).send().await.unwrap();
        assert_eq!(resp.status(), 302, "{k}");
        let loc = resp.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(
            query_param(&loc, "error").as_deref(),
            Some(error),
            "{k}: {loc}"
        );
        assert_eq!(query_param(&loc, "state").as_deref(), Some("s1"));
        assert!(query_param(&loc, "code").is_none());
    }
    // A fault on /authorize.
    i.inject(Fault::status(500, "server_error", "down").on("authorize"));
    let resp = http(false)
        .get(authorize_url(&i, &good))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(i.count("authorize"), 9);
}

#[tokio::test]
async fn userinfo_challenges_a_missing_or_bad_token() {
    let i = issuer().await;
    let url = format!("{}/userinfo", i.fixture.url);
    let resp = http(false).get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    let resp = http(false)
        .get(&url)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // A token signed by the issuer but not for /userinfo.
    let t = now();
    let api_only = i.sign(
        &json!({"iss": i.fixture.issuer, "sub": i.fixture.user.sub, "aud": API, "exp": t + 60}),
    );
    let resp = http(false)
        .get(&url)
        .bearer_auth(api_only)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // …and one that is.
    let ok = i.sign(&json!({
        "iss": i.fixture.issuer, "sub": i.fixture.user.sub, "aud": [API, i.userinfo_audience()],
        "exp": t + 60, "scope": "openid email",
    }));
    let me: Value = http(false)
        .post(&url)
        .bearer_auth(ok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], i.fixture.user.email.as_str());
    assert_eq!(i.count("userinfo"), 4);
}

#[tokio::test]
async fn admin_keys_sign_and_revoke_over_http() {
    let i = issuer().await;
    let base = &i.fixture.url;
    let c = http(false);
    let keys: Value = c
        .get(format!("{base}/__admin/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = keys["active"].as_str().unwrap().to_string();
    assert_eq!(keys["published"][0]["alg"], "RS256");
    // A new ES256 key that signs from now on.
    let added: Value = c
        .post(format!("{base}/__admin/keys"))
        .json(&json!({"alg": "ES256"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(added["alg"], "ES256");
    let kid = added["kid"].as_str().unwrap().to_string();
    assert_eq!(i.active_kid(), kid);
    let resp = c
        .post(format!("{base}/__admin/keys"))
        .json(&json!({"alg": "HS256"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Tokens signed on request, good and bad.
    let t = now();
    let sign = |claims: Value, header: Value| {
        let c = c.clone();
        let url = format!("{base}/__admin/sign");
        async move {
            let v: Value = c
                .post(url)
                .json(&json!({"claims": claims, "header": header}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["token"].as_str().unwrap().to_string()
        }
    };
    let claims = json!({"iss": i.fixture.issuer, "sub": "x", "aud": API, "exp": t + 60});
    let good = sign(claims.clone(), json!({})).await;
    assert_eq!(segment(&good, 0)["kid"], kid.as_str());
    let v = verifier(&i);
    v.verify(&good).await.unwrap();
    let expired = sign(with(claims.clone(), json!({"exp": t - 3600})), json!({})).await;
    assert_eq!(check_of(v.verify(&expired).await), TokenCheck::Expired);
    let crit = sign(claims.clone(), json!({"crit": ["exp"]})).await;
    assert_eq!(check_of(v.verify(&crit).await), TokenCheck::Malformed);
    // Retire the first key: an error for the active one, fine for the old one.
    let resp = c
        .post(format!("{base}/__admin/keys/retire"))
        .json(&json!({"kid": kid}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = c
        .post(format!("{base}/__admin/keys/retire"))
        .json(&json!({"kid": first}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let jwks: Value = c
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    let fresh = TokenVerifier::new(verifier_config(&i, API)).unwrap();
    fresh.verify(&good).await.unwrap();
    // Revocation.
    let r: Value = c
        .post(format!("{base}/__admin/revoke_refresh_tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["revoked"], 0);
    let stats: Value = c
        .get(format!("{base}/__admin/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["jwks"], 3);
}

#[tokio::test]
async fn the_fixture_describes_the_sign_in_apps() {
    let i = issuer().await;
    let f: Value = serde_json::to_value(&i.fixture).unwrap();
    for field in [
        "public_client_id",
        "web_client_id",
        "web_client_secret",
        "redirect_uri",
        "native_redirect_uri",
    ] {
        assert!(f[field].as_str().is_some_and(|s| !s.is_empty()), "{field}");
    }
    assert_eq!(f["user"]["email"], "alice@example.com");
    assert_eq!(
        f["user"]["organizations"][0],
        i.fixture.organizations[0].id.as_str()
    );
    assert_eq!(f["other_user"]["email"], "bob@example.com");
    // The existing fields are all still there.
    for field in [
        "url",
        "issuer",
        "client_id",
        "client_secret",
        "jwt_client_id",
        "apis",
        "organizations",
    ] {
        assert!(!f[field].is_null(), "{field}");
    }
}
