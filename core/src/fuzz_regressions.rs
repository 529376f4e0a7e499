//! Regression tests for the crashes and leaks the fuzz targets found (`fuzz/`,
//! docs/fuzzing.md); each input is also in `fuzz/corpus/<target>/`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue};

use crate::verify::verifier::{TokenVerifier, VerifierConfig};

/// `X-RateLimit-Reset` beyond what a `SystemTime` holds panicked (overflow adding to the epoch)
/// inside the 429 handling. Found by `retry_after`. Since review N3 it is the longest wait
/// (then capped), not "no wait": a server that asked for the end of time gets left alone.
#[test]
fn a_rate_limit_reset_past_the_end_of_time_is_the_longest_wait() {
    let mut h = HeaderMap::new();
    h.insert(
        "x-ratelimit-reset",
        HeaderValue::from_static("18446744073709551615"),
    );
    assert_eq!(
        crate::http::retry_after(&h, SystemTime::now()),
        Some(Duration::MAX)
    );
    h.insert(
        "x-ratelimit-reset",
        HeaderValue::from_static("99999999999999999999999999"),
    );
    assert_eq!(
        crate::http::retry_after(&h, SystemTime::now()),
        Some(Duration::MAX)
    );
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
    // Past LATEST_TIME: refused (U1), never a panic; LATEST_TIME itself reads fine.
    let json = r#"{"access_token":"a","token_type":"Bearer","expires_at":18446744073709551615}"#;
    assert_eq!(
        crate::UserCredentials::from_json(json).unwrap_err().kind(),
        "config"
    );
    let latest = format!(
        r#"{{"access_token":"a","token_type":"Bearer","expires_at":{}}}"#,
        crate::LATEST_TIME
    );
    let c = crate::UserCredentials::from_json(&latest).unwrap();
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

/// A sealed shared-cache entry with an empty token (a JSON array, which serde reads field by
/// field, made one) was adopted and served as `Bearer `. Found by `shared_entry`. Entries are
/// now held to what the token endpoint's parser accepts.
#[test]
fn a_shared_entry_the_token_parser_would_refuse_is_not_served() {
    let entry = |token: &str, token_type: &str, expires_in: u64| crate::shared_cache::Entry {
        access_token: token.into(),
        token_type: token_type.into(),
        scope: None,
        expires_in,
    };
    assert!(entry("eyJ.x.y", "Bearer", 86_400).usable());
    assert!(entry("eyJ.x.y", "bearer", 1).usable());
    for bad in [
        entry("", "Bearer", 86_400),
        entry("a b", "Bearer", 86_400),
        entry("eyJ\n", "Bearer", 86_400),
        entry("eyJ.x.y", "[", 86_400),
        entry("eyJ.x.y", "Bearer", 0),
        entry(&"x".repeat(16 * 1024 + 1), "Bearer", 60),
    ] {
        assert!(!bad.usable());
    }
    let from_array: crate::shared_cache::Entry =
        serde_json::from_str(r#"["","","[",2]"#).expect("serde reads a struct from an array");
    assert!(!from_array.usable());
}

/// serde reads a struct from a JSON array, field by field: `["tok","Bearer",3600]` was a token
/// response, `["e","d"]` an OAuth error, and stored values could be arrays. Found by
/// `token_response` (an array error body) and `shared_entry`. Only objects are read now.
#[test]
fn json_arrays_are_never_read_as_answers_or_stored_values() {
    let now = SystemTime::now();
    assert!(crate::oauth::token::parse_token_response(br#"["tok","Bearer",3600]"#, now).is_err());
    assert!(crate::oauth::token::parse_token_response(
        br#" {"access_token":"t","token_type":"Bearer"}"#,
        now
    )
    .is_ok());
    let f = crate::http::error_for(
        reqwest::StatusCode::BAD_REQUEST,
        &HeaderMap::new(),
        br#"["invalid_grant","d"]"#,
        Duration::from_secs(3600),
    );
    assert!(
        !matches!(f.error, crate::Error::OAuth { .. }),
        "{}",
        f.error
    );
    assert!(
        crate::signin::user_credentials::UserCredentials::from_json(r#"["a","Bearer"]"#).is_err()
    );
    assert!(crate::signin::config::LoginTransaction::from_json(r#"["u","s"]"#).is_err());
}

/// An `expires_in` string with DEL characters (JSON does not escape them) put them into the
/// error text. Found by `token_response` in its 10-minute run.
#[test]
fn server_text_in_messages_never_holds_control_characters() {
    let body = "{\"access_token\":\"t\",\"token_type\":\"Bearer\",\"expires_in\":\"B\u{7f}\u{7f}\u{85}x\"}";
    let e = crate::oauth::token::parse_token_response(body.as_bytes(), SystemTime::now())
        .expect_err("not a lifetime");
    let text = e.to_string();
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(text.contains("expires_in"), "{text}");
    assert_eq!(crate::text::truncate("a\u{7f}b\ncd", 3), "a b…");
}
