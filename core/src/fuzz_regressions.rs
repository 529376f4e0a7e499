//! Regression tests for the crashes and leaks the fuzz targets found (`fuzz/`,
//! docs/fuzzing.md); each input is also in `fuzz/corpus/<target>/`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue};

use crate::verify::verifier::{TokenVerifier, VerifierConfig};

/// `X-RateLimit-Reset` beyond what a `SystemTime` holds panicked (overflow adding to the epoch)
/// inside the 429 handling. Found by `retry_after`.
#[test]
fn a_rate_limit_reset_past_the_end_of_time_is_ignored() {
    let mut h = HeaderMap::new();
    h.insert(
        "x-ratelimit-reset",
        HeaderValue::from_static("18446744073709551615"),
    );
    assert_eq!(crate::http::retry_after(&h, SystemTime::now()), None);
    h.insert("x-ratelimit-reset", HeaderValue::from_static("1"));
    assert_eq!(
        crate::http::retry_after(&h, SystemTime::now()),
        Some(Duration::ZERO)
    );
}

/// Stored credentials with an `expires_at` beyond what a `SystemTime` holds panicked in
/// `remaining()`. Found by `stored_json`.
#[test]
fn stored_credentials_far_in_the_future_do_not_panic() {
    let json = r#"{"access_token":"a","token_type":"Bearer","expires_at":18446744073709551615}"#;
    let c = crate::UserCredentials::from_json(json).unwrap();
    assert!(c.remaining() > Duration::from_secs(100 * 365 * 86_400));
    assert!(c.is_valid_for(Duration::from_secs(60)));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let soon = format!(
        r#"{{"access_token":"a","token_type":"Bearer","expires_at":{}}}"#,
        now + 100
    );
    let r = crate::UserCredentials::from_json(&soon)
        .unwrap()
        .remaining();
    assert!(r > Duration::from_secs(98) && r <= Duration::from_secs(100));
}

/// A JWT whose payload (or header) is JSON but not an object had serde's text, which quotes
/// the value, in the error. Found by `jwt`.
#[test]
fn a_jwt_segment_that_is_not_an_object_is_not_quoted() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let v = TokenVerifier::new(VerifierConfig::new("http://127.0.0.1:9", "api")).unwrap();
    let header = b64(r#"{"alg":"RS256"}"#);
    for (h, p) in [
        (header.clone(), b64(r#""tkCANARYs3cr3tQ7x""#)),
        (b64(r#"["tkCANARYs3cr3tQ7x"]"#), header.clone()),
    ] {
        let token = format!("{h}.{p}.c2ln");
        let e = v.parse(&token).err().expect("not an object");
        assert!(!e.to_string().contains("tkCANARY"), "{e}");
        assert!(e.to_string().contains("is not a JSON object"), "{e}");
    }
    // Our own reason, a duplicate member, still says which.
    let token = format!("{header}.{}.c2ln", b64(r#"{"aud":"a","aud":"b"}"#));
    let e = v.parse(&token).err().expect("a duplicate");
    assert!(e.to_string().contains("duplicate member \"aud\""), "{e}");
}
