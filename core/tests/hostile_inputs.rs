//! Hostile inputs 4 and 9 of the security review (`shared/reviews/security-2026-12-01.md`):
//! odd claim values and an ambiguous key set, each a typed answer and never a panic. The others
//! have tests of their own (README, "Hardening").

mod verify_support;

use serde_json::json;
use tokenkeeper::{Error, TokenCheck};
use tokenkeeper_issuer::Fault;
use verify_support::*;

/// Review input 9: claim values at the edges of JSON, signed by the real issuer key.
#[tokio::test]
async fn edge_claim_values_get_typed_answers() {
    let i = issuer().await;
    let v = verifier(&i);
    let rejected = [
        (json!({"exp": -0.0}), TokenCheck::Expired, "exp -0.0"),
        (
            json!({"exp": "soon"}),
            TokenCheck::MissingClaim,
            "exp a string",
        ),
        (json!({"aud": []}), TokenCheck::Audience, "aud []"),
        (
            json!({"nbf": "later"}),
            TokenCheck::MissingClaim,
            "nbf a string",
        ),
        (json!({"exp": null}), TokenCheck::MissingClaim, "no exp"),
    ];
    for (change, expected, what) in rejected {
        let token = i.sign(&with(good_claims(&i), change));
        assert_eq!(check_of(v.verify(&token).await), expected, "{what}");
    }
    // A date claim that is not a NumericDate is no usable claim: `missing_claim`, never a pass.
    // A NumericDate may be a float: 1e308 is far in the future, and accepted as such; a huge
    // `nbf` is a token not valid yet.
    let far = i.sign(&with(good_claims(&i), json!({"exp": 1e308})));
    let claims = v.verify(&far).await.expect("exp 1e308 is a date far ahead");
    // Scenario C1: one reading on every surface, the latest time (9999-12-31T23:59:59Z).
    assert_eq!(claims.exp(), Some(tokenkeeper::LATEST_TIME));
    assert_eq!(
        claims.expires_at(),
        Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(253_402_300_799))
    );
    let not_yet = i.sign(&with(good_claims(&i), json!({"nbf": 1e308})));
    assert_eq!(check_of(v.verify(&not_yet).await), TokenCheck::NotYetValid);
    // Duplicates below the top level are the claim's own business (JSON keeps the last);
    // duplicates at the top level are refused (`verify_checks.rs`).
    let h = json!({"alg": "RS256", "kid": i.active_kid()}).to_string();
    let claims = good_claims(&i);
    let body = claims.to_string();
    let nested = format!(
        r#"{},"org":{{"id":"a","id":"b"}}}}"#,
        body.strip_suffix('}').unwrap()
    );
    let verified = v.verify(&i.sign_raw(&h, &nested)).await.unwrap();
    assert_eq!(verified.get_str("sub"), Some("auth0|user-1"));
}

/// Review input 4: a key set naming one `kid` twice, with different keys. The first usable key
/// of that `kid` is the one used, so a token signed by the other is a signature failure (never
/// a panic, never an acceptance by the wrong key); the set is still usable for its other keys.
#[tokio::test]
async fn a_kid_listed_twice_never_verifies_with_the_wrong_key() {
    let i = issuer().await;
    let kid = i.active_kid();
    let signed_by_first = i.sign(&good_claims(&i));
    let mut jwks = i.jwks();
    let first = jwks["keys"][0].clone();
    // A second RSA key (the issuer's next one), listed under the same kid, first.
    i.rotate_signing_key();
    let second_jwks = i.jwks();
    let mut impostor = second_jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] != kid.as_str())
        .unwrap()
        .clone();
    impostor["kid"] = json!(kid);
    jwks["keys"] = json!([impostor, first]);
    i.inject(Fault::raw(200, &jwks.to_string()).on("jwks").times(5));
    let v = verifier(&i);
    match v.verify(&signed_by_first).await {
        Err(Error::InvalidToken { check, .. }) => assert_eq!(check, TokenCheck::Signature),
        other => panic!("a token under an ambiguous kid: {other:?}"),
    }
}
