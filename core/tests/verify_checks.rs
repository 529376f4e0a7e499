//! Every check of the verifier, and a corpus of hostile tokens, against the local issuer's
//! JWKS over real HTTP.

mod verify_support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use tokenkeeper::{
    ClientConfig, Credentials, Error, SigningAlg, TokenCheck, TokenClient, TokenRequest,
    TokenVerifier, VerifyOptions,
};
use verify_support::*;

#[tokio::test]
async fn a_token_from_the_token_endpoint_verifies() {
    let i = issuer().await;
    let f = &i.fixture;
    let client = TokenClient::new(ClientConfig::new(
        &f.url,
        &f.client_id,
        Credentials::client_secret(&f.client_secret),
    ))
    .unwrap();
    let token = client
        .get_token(&TokenRequest::new(API).scope("read:things write:things"))
        .await
        .unwrap();
    let v = verifier(&i);
    let claims = v.verify(token.access_token()).await.unwrap();
    assert_eq!(claims.iss(), Some(f.issuer.as_str()));
    assert_eq!(claims.aud(), vec![API]);
    assert_eq!(claims.azp(), Some(f.client_id.as_str()));
    assert_eq!(
        claims.sub(),
        Some(format!("{}@clients", f.client_id).as_str())
    );
    assert!(claims.has_scope("write:things") && !claims.has_scope("delete:things"));
    assert!(claims.exp().unwrap() > claims.iat().unwrap());
    // The blocking facade agrees, and a second verification uses the cached JWKS.
    let again = v.verify_blocking(token.access_token()).unwrap();
    assert_eq!(again, claims);
    assert_eq!(i.count("jwks"), 1);
    let s = v.stats();
    assert_eq!((s.verified, s.rejected, s.jwks_fetches), (2, 0, 1));
    assert!(format!("{claims:?}").contains("iss"));
    assert!(claims.to_json().starts_with('{'));
}

#[tokio::test]
async fn algorithm_none_and_hmac_are_never_accepted() {
    let i = issuer().await;
    let v = verifier(&i);
    let claims = good_claims(&i);
    let payload = b64(&claims.to_string());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(&json!({"alg": alg, "typ": "JWT"}).to_string());
        assert_eq!(
            check_of(v.verify(&format!("{header}.{payload}.")).await),
            TokenCheck::Algorithm,
            "alg {alg} with an empty signature"
        );
        // …and with a signature that happens to be there.
        let t = format!("{header}.{payload}.{}", b64("x"));
        assert_eq!(check_of(v.verify(&t).await), TokenCheck::Algorithm);
    }
    // HS256 signed with the public key as the secret (the classic key-confusion attack), with
    // the real key's kid.
    let pem = i.signing_public_pem();
    let jwk = i.jwks()["keys"][0].clone();
    for (alg, secret) in [
        (jsonwebtoken::Algorithm::HS256, pem.as_bytes().to_vec()),
        (jsonwebtoken::Algorithm::HS384, pem.as_bytes().to_vec()),
        (jsonwebtoken::Algorithm::HS512, jwk.to_string().into_bytes()),
    ] {
        let mut h = Header::new(alg);
        h.kid = Some(i.active_kid());
        let t = jsonwebtoken::encode(&h, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert_eq!(check_of(v.verify(&t).await), TokenCheck::Algorithm);
    }
    // Other algorithms a JWS library knows but Auth0 does not use.
    for alg in [
        "RS384", "RS512", "PS512", "ES384", "ES512", "EdDSA", "RS256 ", "rs256", "",
    ] {
        let t = i.sign_with_header(&json!({"alg": alg}), &claims);
        assert_eq!(
            check_of(v.verify(&t).await),
            TokenCheck::Algorithm,
            "{alg:?}"
        );
    }
    // alg must be a string.
    let t = i.sign_with_header(&json!({"alg": 256}), &claims);
    assert_eq!(check_of(v.verify(&t).await), TokenCheck::Malformed);
    let t = i.sign_raw(
        &json!({"kid": i.active_kid()}).to_string(),
        &claims.to_string(),
    );
    assert_eq!(
        check_of(v.verify(&t).await),
        TokenCheck::Malformed,
        "no alg"
    );
    // None of these needed the JWKS.
    assert_eq!(i.count("jwks"), 0);
}

#[tokio::test]
async fn the_allow_list_can_be_narrowed() {
    let i = issuer().await;
    i.add_signing_key(Algorithm::ES256, true);
    let t = i.sign(&good_claims(&i));
    let mut c = verifier_config(&i, API);
    c.algorithms = vec![SigningAlg::RS256];
    let rs_only = TokenVerifier::new(c).unwrap();
    assert_eq!(check_of(rs_only.verify(&t).await), TokenCheck::Algorithm);
    verifier(&i).verify(&t).await.unwrap();
}

