//! The token endpoint's answers: a 200 body (client credentials and user grants) and error
//! bodies under the statuses that matter.
#![no_main]
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use tokenkeeper::fuzzing;
use tokenkeeper_fuzz::{canarized, check_error, secrets_of, CANARY};

/// Text the core shows on purpose (server error codes and descriptions, the token type, the
/// bad lifetime), truncated and made printable.
const SHOWN: [&str; 4] = ["error", "error_description", "token_type", "expires_in"];
const SECRETS: [&str; 3] = ["access_token", "refresh_token", "id_token"];

fn run(body: &[u8], secrets: &[&str]) {
    let sent_at = SystemTime::now();
    match fuzzing::token_response(body, sent_at) {
        Ok(t) => {
            assert!(!t.access_token().is_empty());
            assert!(t.access_token().bytes().all(|b| b.is_ascii_graphic()));
            assert!(t.token_type().eq_ignore_ascii_case("bearer"));
            assert!((1..=10 * 365 * 86_400).contains(&t.expires_in()));
            assert_eq!(
                t.expires_at(),
                sent_at + Duration::from_secs(t.expires_in())
            );
            // Debug shows the type and scope, never the token (unless they hold its text).
            let shown = format!("{} {}", t.token_type(), t.scope().unwrap_or_default());
            if t.access_token().len() >= 12 && !shown.contains(t.access_token()) {
                assert!(!format!("{t:?}").contains(t.access_token()));
            }
        }
        Err(e) => check_error(&e, secrets),
    }
    match fuzzing::user_token_response(body, sent_at) {
        Ok(c) => {
            for s in [&c.refresh_token, &c.id_token].into_iter().flatten() {
                assert!(!s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()));
                let shown = format!(
                    "{} {}",
                    c.token_type,
                    c.scope.as_deref().unwrap_or_default()
                );
                if s.len() >= 12 && !shown.contains(s.as_str()) {
                    assert!(!format!("{c:?}").contains(s.as_str()));
                }
            }
        }
        Err(e) => check_error(&e, secrets),
    }
    for status in [400, 401, 403, 429, 500, 503] {
        let (e, _) = fuzzing::error_response(status, &[], body).expect("a valid status");
        check_error(&e, secrets);
        if let tokenkeeper::Error::OAuth { error, .. } = &e {
            assert!(!error.is_empty());
        }
    }
}

/// Every error text the parsers give for `body`.
fn error_texts(body: &[u8]) -> Vec<String> {
    let sent_at = SystemTime::now();
    let mut texts = vec![];
    if let Err(e) = fuzzing::token_response(body, sent_at) {
        texts.push(e.to_string());
    }
    if let Err(e) = fuzzing::user_token_response(body, sent_at) {
        texts.push(e.to_string());
    }
    for status in [400, 401, 403, 429, 500, 503] {
        if let Some((e, _)) = fuzzing::error_response(status, &[], body) {
            texts.push(e.to_string());
        }
    }
    texts
}

/// Whether `secret` is the core's own wording (the fuzzer can make a token equal to "rate
/// limited by the server"): with the value replaced in the input, an error still says it.
fn own_words(data: &[u8], secret: &str) -> bool {
    let s = secret.as_bytes();
    let mut replaced = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(s) {
            replaced.extend(std::iter::repeat_n(b'x', s.len()));
            i += s.len();
        } else {
            replaced.push(data[i]);
            i += 1;
        }
    }
    error_texts(&replaced).iter().any(|t| t.contains(secret))
}

/// The text of the members shown on purpose, as the input gives it.
fn shown_text(data: &[u8]) -> String {
    let Ok(serde_json::Value::Object(m)) = serde_json::from_slice::<serde_json::Value>(data) else {
        return String::new();
    };
    SHOWN
        .iter()
        .filter_map(|k| m.get(*k))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect::<Vec<_>>()
        .join("\n")
}

fuzz_target!(|data: &[u8]| {
    // A secret the input also puts in a member shown on purpose (an `error` that quotes the
    // token), or one that is the core's own wording, proves nothing when shown.
    let shown = shown_text(data);
    let secrets: Vec<String> = secrets_of(data, &SECRETS)
        .into_iter()
        .filter(|s| !shown.contains(s.as_str()) && !own_words(data, s))
        .collect();
    run(
        data,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    if let Some(body) = canarized(data, &SHOWN) {
        run(&body, &[CANARY]);
    }
});