#[tokio::test]
async fn ps256_and_es256_keys_verify_and_a_key_is_only_used_for_its_algorithm() {
    let i = issuer().await;
    let v = verifier(&i);
    let rsa_kid = i.active_kid();
    let rs = i.sign(&good_claims(&i));
    let ps_kid = i.add_signing_key(Algorithm::PS256, true);
    let ps = i.sign(&good_claims(&i));
    let es_kid = i.add_signing_key(Algorithm::ES256, true);
    let es = i.sign(&good_claims(&i));
    assert_eq!(segment(&ps, 0)["alg"], "PS256");
    assert_eq!(segment(&es, 0)["alg"], "ES256");
    v.verify(&rs).await.unwrap();
    v.verify(&ps).await.unwrap();
    v.verify(&es).await.unwrap();
    assert_eq!(i.count("jwks"), 1, "all three keys came in one JWKS");
    // An ES256 signature under the RSA key's kid, and the reverse.
    let claims = good_claims(&i);
    let es_as_rsa = i.sign_with_header(&json!({"kid": rsa_kid}), &claims);
    assert_eq!(check_of(v.verify(&es_as_rsa).await), TokenCheck::Algorithm);
    // The PS256 key's JWK says alg PS256: an RS256 token under its kid is refused even though
    // the key is RSA.
    let forged_header = json!({"alg": "RS256", "typ": "JWT", "kid": ps_kid}).to_string();
    let t = format!(
        "{}.{}.{}",
        b64(&forged_header),
        rs.split('.').nth(1).unwrap(),
        rs.split('.').nth(2).unwrap()
    );
    assert_eq!(check_of(v.verify(&t).await), TokenCheck::Algorithm);
    // An ES256 token whose payload was signed by another EC key: signature.
    let other = {
        let j = issuer().await;
        j.add_signing_key(Algorithm::ES256, true);
        j.sign_with_header(&json!({"kid": es_kid}), &claims)
    };
    assert_eq!(check_of(v.verify(&other).await), TokenCheck::Signature);
}

#[tokio::test]
async fn unknown_kid_and_tampering_are_rejected() {
    let i = issuer().await;
    let mut c = verifier_config(&i, API);
    c.jwks_min_refetch_interval = Duration::from_secs(60);
    let v = TokenVerifier::new(c).unwrap();
    let good = i.sign(&good_claims(&i));
    v.verify(&good).await.unwrap();
    let unknown = i.sign_with_header(&json!({"kid": "not-a-key"}), &good_claims(&i));
    assert_eq!(check_of(v.verify(&unknown).await), TokenCheck::UnknownKey);
    let parts: Vec<&str> = good.split('.').collect();
    // Payload changed after signing.
    let evil = b64(&with(good_claims(&i), json!({"sub": "auth0|admin"})).to_string());
    let t = format!("{}.{evil}.{}", parts[0], parts[2]);
    assert_eq!(check_of(v.verify(&t).await), TokenCheck::Signature);
    // Header changed after signing (typ): the signature covers it.
    let h = b64(&json!({"alg": "RS256", "typ": "at+jwt", "kid": i.active_kid()}).to_string());
    let t = format!("{h}.{}.{}", parts[1], parts[2]);
    assert_eq!(check_of(v.verify(&t).await), TokenCheck::Signature);
    // One signature character changed, a signature from another token, none at all.
    let mut sig = parts[2].as_bytes().to_vec();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    let t = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        String::from_utf8(sig).unwrap()
    );
    assert_eq!(check_of(v.verify(&t).await), TokenCheck::Signature);
    let other = i.sign(&with(good_claims(&i), json!({"sub": "x"})));
    let t = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        other.split('.').nth(2).unwrap()
    );
    assert_eq!(check_of(v.verify(&t).await), TokenCheck::Signature);
    let t = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(check_of(v.verify(&t).await), TokenCheck::Signature);
    // The signature of a token signed by another issuer's key under our kid.
    let j = issuer().await;
    let foreign = j.sign_with_header(&json!({"kid": i.active_kid()}), &good_claims(&i));
    assert_eq!(check_of(v.verify(&foreign).await), TokenCheck::Signature);
    // A token without kid: the JWKS has one RSA key, which is used.
    let no_kid = i.sign_raw(
        &json!({"alg": "RS256"}).to_string(),
        &good_claims(&i).to_string(),
    );
    v.verify(&no_kid).await.unwrap();
    // A kid that is not a string.
    let t = i.sign_with_header(&json!({"kid": 7}), &good_claims(&i));
    assert_eq!(check_of(v.verify(&t).await), TokenCheck::Malformed);
    let s = v.stats();
    assert_eq!(s.verified, 2);
    assert_eq!(s.rejected, 8);
}

#[tokio::test]
async fn issuer_is_compared_exactly() {
    let i = issuer().await;
    let v = verifier(&i);
    let iss = i.fixture.issuer.clone();
    let cases = [
        (json!(iss.trim_end_matches('/')), TokenCheck::Issuer),
        (json!(format!("{iss}/")), TokenCheck::Issuer),
        (json!("https://evil.example.com/"), TokenCheck::Issuer),
        (json!(iss.to_uppercase()), TokenCheck::Issuer),
        (json!(format!(" {iss}")), TokenCheck::Issuer),
        (json!([iss]), TokenCheck::MissingClaim),
        (json!(null), TokenCheck::MissingClaim),
    ];
    for (value, want) in cases {
        let t = i.sign(&with(good_claims(&i), json!({ "iss": value.clone() })));
        assert_eq!(check_of(v.verify(&t).await), want, "iss {value}");
    }
    // Custom domains: a set of accepted issuers.
    let mut c = verifier_config(&i, API);
    c.issuers = vec!["https://login.example.com/".into(), iss.clone()];
    let both = TokenVerifier::new(c).unwrap();
    let custom = i.sign(&with(
        good_claims(&i),
        json!({"iss": "https://login.example.com/"}),
    ));
    both.verify(&custom).await.unwrap();
    both.verify(&i.sign(&good_claims(&i))).await.unwrap();
    assert_eq!(check_of(v.verify(&custom).await), TokenCheck::Issuer);
    assert_eq!(both.issuers().len(), 2);
    assert_eq!(v.issuers(), [iss]);
}

#[tokio::test]
async fn audience_may_be_a_string_or_an_array() {
    let i = issuer().await;
    let v = verifier(&i);
    let userinfo = i.userinfo_audience();
    let ok = [json!(API), json!([API, userinfo]), json!([userinfo, API])];
    for aud in ok {
        let t = i.sign(&with(good_claims(&i), json!({ "aud": aud.clone() })));
        let claims = v
            .verify(&t)
            .await
            .unwrap_or_else(|e| panic!("aud {aud}: {e}"));
        assert!(claims.aud().contains(&API));
    }
    let bad = [
        (json!([userinfo]), TokenCheck::Audience),
        (json!("https://other.example.com"), TokenCheck::Audience),
        (json!(format!("{API}/")), TokenCheck::Audience),
        (json!([]), TokenCheck::Audience),
        (json!(API.to_uppercase()), TokenCheck::Audience),
        (json!(null), TokenCheck::MissingClaim),
        (json!(42), TokenCheck::MissingClaim),
        (json!([API, 42]), TokenCheck::MissingClaim),
        (json!({ "aud": API }), TokenCheck::MissingClaim),
    ];
    for (aud, want) in bad {
        let t = i.sign(&with(good_claims(&i), json!({ "aud": aud.clone() })));
        assert_eq!(check_of(v.verify(&t).await), want, "aud {aud}");
    }
    // The same token for the userinfo audience, by option.
    let t = i.sign(&with(good_claims(&i), json!({"aud": [API, userinfo]})));
    let o = VerifyOptions {
        audience: Some(userinfo.clone()),
        ..VerifyOptions::default()
    };
    v.verify_with(&t, &o).await.unwrap();
}

#[tokio::test]
async fn times_are_checked_with_leeway() {
    let i = issuer().await;
    let v = verifier(&i); // leeway 60 s
    let t0 = now();
    let at = |changes| i.sign(&with(good_claims(&i), changes));
    // exp
    v.verify(&at(json!({"exp": t0 - 30}))).await.unwrap();
    assert_eq!(
        check_of(v.verify(&at(json!({"exp": t0 - 120}))).await),
        TokenCheck::Expired
    );
    assert_eq!(
        check_of(v.verify(&at(json!({"exp": 0}))).await),
        TokenCheck::Expired
    );
    v.verify(&at(json!({"exp": (t0 + 100) as f64 + 0.5})))
        .await
        .unwrap();
    // nbf
    v.verify(&at(json!({"nbf": t0 + 30}))).await.unwrap();
    v.verify(&at(json!({"nbf": t0 - 3600}))).await.unwrap();
    assert_eq!(
        check_of(v.verify(&at(json!({"nbf": t0 + 600}))).await),
        TokenCheck::NotYetValid
    );
    // iat
    v.verify(&at(json!({"iat": t0 + 30}))).await.unwrap();
    assert_eq!(
        check_of(v.verify(&at(json!({"iat": t0 + 600}))).await),
        TokenCheck::NotYetValid
    );
    v.verify(&at(json!({"iat": null}))).await.unwrap();
    // Missing or mistyped
    assert_eq!(
        check_of(v.verify(&at(json!({"exp": null}))).await),
        TokenCheck::MissingClaim
    );
    for bad in [
        json!("9999999999"),
        json!(true),
        json!([t0 + 10]),
        json!(-5),
    ] {
        assert_eq!(
            check_of(v.verify(&at(json!({ "exp": bad.clone() }))).await),
            TokenCheck::MissingClaim,
            "exp {bad}"
        );
    }
    assert_eq!(
        check_of(v.verify(&at(json!({"nbf": "soon"}))).await),
        TokenCheck::MissingClaim
    );
    // Zero leeway.
    let mut c = verifier_config(&i, API);
    c.leeway = Duration::ZERO;
    let strict = TokenVerifier::new(c).unwrap();
    assert_eq!(
        check_of(strict.verify(&at(json!({"exp": t0 - 2}))).await),
        TokenCheck::Expired
    );
    assert_eq!(
        check_of(strict.verify(&at(json!({"nbf": t0 + 30}))).await),
        TokenCheck::NotYetValid
    );
    strict.verify(&at(json!({"exp": t0 + 30}))).await.unwrap();
}

#[tokio::test]
async fn authorized_party_and_organization() {
    let i = issuer().await;
    let f = &i.fixture;
    let t = |changes| i.sign(&with(good_claims(&i), changes));
    let mut c = verifier_config(&i, API);
    c.authorized_party = Some(f.client_id.clone());
    let v = TokenVerifier::new(c).unwrap();
    v.verify(&t(json!({}))).await.unwrap();
    assert_eq!(
        check_of(v.verify(&t(json!({"azp": "someone-else"}))).await),
        TokenCheck::AuthorizedParty
    );
    assert_eq!(
        check_of(v.verify(&t(json!({"azp": null}))).await),
        TokenCheck::MissingClaim
    );
    assert_eq!(
        check_of(v.verify(&t(json!({"azp": 1}))).await),
        TokenCheck::MissingClaim
    );

    // Organization, from a real client-credentials token asked for `acme`.
    let client = TokenClient::new(ClientConfig::new(
        &f.url,
        &f.client_id,
        Credentials::client_secret(&f.client_secret),
    ))
    .unwrap();
    let org_token = client
        .get_token(&TokenRequest::new(API).organization("acme"))
        .await
        .unwrap();
    let plain = client.get_token(&TokenRequest::new(API)).await.unwrap();
    let org_id = f.organizations[0].id.clone();
    for (org, ok) in [
        (org_id.as_str(), true),
        ("acme", true),
        ("ACME", true),
        ("Acme", true),
        ("org_somethingElse", false),
        ("globex", false),
        (&org_id.to_lowercase(), false),
    ] {
        let mut c = verifier_config(&i, API);
        c.organization = Some(org.to_string());
        let v = TokenVerifier::new(c).unwrap();
        let r = v.verify(org_token.access_token()).await;
        if ok {
            let claims = r.unwrap_or_else(|e| panic!("{org}: {e}"));
            assert_eq!(claims.org_id(), Some(org_id.as_str()));
            assert_eq!(claims.org_name(), Some("acme"));
        } else {
            assert_eq!(check_of(r), TokenCheck::Organization, "{org}");
        }
        // A token without organization claims.
        assert_eq!(
            check_of(v.verify(plain.access_token()).await),
            TokenCheck::MissingClaim
        );
    }
    // Per call.
    let v = verifier(&i);
    let o = VerifyOptions {
        organization: Some("acme".into()),
        ..VerifyOptions::default()
    };
    v.verify_with(org_token.access_token(), &o).await.unwrap();
    assert_eq!(
        check_of(v.verify_with(plain.access_token(), &o).await),
        TokenCheck::MissingClaim
    );
}

#[tokio::test]
async fn id_token_rules_nonce_max_age_and_azp() {
    let i = issuer().await;
    let f = &i.fixture;
    let mut c = verifier_config(&i, &f.public_client_id);
    c.leeway = Duration::from_secs(10);
    let v = TokenVerifier::new(c).unwrap();
    let t0 = now();
    let base = json!({
        "iss": f.issuer, "sub": f.user.sub, "aud": f.public_client_id,
        "iat": t0, "exp": t0 + 36000, "nonce": "n-123", "auth_time": t0 - 100,
    });
    let t = |changes| i.sign(&with(base.clone(), changes));
    let o = |nonce: &str, max_age: Option<u64>| VerifyOptions {
        nonce: Some(nonce.into()),
        max_age,
        id_token: true,
        ..VerifyOptions::default()
    };
    v.verify_with(&t(json!({})), &o("n-123", Some(3600)))
        .await
        .unwrap();
    assert_eq!(
        check_of(v.verify_with(&t(json!({})), &o("n-124", None)).await),
        TokenCheck::Nonce
    );
    assert_eq!(
        check_of(
            v.verify_with(&t(json!({"nonce": null})), &o("n-123", None))
                .await
        ),
        TokenCheck::MissingClaim
    );
    assert_eq!(
        check_of(
            v.verify_with(&t(json!({"nonce": 123})), &o("123", None))
                .await
        ),
        TokenCheck::MissingClaim
    );
    // max_age: authenticated 100 s ago.
    assert_eq!(
        check_of(v.verify_with(&t(json!({})), &o("n-123", Some(60))).await),
        TokenCheck::AuthTime
    );
    v.verify_with(&t(json!({})), &o("n-123", Some(95)))
        .await
        .unwrap(); // within leeway
    assert_eq!(
        check_of(
            v.verify_with(&t(json!({"auth_time": null})), &o("n-123", Some(60)))
                .await
        ),
        TokenCheck::MissingClaim
    );
    // sub and iat are required in an ID token.
    assert_eq!(
        check_of(
            v.verify_with(&t(json!({"sub": null})), &o("n-123", None))
                .await
        ),
        TokenCheck::MissingClaim
    );
    assert_eq!(
        check_of(
            v.verify_with(&t(json!({"iat": null})), &o("n-123", None))
                .await
        ),
        TokenCheck::MissingClaim
    );
    // Several audiences: azp must be the client.
    let multi = json!({"aud": [f.public_client_id, "another-client"]});
    assert_eq!(
        check_of(v.verify_with(&t(multi.clone()), &o("n-123", None)).await),
        TokenCheck::MissingClaim
    );
    let mut wrong = multi.clone();
    wrong["azp"] = json!("another-client");
    assert_eq!(
        check_of(v.verify_with(&t(wrong), &o("n-123", None)).await),
        TokenCheck::AuthorizedParty
    );
    let mut right = multi;
    right["azp"] = json!(f.public_client_id);
    v.verify_with(&t(right), &o("n-123", None)).await.unwrap();
    // The ID token of another app.
    assert_eq!(
        check_of(
            v.verify_with(&t(json!({"aud": f.web_client_id})), &o("n-123", None))
                .await
        ),
        TokenCheck::Audience
    );
    // VerifyOptions::id_token helper.
    v.verify_with(&t(json!({})), &VerifyOptions::id_token(Some("n-123")))
        .await
        .unwrap();
}

/// A TCP listener that counts connections: proof that a URL in a token is never fetched.
async fn trap() -> (String, Arc<AtomicU64>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while let Ok((_s, _)) = l.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
        }
    });
    (format!("http://{addr}"), hits)
}

#[tokio::test]
async fn key_urls_and_embedded_keys_in_the_header_are_never_used() {
    let i = issuer().await;
    let v = verifier(&i);
    let (trap_url, hits) = trap().await;
    let claims = good_claims(&i);
    // An attacker's own issuer signs; the header points at the attacker's keys.
    let attacker = issuer().await;
    let attacker_jwk = attacker.jwks()["keys"][0].clone();
    let forged = [
        json!({"jku": format!("{trap_url}/jwks.json")}),
        json!({"x5u": format!("{trap_url}/cert.pem")}),
        json!({"jwk": attacker_jwk}),
        json!({"jku": format!("{trap_url}/jwks.json"), "kid": i.active_kid()}),
        json!({"jwk": attacker_jwk, "kid": i.active_kid()}),
        json!({"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"], "kid": i.active_kid()}),
    ];
    for extra in forged {
        let t = attacker.sign_with_header(&extra, &claims);
        let check = check_of(v.verify(&t).await);
        assert!(
            matches!(check, TokenCheck::UnknownKey | TokenCheck::Signature),
            "{extra}: {check:?}"
        );
    }
    // Our issuer's genuine token with such headers verifies: they are simply ignored.
    let t = i.sign_with_header(
        &json!({"jku": format!("{trap_url}/jwks.json"), "x5u": format!("{trap_url}/x"), "jwk": attacker_jwk}),
        &claims,
    );
    v.verify(&t).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a URL from a token was fetched"
    );
    assert_eq!(attacker.count("jwks"), 0);
}

#[tokio::test]
async fn crit_headers_are_rejected() {
    let i = issuer().await;
    let v = verifier(&i);
    for crit in [json!(["exp"]), json!([]), json!(["b64"]), json!("b64")] {
        let t = i.sign_with_header(
            &json!({ "crit": crit.clone(), "b64": false }),
            &good_claims(&i),
        );
        assert_eq!(
            check_of(v.verify(&t).await),
            TokenCheck::Malformed,
            "crit {crit}"
        );
    }
}

#[tokio::test]
async fn malformed_tokens_are_rejected_cleanly() {
    let i = issuer().await;
    let v = verifier(&i);
    let good = i.sign(&good_claims(&i));
    let p: Vec<&str> = good.split('.').collect();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        (".".into(), "one dot"),
        ("..".into(), "two dots"),
        ("...".into(), "three dots"),
        (format!("{}.{}", p[0], p[1]), "2 segments"),
        (format!("{good}.{}", p[2]), "4 segments"),
        (
            format!("{}.{}.{}.{}.{}", p[0], p[1], p[1], p[1], p[2]),
            "5 segments (JWE)",
        ),
        (
            good[..good.len() / 2].to_string(),
            "truncated in the payload",
        ),
        (
            good[..p[0].len() + 1].to_string(),
            "truncated after the header",
        ),
        (
            format!("{}.{}.{}", p[0], &p[1][..p[1].len() - 3], p[2]),
            "payload truncated",
        ),
        (format!("{}=.{}.{}", p[0], p[1], p[2]), "padding"),
        (
            format!("{}.{}.{}", p[0].replace('e', "+"), p[1], p[2]),
            "base64 '+'",
        ),
        (
            format!("{}.{}.{}", p[0], p[1].replace('e', "/"), p[2]),
            "base64 '/'",
        ),
        (format!("{}.{}.{}!", p[0], p[1], p[2]), "punctuation"),
        (format!(" {good}"), "leading space"),
        (format!("{good}\n"), "trailing newline"),
        (format!("Bearer {good}"), "Bearer prefix"),
        (format!("{}.{}.{}", p[0], p[1], "é"), "non-ASCII"),
        (
            format!("{}.{}.{}", p[0], p[1], "A"),
            "signature of one base64 char",
        ),
        (
            format!("{}.{}.{}", b64("not json"), p[1], p[2]),
            "header not JSON",
        ),
        (
            format!("{}.{}.{}", b64("[1,2]"), p[1], p[2]),
            "header an array",
        ),
        (
            format!("{}.{}.{}", p[0], b64("not json"), p[2]),
            "payload not JSON",
        ),
        (
            format!("{}.{}.{}", p[0], b64("[]"), p[2]),
            "payload an array",
        ),
        (
            format!("{}.{}.{}", p[0], b64("\"claims\""), p[2]),
            "payload a string",
        ),
        (format!("{}.{}.{}", p[0], b64("null"), p[2]), "payload null"),
        (
            format!("{}.{}.{}", p[0], b64(&"[".repeat(5000)), p[2]),
            "deep nesting",
        ),
        (format!("{}..{}", p[0], p[2]), "empty payload"),
        (format!(".{}.{}", p[1], p[2]), "empty header"),
        (good.replace('.', ".."), "doubled dots"),
        ("\u{0}\u{0}\u{0}".into(), "NULs"),
    ];
    for (token, what) in cases {
        let check = check_of(v.verify(&token).await);
        assert!(
            matches!(check, TokenCheck::Malformed | TokenCheck::Signature),
            "{what}: {check:?}"
        );
        // Blocking facade: same, never a panic.
        assert!(v.verify_blocking(&token).is_err(), "{what}");
    }
    // Signed properly, but the payload is not a JSON object, or has duplicate members.
    let h = json!({"alg": "RS256", "kid": i.active_kid()}).to_string();
    let iss = &i.fixture.issuer;
    let t0 = now();
    let dup_aud = format!(
        r#"{{"iss":"{iss}","aud":"https://other.example.com","aud":"{API}","exp":{},"sub":"x"}}"#,
        t0 + 100
    );
    assert_eq!(
        check_of(v.verify(&i.sign_raw(&h, &dup_aud)).await),
        TokenCheck::Malformed
    );
    let dup_alg = format!(
        r#"{{"alg":"none","alg":"RS256","kid":"{}"}}"#,
        i.active_kid()
    );
    let payload = good_claims(&i).to_string();
    assert_eq!(
        check_of(v.verify(&i.sign_raw(&dup_alg, &payload)).await),
        TokenCheck::Malformed
    );
    assert_eq!(
        check_of(v.verify(&i.sign_raw(&h, "[1]")).await),
        TokenCheck::Malformed
    );
    assert_eq!(
        check_of(v.verify(&i.sign_raw(&h, "{\"exp\":1")).await),
        TokenCheck::Malformed
    );
    // A payload with a huge string claim, signed, within the size limit: fine.
    let big = with(good_claims(&i), json!({"blob": "x".repeat(8000)}));
    v.verify(&i.sign(&big)).await.unwrap();
}

#[tokio::test]
async fn oversized_tokens_are_rejected_before_decoding() {
    let i = issuer().await;
    let v = verifier(&i);
    let huge = format!("{}.{}.{}", b64("{}"), "A".repeat(1 << 20), "A".repeat(100));
    let r = v.verify(&huge).await;
    match &r {
        Err(Error::InvalidToken { check, detail }) => {
            assert_eq!(*check, TokenCheck::Malformed);
            assert!(detail.contains("limit"), "{detail}");
            assert!(detail.len() < 200);
        }
        other => panic!("{other:?}"),
    }
    // A signed token over a configured limit.
    let big = i.sign(&with(good_claims(&i), json!({"blob": "x".repeat(3000)})));
    let mut c = verifier_config(&i, API);
    c.max_token_bytes = 2048;
    let small = TokenVerifier::new(c).unwrap();
    assert_eq!(check_of(small.verify(&big).await), TokenCheck::Malformed);
    assert_eq!(
        i.count("jwks"),
        0,
        "size is checked before any key is fetched"
    );
}

#[tokio::test]
async fn rejections_never_echo_the_token() {
    let i = issuer().await;
    let v = verifier(&i);
    let expired = i.sign(&with(good_claims(&i), json!({"exp": now() - 1000})));
    let sig = expired.split('.').nth(2).unwrap();
    let e = v.verify(&expired).await.unwrap_err();
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains(sig), "{text}");
        assert!(!text.contains(&expired), "{text}");
    }
    assert_eq!(e.kind(), "invalid_token");
    assert!(!e.is_transient());
    // Attacker-chosen text in a claim is cleaned and bounded.
    let t = i.sign(&with(
        good_claims(&i),
        json!({"iss": format!("x\n\u{1b}[31m{}", "y".repeat(5000))}),
    ));
    let msg = v.verify(&t).await.unwrap_err().to_string();
    assert!(
        !msg.contains('\n') && !msg.contains('\u{1b}') && msg.len() < 600,
        "{msg}"
    );
}

#[tokio::test]
async fn bad_verifier_configurations_are_config_errors() {
    let i = issuer().await;
    let is_config = |r: Result<TokenVerifier, Error>| matches!(r, Err(Error::Config(_)));
    let base = || verifier_config(&i, API);
    assert!(is_config(TokenVerifier::new(verifier_config(&i, " "))));
    let mut c = base();
    c.domain = "http://example.com".into();
    assert!(is_config(TokenVerifier::new(c)));
    let mut c = base();
    c.domain = String::new();
    assert!(is_config(TokenVerifier::new(c)));
    let mut c = base();
    c.leeway = Duration::from_secs(3600);
    assert!(is_config(TokenVerifier::new(c)));
    let mut c = base();
    c.algorithms.clear();
    assert!(is_config(TokenVerifier::new(c)));
    let mut c = base();
    c.issuers = vec!["not a url".into()];
    assert!(is_config(TokenVerifier::new(c)));
    let mut c = base();
    c.max_token_bytes = 10;
    assert!(is_config(TokenVerifier::new(c)));
    let mut c = base();
    c.jwks_url = Some("ftp://127.0.0.1/jwks".into());
    assert!(is_config(TokenVerifier::new(c)));
    // The default JWKS URL and issuer follow the domain.
    let v = TokenVerifier::new(config_for("tenant.auth0.com")).unwrap();
    assert_eq!(
        v.jwks_url(),
        "https://tenant.auth0.com/.well-known/jwks.json"
    );
    assert_eq!(v.issuers(), ["https://tenant.auth0.com/"]);
    let v = TokenVerifier::new(config_for("https://login.example.com")).unwrap();
    assert_eq!(v.issuers(), ["https://login.example.com/"]);
    assert_eq!(v.audience(), API);
}

fn config_for(domain: &str) -> tokenkeeper::VerifierConfig {
    tokenkeeper::VerifierConfig::new(domain, API)
}

#[test]
fn blocking_verification_from_plain_threads_and_inside_a_runtime() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let i = rt.block_on(issuer());
    let v = verifier(&i);
    let t = i.sign(&good_claims(&i));
    // The first call fetches the JWKS through the shared runtime, from a plain thread.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (v, t) = (v.clone(), t.clone());
            std::thread::spawn(move || v.verify_blocking(&t).map(|c| c.sub().map(str::to_string)))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap().as_deref(), Some("auth0|user-1"));
    }
    assert_eq!(i.count("jwks"), 1);
    // Inside a multi-threaded runtime (block in place).
    let (v2, t2) = (v.clone(), t.clone());
    rt.block_on(async move {
        tokio::spawn(async move { v2.verify_blocking(&t2).unwrap() })
            .await
            .unwrap()
    });
    // A single-threaded runtime cannot block: a config error, not a deadlock — unless the
    // keys are cached (no blocking needed at all).
    let cur = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    cur.block_on(async { v.verify_blocking(&t).unwrap() });
    let fresh = verifier(&i);
    let r = cur.block_on(async { fresh.verify_blocking(&t) });
    assert!(matches!(r, Err(Error::Config(_))), "{r:?}");
}

/// N1 (review 2026-12-06): an id is compared with `org_id` only and a name with `org_name`
/// only, so an organization *named* after another's id never passes that id's check.
#[tokio::test]
async fn organization_ids_and_names_never_cross() {
    let i = issuer().await;
    let t = |changes| i.sign(&with(good_claims(&i), changes));
    let victim = "org_9ybsU1dN2dKfDkBi";
    let v = |org: Option<&str>, name: Option<&str>| {
        let mut c = verifier_config(&i, API);
        c.organization = org.map(str::to_string);
        c.organization_name = name.map(str::to_string);
        TokenVerifier::new(c).unwrap()
    };
    let by_id = v(Some(victim), None);
    // Another organization whose (lower-case, Auth0-valid) name is the victim's id.
    let attacker = t(json!({"org_id": "org_ATTACKERattackr", "org_name": victim.to_lowercase()}));
    assert_eq!(
        check_of(by_id.verify(&attacker).await),
        TokenCheck::Organization
    );
    // No org_id at all, org_name equal to the id: the claim an id needs is missing.
    let nameonly = t(json!({"org_name": victim}));
    assert_eq!(
        check_of(by_id.verify(&nameonly).await),
        TokenCheck::MissingClaim
    );
    // The id itself, exactly (not in another case).
    by_id.verify(&t(json!({"org_id": victim}))).await.unwrap();
    let lower = t(json!({"org_id": victim.to_lowercase()}));
    assert_eq!(
        check_of(by_id.verify(&lower).await),
        TokenCheck::Organization
    );
    // A name is never compared with org_id.
    let by_name = v(Some("acme"), None);
    let id_acme = t(json!({"org_id": "acme"}));
    assert_eq!(
        check_of(by_name.verify(&id_acme).await),
        TokenCheck::MissingClaim
    );
    by_name
        .verify(&t(json!({"org_name": "ACME"})))
        .await
        .unwrap();
    // A name that starts with org_ is asked for explicitly, and matches org_name only.
    let odd = v(None, Some("org_Odd-Name"));
    odd.verify(&t(json!({"org_id": "org_x", "org_name": "org_odd-name"})))
        .await
        .unwrap();
    let odd_as_id = t(json!({"org_id": "org_Odd-Name"}));
    assert_eq!(
        check_of(odd.verify(&odd_as_id).await),
        TokenCheck::MissingClaim
    );
    // Both configured: both must match.
    let both = v(Some("org_x"), Some("acme"));
    both.verify(&t(json!({"org_id": "org_x", "org_name": "acme"})))
        .await
        .unwrap();
    let wrong_name = t(json!({"org_id": "org_x", "org_name": "globex"}));
    assert_eq!(
        check_of(both.verify(&wrong_name).await),
        TokenCheck::Organization
    );
    // Per call, a name replaces the configured id.
    let o = VerifyOptions {
        organization_name: Some(victim.to_lowercase()),
        ..VerifyOptions::default()
    };
    by_id.verify_with(&attacker, &o).await.unwrap();
}
